"""The CSV import: a file's rows recorded chunk by chunk (a batch path of a few statements per chunk, and
row by row when the batch meets a concurrent write), and the background import jobs the console starts.
Reading and validating the file is csv_import's (it writes nothing)."""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings
from django.db import DatabaseError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from tsunagu.companies.models import Company
from tsunagu.intake import csv_import
from tsunagu.intake.actions.events import (
    ERASED_OUTCOME,
    EventResult,
    is_stale,
    record_application_event,
    status_changes,
)
from tsunagu.intake.csv_import import CsvFileError
from tsunagu.intake.events import IncomingApplicationEvent
from tsunagu.intake.models import ImportJob, ImportStatus
from tsunagu.lib import bulk, queue
from tsunagu.messaging.actions import reapplication_alerts
from tsunagu.messaging.models import Message, MessageStatus
from tsunagu.talent import actions as talent
from tsunagu.talent.models import Application, ApplicationEvent, ApplicationStatus, Candidate

logger = logging.getLogger(__name__)

# Rows per transaction, and how often the progress callback (the console's live counters) is called. A chunk
# holds SQLite's write lock while it is written (about a tenth of a second), so API and webhook writes wait
# at most that long.
IMPORT_CHUNK = 2000


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


@dataclass
class _Tally:
    """One chunk's counts, added to the ImportResult only once the chunk is committed."""

    imported: int = 0
    updated: int = 0
    skipped: int = 0
    errors: list = field(default_factory=list)

    def count(self, result: EventResult) -> None:
        if result.duplicate:
            self.skipped += 1
        elif result.created:
            self.imported += 1
        else:
            self.updated += 1


def import_csv(company: Company, path, *, dry_run: bool, send_notices: bool = False, mapping: dict | None = None,
               progress=None) -> ImportResult:
    """Import a CSV export; every good row is recorded as a `csv` event, as record_application_event would.

    Rejections are recorded without a notice unless `send_notices` (history must not mail people out of
    the blue). A dry run validates every row and counts what would happen, writing nothing. A problem with
    the file as a whole raises csv_import.CsvFileError (Japanese message) before anything is written.
    `progress(result)` is called after every chunk of IMPORT_CHUNK rows (committed) and at the end.
    """
    csv_file = csv_import.open_csv(path, time_zone=company.time_zone, mapping=mapping, notify=send_notices)
    result = ImportResult(dry_run=dry_run, encoding=csv_file.encoding, total_rows=csv_file.count_rows())
    if progress:
        progress(result)
    seen_in_file: set[str] = set()
    statistics = _PlannerStatistics(result)
    chunk: list = []
    for row in csv_file.rows():
        chunk.append(row)
        if len(chunk) >= IMPORT_CHUNK:
            statistics.refresh_if_due()
            _import_chunk(company, chunk, result, seen_in_file)
            chunk = []
            if progress:
                progress(result)
    if chunk:
        _import_chunk(company, chunk, result, seen_in_file)
    statistics.refresh_if_due(finished=True)
    if progress:
        progress(result)
    return result


class _PlannerStatistics:
    """When a large import refreshes the database's planner statistics (talent.refresh_planner_statistics):
    before its first chunk (an import just before may have doubled the tables), whenever the rows it wrote
    have doubled since (from ANALYZE_AFTER_ROWS on: about log2(rows / ANALYZE_AFTER_ROWS) times), and at the
    end, for the API's lookups that follow."""

    ANALYZE_AFTER_ROWS = 10_000

    def __init__(self, result: ImportResult):
        self.result = result
        self.written_at_last = None if not result.dry_run and result.total_rows >= IMPORT_CHUNK else -1

    def refresh_if_due(self, *, finished: bool = False) -> None:
        if self.written_at_last == -1:
            return  # a dry run or a small file
        written = self.result.imported + self.result.updated
        if self.written_at_last is None or (written >= max(2 * self.written_at_last, self.ANALYZE_AFTER_ROWS)
                                            or (finished and written > self.written_at_last)):
            talent.refresh_planner_statistics()
            self.written_at_last = written


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
    if not good:
        return
    if not talent.batch_writes_supported():
        _add(result, _write_chunk_row_by_row(company, good))
        return
    try:
        tally = _write_chunk(company, good)
    except DatabaseError as exc:
        # Most likely an API call or webhook created the same candidate, application or event between this
        # chunk's reads and its writes (IntegrityError), or a deadlock with one: nothing of the chunk was
        # kept, and the row-by-row path (which retries such races per row) writes it instead.
        logger.info("CSV import for %s: chunk from line %s written row by row (%s)", company.slug, good[0].line, exc)
        tally = _write_chunk_row_by_row(company, good)
    _add(result, tally)


