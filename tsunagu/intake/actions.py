"""Recording application events: the single write path shared by the API, webhooks and CSV."""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings
from django.db import DatabaseError, IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from tsunagu.companies.models import Company
from tsunagu.intake.events import IncomingApplicationEvent
from tsunagu.intake.models import ImportJob, ImportStatus
from tsunagu.messaging import actions as messaging
from tsunagu.talent import actions as talent
from tsunagu.talent.models import Application, ApplicationEvent, ApplicationStatus
from tsunagu.talent.stages import map_stage

logger = logging.getLogger(__name__)


@dataclass
class EventResult:
    application: Application
    created: bool
    duplicate: bool
    outcome: str


def record_application_event(company: Company, event: IncomingApplicationEvent) -> EventResult:
    """Apply one event; safe to repeat and to receive out of order."""
    for attempt in range(3):
        try:
            return _record(company, event)
        except IntegrityError:
            # Two first deliveries raced to create the same application or event row:
            # the loser retries and then sees the winner's row (as a duplicate or an update).
            if attempt == 2:
                raise
    raise AssertionError("unreachable")


@transaction.atomic
def _record(company: Company, event: IncomingApplicationEvent) -> EventResult:
    if event.event_id:
        seen = (
            ApplicationEvent.objects.filter(company=company, source=event.source, event_id=event.event_id)
            .select_related("application")
            .first()
        )
        if seen is not None:
            return EventResult(seen.application, created=False, duplicate=True, outcome="duplicate")

    job = talent.upsert_job(company, event.job)
    candidate = talent.upsert_candidate(company, event.candidate)
    application, created = talent.lock_or_create_application(
        company, external_id=event.external_id, candidate=candidate, job=job, source=event.source
    )

    stale = application.status_changed_at is not None and event.occurred_at < application.status_changed_at
    outcome = "stale: a newer event already set the status" if stale else ""
    if not stale:
        previous_status = application.status
        talent.apply_status(
            application,
            status=event.status,
            stage=event.stage_code if event.stage_code is not None else map_stage(event.stage),
            stage_raw=event.stage,
            rejection_reason=event.rejection_reason,
            occurred_at=event.occurred_at,
            candidate=candidate,
            job=job,
        )
        outcome = _plan_or_cancel_notice(application, previous_status, created, event)

    ApplicationEvent.objects.create(
        company=company,
        application=application,
        source=event.source,
        event_id=event.event_id,
        status=event.status,
        stage_raw=event.stage,
        rejection_reason=event.rejection_reason,
        occurred_at=event.occurred_at,
        applied=not stale,
        outcome=outcome,
    )
    return EventResult(application, created=created, duplicate=False, outcome=outcome)


def _plan_or_cancel_notice(application: Application, previous_status: str, created: bool,
                           event: IncomingApplicationEvent) -> str:
    if application.status == ApplicationStatus.REJECTED:
        if not event.notify:
            return "recorded without notice"
        if previous_status == ApplicationStatus.REJECTED and not created:
            return "already rejected"
        message = messaging.plan_rejection_notice(application)
        return f"notice {message.status}" if message else "no notice"
    cancelled = messaging.cancel_pending_notices(application, reason=f"application {application.status}")
    return f"cancelled {cancelled} notice(s)" if cancelled else ""


# --- CSV import ------------------------------------------------------------------------------------

# Rows per transaction, and how often the progress callback (the console's live counters) is called.
IMPORT_CHUNK = 500


@dataclass
class ImportResult:
    """What an import did (or, for a dry run, would do).

    A row whose application is new counts as imported; a row about an existing application that says
    something new (another status, stage, reason, ...) as updated; a row already imported with the same
    content (its event id is a hash of the content) as skipped. Importing the same file twice therefore
    skips every row the second time and creates nothing.
    """

    dry_run: bool = False
    encoding: str = ""
    total_rows: int = 0
    processed_rows: int = 0
    imported: int = 0
    updated: int = 0
    skipped: int = 0
    errors: list = field(default_factory=list)

    def as_dict(self) -> dict:
        return {"imported": self.imported, "updated": self.updated, "skipped": self.skipped, "errors": self.errors}


def import_csv(company: Company, path, *, dry_run: bool, send_notices: bool = False, mapping: dict | None = None,
               progress=None) -> ImportResult:
    """Import a CSV export; every good row goes through record_application_event as a `csv` event.

    Rejections are recorded without a notice unless `send_notices` (history must not mail people out of
    the blue). A dry run validates every row and counts what would happen, writing nothing. A problem with
    the file as a whole raises csv_import.CsvFileError (Japanese message) before anything is written.
    `progress(result)` is called after every chunk of IMPORT_CHUNK rows (committed) and at the end.
    """
    from tsunagu.intake import csv_import

    csv_file = csv_import.open_csv(path, time_zone=company.time_zone, mapping=mapping, notify=send_notices)
    result = ImportResult(dry_run=dry_run, encoding=csv_file.encoding, total_rows=csv_file.count_rows())
    if progress:
        progress(result)
    seen_in_file: set[str] = set()
    chunk: list = []
    for row in csv_file.rows():
        chunk.append(row)
        if len(chunk) >= IMPORT_CHUNK:
            _import_chunk(company, chunk, result, seen_in_file)
            chunk = []
            if progress:
                progress(result)
    if chunk:
        _import_chunk(company, chunk, result, seen_in_file)
    if progress:
        progress(result)
    return result


