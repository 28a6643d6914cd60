"""Queue tasks for intake: thin wrappers around intake actions."""

from huey.contrib.djhuey import db_task

from tsunagu.intake import actions


@db_task(retries=0)
def run_import_job_task(job_id: int):
    # No retries: a failure is recorded on the ImportJob for HR to see; re-running is re-uploading.
    actions.run_import_job(job_id)


@db_task(retries=0)
def process_queued_deliveries_task():
    # Webhook deliveries and polled changes (see intake/webhooks.py): one task drains a whole burst.
    from tsunagu.intake import webhooks
    from tsunagu.lib.queue import taken

    taken(webhooks.PROCESSING_WAKE_KEY)
    webhooks.process_queued_deliveries()


@db_task(retries=3, retry_delay=60)
def process_delivery_task(delivery_id: int):
    # One delivery whose processing hit a passing problem (e.g. Lever's API unreachable): RetryLater
    # propagates so Huey retries; the delivery stays "processing" meanwhile, and the scheduler's sweep
    # queues it again after the lease if every retry failed.
    from tsunagu.intake import webhooks

    webhooks.process_delivery(delivery_id, retry=True)


@db_task(retries=0)
def poll_connection_task(connection_id: int):
    # One polling round (see intake/polling.py): asked for by the scheduler when the connection is due, or
    # by the console's "poll now". No retries: a failure is recorded on the connection and the next
    # scheduled round tries again.
    from tsunagu.intake import polling
    from tsunagu.lib.queue import taken

    taken(polling.poll_key(connection_id))
    polling.poll_connection(connection_id)