def _add(result: ImportResult, tally: _Tally) -> None:
    result.imported += tally.imported
    result.updated += tally.updated
    result.skipped += tally.skipped
    result.errors.extend(tally.errors)


def _known_event_ids(company: Company, event_ids) -> set[str]:
    known: set[str] = set()
    # exclude(event_id=""): so that the partial unique index is used (see events._record).
    events = ApplicationEvent.objects.filter(company=company, source="csv").exclude(event_id="").order_by()
    for query in bulk.filter_in(events, "event_id", event_ids):
        known.update(query.values_list("event_id", flat=True))
    return known


def _applications_with_pending_notices(company: Company, application_ids) -> set[int]:
    """Which of the applications have a scheduled notice that a change to active/hired/withdrawn cancels."""
    pending: set[int] = set()
    scheduled = Message.objects.filter(company=company, status=MessageStatus.SCHEDULED).order_by()
    for query in bulk.filter_in(scheduled, "application", application_ids):
        pending.update(query.values_list("application_id", flat=True))
    return pending


ERASED_ROW = gettext_noop("この応募の方の個人情報は削除済みのため、取り込みませんでした")


def _erased_people(company: Company, applications) -> set[int]:
    """Which of these applications' people were erased (one query for the chunk)."""
    ids = {application.candidate_id for application in applications}
    return set(Candidate.objects.filter(company=company, pk__in=ids, erased_at__isnull=False)
               .values_list("pk", flat=True)) if ids else set()


def _write_chunk(company: Company, rows: list) -> _Tally:
    """Record the rows' events as record_application_event would, one after the other, with a few queries for
    the whole chunk: existing jobs, candidates, applications and events are read at once, rows are applied
    in memory (talent.TalentBatch), and new and changed rows are written by bulk statements.

    A row that must plan or cancel a notice goes through record_application_event itself (what is pending is
    written first, and what that row changed is read again afterwards): only rejections with --send-notices
    and changes of applications that have a scheduled notice, while an import of history needs none.
    One transaction; a DatabaseError leaves nothing of the chunk behind.
    """
    tally = _Tally()
    with transaction.atomic():
        known = _known_event_ids(company, [row.event.event_id for row in rows])
        todo = [row for row in rows if row.event.event_id not in known]
        tally.skipped += len(rows) - len(todo)
        batch = talent.TalentBatch(company)
        batch.load(row.event for row in todo)
        pending = _applications_with_pending_notices(company, [a.pk for a in batch.saved_applications()])
        erased = _erased_people(company, batch.saved_applications())
        recorded: set[str] = set()
        events: list[tuple] = []  # (application, event, stale, outcome), written after the applications
        new_notified: list[Application] = []  # new applications of an import that notifies: re-applications?
        for row in todo:
            event = row.event
            if event.event_id in recorded:  # the same row twice in the file
                tally.skipped += 1
                continue
            application = batch.application(event.external_id)
            if application is not None and application.candidate_id in erased:
                # The person's data was erased: what the file says of them is not taken back in.
                tally.skipped += 1
                tally.errors.append({"line": row.line, "message": _(ERASED_ROW)})
                continue
            stale = is_stale(application, event)
            if not stale and _needs_messaging(application, event, pending):
                batch.flush()
                _insert_events(company, events)
                events = []
                try:
                    outcome = record_application_event(company, event)
                except DatabaseError as exc:
                    # Only this row's savepoint was rolled back (events._record is atomic); the chunk goes on.
                    tally.errors.append({"line": row.line,
                                         "message": _("保存できませんでした: %(error)s") % {"error": exc}})
                else:
                    recorded.add(event.event_id)
                    tally.count(outcome)
                batch.reload(event)
                # Planning or cancelling can schedule notices for this application and for other applications
                # of the same person (a combined notice split up again).
                saved = batch.saved_applications()
                candidate_id = next((a.candidate_id for a in saved if a.external_id == event.external_id), None)
                pending |= _applications_with_pending_notices(
                    company, [a.pk for a in saved if a.candidate_id == candidate_id])
                continue

            job = batch.upsert_job(event.job)
            candidate = batch.upsert_candidate(event.candidate)
            created = application is None
            if created:
                application = batch.create_application(external_id=event.external_id, candidate=candidate,
                                                       job=job, source=event.source)
                if event.notify:
                    new_notified.append(application)
            outcome = "stale: a newer event already set the status" if stale else ""
            if not stale:
                batch.apply_status(application, **status_changes(event, candidate, job))
                outcome = _outcome_without_messaging(application, event)
            events.append((application, event, stale, outcome))
            recorded.add(event.event_id)
            tally.count(EventResult(application, created=created, duplicate=False, outcome=outcome))
        batch.flush()
        _insert_events(company, events)
        for application in new_notified:  # in file order, as record_application_event would have found them
            reapplication_alerts.on_new_application(company, application)
    return tally