def _import_chunk(company: Company, rows: list, result: ImportResult, seen_in_file: set[str]) -> None:
    result.processed_rows += len(rows)
    good = []
    for row in rows:
        if row.error:
            result.errors.append({"line": row.line, "message": row.error})
        else:
            good.append(row)
    if result.dry_run:
        _count_dry_run(company, good, result, seen_in_file)
        return
    # One transaction per chunk: SQLite commits (fsync) 500 rows at once instead of one by one, and the
    # counters the console polls move once per committed chunk.
    # Rows imported before (same content, so same event id) would be answered "duplicate" one query each:
    # one read per chunk finds them all, and record_application_event is not called for them.
    known_events = set(ApplicationEvent.objects.filter(
        company=company, source="csv", event_id__in=[row.event.event_id for row in good]
    ).values_list("event_id", flat=True))
    with transaction.atomic():
        for row in good:
            if row.event.event_id in known_events:
                result.skipped += 1
                continue
            try:
                outcome = record_application_event(company, row.event)
            except DatabaseError as exc:
                # Only this row's savepoint was rolled back (_record is atomic); the chunk goes on.
                result.errors.append({"line": row.line, "message": _("保存できませんでした: %(error)s") % {"error": exc}})
                continue
            if outcome.duplicate:
                result.skipped += 1
            elif outcome.created:
                result.imported += 1
            else:
                result.updated += 1


def _count_dry_run(company: Company, rows: list, result: ImportResult, seen_in_file: set[str]) -> None:
    """What a real run would count, from two reads per chunk (duplicates within the file included)."""
    known_events = set(ApplicationEvent.objects.filter(
        company=company, source="csv", event_id__in=[row.event.event_id for row in rows]
    ).values_list("event_id", flat=True))
    known_applications = set(Application.objects.filter(
        company=company, external_id__in=[row.event.external_id for row in rows]
    ).values_list("external_id", flat=True))
    for row in rows:
        event = row.event
        if event.event_id in known_events or ("event", event.event_id) in seen_in_file:
            result.skipped += 1
        elif event.external_id in known_applications or ("application", event.external_id) in seen_in_file:
            result.updated += 1
        else:
            result.imported += 1
        seen_in_file.add(("event", event.event_id))
        seen_in_file.add(("application", event.external_id))


def start_import_job(company: Company, uploaded_file, user, *, dry_run: bool, send_notices: bool = False,
                     mapping: dict | None = None) -> ImportJob:
    """Keep the upload under DATA_DIR/imports and queue its import (after this transaction commits)."""
    directory = Path(settings.DATA_DIR) / "imports"
    directory.mkdir(parents=True, exist_ok=True)
    filename = Path(getattr(uploaded_file, "name", "") or "import.csv").name[:200]
    path = directory / f"{company.pk}-{uuid.uuid4().hex}.csv"
    with open(path, "wb") as out:
        for piece in uploaded_file.chunks():
            out.write(piece)
    job = ImportJob.objects.create(
        company=company, created_by=user if getattr(user, "is_authenticated", False) else None,
        filename=filename, file_path=str(path), dry_run=dry_run, send_notices=send_notices, mapping=mapping or {},
    )

    def enqueue():
        from tsunagu.intake.tasks import run_import_job_task

        run_import_job_task(job.pk)

    transaction.on_commit(enqueue)
    return job


def run_import_job(job_id: int) -> ImportJob:
    """Run a queued ImportJob, keeping its counters current so the console shows live progress."""
    from tsunagu.intake.csv_import import CsvFileError

    job = ImportJob.objects.select_related("company").get(pk=job_id)
    if not ImportJob.objects.filter(pk=job.pk, status=ImportStatus.QUEUED).update(status=ImportStatus.RUNNING):
        return job  # a redelivered task: the import ran (or runs) already

    def progress(result: ImportResult) -> None:
        ImportJob.objects.filter(pk=job.pk).update(
            encoding=result.encoding, total_rows=result.total_rows, processed_rows=result.processed_rows,
            imported=result.imported, updated=result.updated, skipped=result.skipped, errors=result.errors,
        )

    try:
        import_csv(job.company, job.file_path, dry_run=job.dry_run, send_notices=job.send_notices,
                   mapping=job.mapping or None, progress=progress)
    except CsvFileError as exc:
        ImportJob.objects.filter(pk=job.pk).update(
            status=ImportStatus.FAILED, failure=exc.message, finished_at=timezone.now(),
            errors=[{"line": exc.line, "message": exc.message}],
        )
    except Exception as exc:
        logger.exception("import job %s failed", job.pk)
        ImportJob.objects.filter(pk=job.pk).update(
            status=ImportStatus.FAILED, failure=_("取り込み中にエラーが発生しました: %(error)s") % {"error": exc},
            finished_at=timezone.now(),
        )
    else:
        ImportJob.objects.filter(pk=job.pk).update(status=ImportStatus.DONE, finished_at=timezone.now())
    if not job.dry_run:
        # The upload holds personal data: once imported, it has no further purpose.
        Path(job.file_path).unlink(missing_ok=True)
    job.refresh_from_db()
    return job
