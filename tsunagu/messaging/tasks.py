"""Queue tasks: thin wrappers around messaging actions."""

from huey.contrib.djhuey import db_task

from tsunagu.messaging import actions


@db_task(retries=0)
def deliver_messages_task(message_ids):
    # A crash here loses nothing: the rows stay "scheduled" or "sending" and the sweep hands them out again.
    actions.deliver_messages(message_ids)
