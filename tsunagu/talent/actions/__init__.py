"""Every change to the talent pool, one module per topic: `applications` (jobs, candidates and applications as
the sources report them, one by one and in batches), `pool` (what HR edits and what is derived for search).

The application writes are re-exported here: intake calls them as `talent.upsert_job(...)` and so on.
"""

from tsunagu.talent.actions.applications import (  # noqa: F401
    APPLICATION_STATUS_FIELDS,
    TalentBatch,
    apply_status,
    batch_writes_supported,
    candidate_values,
    job_values,
    lock_or_create_application,
    refresh_candidate,
    refresh_job,
    refresh_planner_statistics,
    set_status,
    upsert_candidate,
    upsert_job,
)
