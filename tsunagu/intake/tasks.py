"""Queue tasks for intake: thin wrappers around intake actions. Actions queue them by name (lib.queue)."""

from huey.contrib.djhuey import db_task

from tsunagu.intake.actions import deliveries, imports, polling
from tsunagu.lib.queue import taken


@db_task(retries=0)
def run_import_job_task(job_id: int):
    # No retries: a failure is recorded on the ImportJob for HR to see; re-running is re-uploading.
    imports.run_import_job(job_id)


@db_task(retries=0)
def process_queued_deliveries_task():
    # Webhook deliveries and polled changes (see intake/actions/deliveries.py): one task drains a whole burst.
    taken(deliveries.PROCESSING_WAKE_KEY)
    deliveries.process_queued_deliveries()


@db_task(retries=3, retry_delay=60)
def process_delivery_task(delivery_id: int):
    # One delivery whose processing hit a passing problem (e.g. Lever's API unreachable): RetryLater
    # propagates so Huey retries; the delivery stays "processing" meanwhile, and the scheduler's sweep
    # queues it again after the lease if every retry failed.
    deliveries.process_delivery(delivery_id, retry=True)


@db_task(retries=0)
def poll_connection_task(connection_id: int):
    # One polling round (see intake/actions/polling.py): asked for by the scheduler when the connection is
    # due, or by the console's "poll now". No retries: a failure is recorded on the connection and the next
    # scheduled round tries again.
    taken(polling.poll_key(connection_id))
    polling.poll_connection(connection_id)
