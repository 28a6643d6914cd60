"""Queue tasks: thin wrappers around messaging actions (which queue them by name, see actions/notices.py)."""

from huey.contrib.djhuey import db_task

from tsunagu.lib.queue import taken
from tsunagu.messaging.actions import delivery, notices


@db_task(retries=0)
def deliver_due_messages_task():
    taken(notices.DELIVERY_WAKE_KEY)
    # A crash here loses nothing: the rows stay "scheduled" or "sending" and the scheduler asks again.
    delivery.deliver_while_due()