_EVENT_COLUMNS = ("company", "application", "source", "event_id", "status", "stage_raw", "rejection_reason",
                  "occurred_at", "received_at", "applied", "outcome")


def _insert_events(company: Company, events: list[tuple]) -> None:
    """The ApplicationEvent rows events.event_row would make, inserted without model instances (a third of the rows
    an import writes)."""
    now = timezone.now()
    bulk.insert_rows(ApplicationEvent, _EVENT_COLUMNS, (
        (company.pk, application.pk, event.source, event.event_id, event.status, event.stage,
         event.rejection_reason, event.occurred_at, now, not stale, outcome)
        for application, event, stale, outcome in events
    ))


def _needs_messaging(application: Application | None, event: IncomingApplicationEvent, pending: set[int]) -> bool:
    """Whether events.plan_or_cancel_notice would call messaging for this (not stale) event."""
    if event.status == ApplicationStatus.REJECTED:
        # A notice is planned unless asked not to or the application was rejected already.
        return event.notify and (application is None or application.status != ApplicationStatus.REJECTED)
    # Any other status cancels pending notices: only an application that has one needs the call.
    return application is not None and application.pk in pending


def _outcome_without_messaging(application: Application, event: IncomingApplicationEvent) -> str:
    """What events.plan_or_cancel_notice answers when _needs_messaging said it has nothing to plan or cancel."""
    if application.status == ApplicationStatus.REJECTED:
        # Not asked to notify, or (else _needs_messaging would have said so) rejected already.
        return "recorded without notice" if not event.notify else "already rejected"
    return ""


def _write_chunk_row_by_row(company: Company, rows: list) -> _Tally:
    """The reference path: each row through record_application_event, in one transaction for the chunk."""
    tally = _Tally()
    known = _known_event_ids(company, [row.event.event_id for row in rows])
    with transaction.atomic():
        for row in rows:
            if row.event.event_id in known:
                tally.skipped += 1
                continue
            try:
                outcome = record_application_event(company, row.event)
            except DatabaseError as exc:
                # Only this row's savepoint was rolled back (events._record is atomic); the chunk goes on.
                tally.errors.append({"line": row.line, "message": _("保存できませんでした: %(error)s") % {"error": exc}})
                continue
            if outcome.outcome == ERASED_OUTCOME:
                tally.skipped += 1
                tally.errors.append({"line": row.line, "message": _(ERASED_ROW)})
                continue
            tally.count(outcome)
    return tally


def _count_dry_run(company: Company, rows: list, result: ImportResult, seen_in_file: set[str]) -> None:
    """What a real run would count, from two reads per chunk (duplicates within the file included)."""
    known_events = _known_event_ids(company, [row.event.event_id for row in rows])
    known_applications: set[str] = set()
    applications = Application.objects.filter(company=company).order_by()
    for query in bulk.filter_in(applications, "external_id", (row.event.external_id for row in rows)):
        known_applications.update(query.values_list("external_id", flat=True))
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
    queue.enqueue_on_commit("tsunagu.intake.tasks.run_import_job_task", job.pk)
    return job


def run_import_job(job_id: int) -> ImportJob:
    """Run a queued ImportJob, keeping its counters current so the console shows live progress."""
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
    # The upload holds personal data: once imported (or checked, for a dry run), it has no further purpose.
    Path(job.file_path).unlink(missing_ok=True)
    job.refresh_from_db()
    return job
