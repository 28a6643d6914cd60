"""Queue tasks: thin wrappers around messaging actions, and the wake-up that starts them."""

from huey.contrib.djhuey import db_task

from tsunagu.lib.queue import request_once, taken
from tsunagu.messaging import actions

# At most one delivery task waits in the queue at a time (see lib.queue.request_once). A worker with a
# full batch wakes another (see deliver_due_messages).
_WAKE_KEY = "tsunagu.messaging.delivery-requested"


def request_delivery() -> None:
    request_once(_WAKE_KEY, "tsunagu.messaging.tasks.deliver_due_messages_task")


@db_task(retries=0)
def deliver_due_messages_task():
    taken(_WAKE_KEY)
    # A crash here loses nothing: the rows stay "scheduled" or "sending" and the scheduler asks again.
    actions.deliver_while_due()
