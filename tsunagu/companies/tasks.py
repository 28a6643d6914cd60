"""Queue tasks: thin wrappers around companies actions (queued by name, see actions.schedule_access_log_purge)."""

from huey.contrib.djhuey import db_task

from tsunagu.companies import actions


@db_task(retries=0)
def purge_access_log_task():
    # A failed run loses nothing: the rows stay, and tomorrow's run takes them with the day's.
    actions.purge_access_log()
