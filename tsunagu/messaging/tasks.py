"""Queue tasks: thin wrappers around messaging actions (which queue them by name, see actions/notices.py)."""

from huey.contrib.djhuey import db_task

from tsunagu.lib.queue import taken
from tsunagu.messaging.actions import delivery, notices, reapplication_alerts


@db_task(retries=0)
def deliver_due_messages_task():
    taken(notices.DELIVERY_WAKE_KEY)
    # A crash here loses nothing: the rows stay "scheduled" or "sending" and the scheduler asks again.
    delivery.deliver_while_due()


# A chat service that is down (network, 5xx, 429) is tried again every 10 minutes, six times (an hour). The
# post's intent lives only in the queue: the re-application itself (the console page, the mail) never depends
# on it. A refusal for good (a deleted webhook) is logged and not retried.
@db_task(retries=6, retry_delay=600)
def post_reapplication_to_chat_task(reapplication_id: int):
    reapplication_alerts.post_to_chat(reapplication_id)
