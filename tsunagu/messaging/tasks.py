"""Queue tasks: thin wrappers around messaging actions, and the wake-up that starts them."""

import time

from huey.contrib.djhuey import HUEY, db_task

from tsunagu.messaging import actions

# At most one delivery task waits in the queue at a time: a burst of 10,000 rejections wakes a worker
# once, not 10,000 times. A worker with a full batch wakes another (see deliver_due_messages).
_WAKE_KEY = "tsunagu.messaging.delivery-requested"
# If the queue lost the waiting task, the marker would block new ones: after this long it is ignored.
_WAKE_STALE_SECONDS = 10.0


def request_delivery() -> None:
    now = time.time()
    if not HUEY.put_if_empty(_WAKE_KEY, str(now)):
        requested = HUEY.get(_WAKE_KEY, peek=True)
        try:
            if requested is not None and now - float(requested) < _WAKE_STALE_SECONDS:
                return
        except ValueError:
            pass
        HUEY.put(_WAKE_KEY, str(now))
    deliver_due_messages_task()


@db_task(retries=0)
def deliver_due_messages_task():
    HUEY.get(_WAKE_KEY)  # taken off: whatever is committed from now on asks for a new task
    # A crash here loses nothing: the rows stay "scheduled" or "sending" and the scheduler asks again.
    actions.deliver_while_due()
