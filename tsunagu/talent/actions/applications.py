"""Every change to jobs, candidates and applications."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from django.db import connections, router
from django.utils import timezone

from tsunagu.companies.models import Company
from tsunagu.lib import bulk
from tsunagu.lib.bulk import filter_in, insert_objects, new_instance, update_objects
from tsunagu.talent import normalize
from tsunagu.talent.actions import pool
from tsunagu.talent.actions.pool import refresh_pool_entries
from tsunagu.talent.data import CandidateData, JobData
from tsunagu.talent.models import Application, ApplicationEvent, ApplicationStatus, Candidate, Job
from tsunagu.talent.stages import Stage


def upsert_job(company: Company, data: JobData) -> Job:
    title, category, external_id = job_values(data)
    if external_id:
        job, created = Job.objects.get_or_create(
            company=company, external_id=external_id, defaults={"title": title, "category": category}
        )
    else:
        job = Job.objects.filter(company=company, external_id="", title=title).first()
        created = job is None
        if created:
            job = Job.objects.create(company=company, title=title, category=category)
    if not created and refresh_job(job, title, category):
        job.save(update_fields=["title", "category", "updated_at"])
    return job


def job_values(data: JobData) -> tuple[str, str, str]:
    """Title, category and external id of a job as stored."""
    return normalize.clean_text(data.title), normalize.clean_text(data.category), (data.external_id or "").strip()


def refresh_job(job: Job, title: str, category: str) -> bool:
    """Take what the source now says about an existing job (in memory); True when something changed."""
    if job.title == title and (not category or job.category == category):
        return False
    job.title = title
    job.category = category or job.category
    return True


def upsert_candidate(company: Company, data: CandidateData) -> Candidate:
    """Find the company's candidate by normalised e-mail, refreshing what the source now says."""
    values = candidate_values(data)
    candidate, created = Candidate.objects.get_or_create(
        company=company, email_key=normalize.email_key(data.email), defaults=values
    )
    if not created:
        changed = refresh_candidate(candidate, values)
        if changed:
            candidate.save(update_fields=[*changed, "updated_at"])
        if {"name", "name_kana"} & set(changed):  # the name's folds and search tokens follow
            refresh_pool_entries(company, [candidate.pk])
    return candidate


def candidate_values(data: CandidateData) -> dict:
    """The candidate fields an event sets (name and e-mail always; kana and phone when given)."""
    values = {
        "name": normalize.clean_text(data.name),
        "email": data.email.strip(),
        "name_key": normalize.name_key(data.name),
    }
    if data.name_kana:
        values["name_kana"] = normalize.clean_text(data.name_kana)
        values["kana_key"] = normalize.kana_key(data.name_kana)
    if data.phone:
        values["phone"] = data.phone.strip()
        values["phone_e164"] = normalize.phone_e164(data.phone)
    return values


def refresh_candidate(candidate: Candidate, values: dict) -> list[str]:
    """Set the values that differ (in memory); the names of the changed fields."""
    changed = [key for key, value in values.items() if getattr(candidate, key) != value]
    for key in changed:
        setattr(candidate, key, values[key])
    return changed


def lock_or_create_application(company: Company, *, external_id: str, candidate: Candidate, job: Job,
                               source: str) -> tuple[Application, bool]:
    """The application row, locked for this transaction so concurrent events on it apply one at a time."""
    application = Application.objects.select_for_update().filter(company=company, external_id=external_id).first()
    if application is not None:
        return application, False
    application = Application.objects.create(
        company=company, external_id=external_id, candidate=candidate, job=job, source=source
    )
    return application, True


def apply_status(application: Application, *, status: str, stage: Stage, stage_raw: str, rejection_reason: str,
                 occurred_at: datetime, candidate: Candidate, job: Job, applied_at: datetime | None = None,
                 channel: str = "", evaluation: str = "", tags: Iterable[str] | None = None) -> None:
    set_status(application, status=status, stage=stage, stage_raw=stage_raw, rejection_reason=rejection_reason,
               occurred_at=occurred_at, candidate=candidate, job=job, applied_at=applied_at, channel=channel,
               evaluation=evaluation, tags=tags)
    application.save()
    # The person's pool entry (stage reached, state, automatic tags, search tokens) follows the application.
    refresh_pool_entries(Application.company.field.get_cached_value(application, None) or application.company_id,
                         [candidate.pk])


def set_status(application: Application, *, status: str, stage: Stage, stage_raw: str, rejection_reason: str,
               occurred_at: datetime, candidate: Candidate, job: Job, applied_at: datetime | None = None,
               channel: str = "", evaluation: str = "", tags: Iterable[str] | None = None) -> None:
    """apply_status without the save: the in-memory change both write paths make."""
    # Assigning a related object costs a few µs: skipped when it is the very object assigned already.
    if Application.candidate.field.get_cached_value(application, None) is not candidate:
        application.candidate = candidate
    if Application.job.field.get_cached_value(application, None) is not job:
        application.job = job
    # The newest event by its own clock wins; older ones are recorded but not applied.
    application.status_changed_at = occurred_at
    newly_rejected = status == ApplicationStatus.REJECTED and application.status != ApplicationStatus.REJECTED
    application.status = status
    if stage_raw:
        application.stage = stage
        application.stage_raw = normalize.clean_text(stage_raw)
        application.stage_reached = max(application.stage_reached, stage)
    if status == ApplicationStatus.REJECTED:
        application.rejection_reason = normalize.clean_text(rejection_reason) or application.rejection_reason
        if newly_rejected or application.rejected_at is None:
            application.rejected_at = occurred_at
    # Facts about the application itself: what the event does not say is kept.
    if applied_at is not None:
        application.applied_at = applied_at
    if channel:
        application.channel = normalize.clean_text(channel)
    if evaluation:
        application.evaluation = normalize.clean_text(evaluation)
    if tags is not None:
        application.tags = list(tags)


# --- many events at once (the CSV import) ----------------------------------------------------------

def batch_writes_supported() -> bool:
    """Whether TalentBatch can write on this database (it needs the new rows' ids back; lib.bulk)."""
    return bulk.batch_writes_supported(Application)


# Every field apply_status (a full save()) writes, for the bulk update of existing applications.
APPLICATION_STATUS_FIELDS = ["candidate", "job", "status", "stage", "stage_raw", "stage_reached", "rejection_reason",
                             "status_changed_at", "rejected_at", "applied_at", "channel", "evaluation", "tags",
                             "updated_at"]


class _IdentitySet:
    """Objects by identity (unsaved model instances are neither hashable nor equal to one another)."""

    def __init__(self, objs=()):
        self._objs = {id(obj): obj for obj in objs}

    def __contains__(self, obj) -> bool:
        return id(obj) in self._objs

    def __iter__(self):
        return iter(self._objs.values())


class TalentBatch:
    """The jobs, candidates and applications of one company that a batch of events touches, read with a few
    queries, changed in memory and written by `flush()` with a few bulk statements.

    Each method does exactly what its one-row counterpart does (upsert_job, upsert_candidate,
    lock_or_create_application, apply_status), with the same lookups and values, so a batch leaves the
    database as the same events applied one by one would. The caller holds one transaction around loading,
    changing and flushing; existing applications are locked (SELECT ... FOR UPDATE) when loaded, as
    lock_or_create_application locks its row. A concurrent writer that creates the same candidate or
    application first makes flush() raise IntegrityError: roll back and apply the events one by one.
    """

    def __init__(self, company: Company):
        self.company = company
        # Loaded keys map to the object, or to None when the database has none (yet).
        self.jobs_by_title: dict[str, Job | None] = {}
        self.jobs_by_external_id: dict[str, Job | None] = {}
        self.candidates: dict[str, Candidate | None] = {}
        self.applications: dict[str, Application | None] = {}
        self._new: dict[type, list] = {Job: [], Candidate: [], Application: []}
        # id(object) -> (object, names of the changed fields), for objects that exist in the database.
        self._changed: dict[type, dict[int, tuple[object, set[str]]]] = {Job: {}, Candidate: {}, Application: {}}
        self._job_values_cache: dict[JobData, tuple[str, str, str]] = {}
        self._filled = _IdentitySet()  # candidates whose pool entry the last flush computed in memory

    # --- reading -----------------------------------------------------------------------------------

    def load(self, events: Iterable) -> None:
        """Read what `events` (IncomingApplicationEvent) refer to and is not known yet."""
        events = list(events)
        titles, job_ids, email_keys, external_ids = set(), set(), set(), set()
        for event in events:
            title, _category, job_external_id = self._job_values(event.job)
            if job_external_id:
                job_ids.add(job_external_id)
            else:
                titles.add(title)
            email_keys.add(normalize.email_key(event.candidate.email))
            external_ids.add(event.external_id)
        self._load_jobs(titles - self.jobs_by_title.keys(), job_ids - self.jobs_by_external_id.keys())
        self._load_candidates(email_keys - self.candidates.keys())
        self._load_applications(external_ids - self.applications.keys())

    def _job_values(self, data: JobData) -> tuple[str, str, str]:
        # An import names the same few jobs on many rows.
        try:
            return self._job_values_cache[data]
        except KeyError:
            self._job_values_cache[data] = values = job_values(data)
            return values

    def _load_jobs(self, titles: set[str], external_ids: set[str]) -> None:
        for title in titles:
            self.jobs_by_title[title] = None
        # upsert_job takes the first by primary key when several jobs have the same title.
        jobs = Job.objects.filter(company=self.company, external_id="").order_by("-pk")
        for query in filter_in(jobs, "title", titles):
            for job in query:
                self.jobs_by_title[job.title] = job
        for external_id in external_ids:
            self.jobs_by_external_id[external_id] = None
        for query in filter_in(Job.objects.filter(company=self.company), "external_id", external_ids):
            for job in query:
                self.jobs_by_external_id[job.external_id] = job

    def _load_candidates(self, email_keys: set[str]) -> None:
        for key in email_keys:
            self.candidates[key] = None
        for query in filter_in(Candidate.objects.filter(company=self.company), "email_key", email_keys):
            for candidate in query:
                self.candidates[candidate.email_key] = candidate

    def _load_applications(self, external_ids: set[str]) -> None:
        for external_id in external_ids:
            self.applications[external_id] = None
        applications = Application.objects.select_for_update().filter(company=self.company)
        for query in filter_in(applications, "external_id", external_ids):
            for application in query:
                self.applications[application.external_id] = application

    def application(self, external_id: str) -> Application | None:
        if external_id not in self.applications:
            self._load_applications({external_id})
        return self.applications[external_id]

    def reload(self, event) -> None:
        """Forget and read again what one event refers to (after it was written another way)."""
        title, _category, job_external_id = self._job_values(event.job)
        if job_external_id:
            self.jobs_by_external_id.pop(job_external_id, None)
        else:
            self.jobs_by_title.pop(title, None)
        self.candidates.pop(normalize.email_key(event.candidate.email), None)
        self.applications.pop(event.external_id, None)
        self.load([event])

    def saved_applications(self) -> list[Application]:
        return [application for application in self.applications.values()
                if application is not None and application.pk is not None]

    # --- changing, in memory -----------------------------------------------------------------------

    def upsert_job(self, data: JobData) -> Job:
        title, category, external_id = self._job_values(data)
        cache, key = (self.jobs_by_external_id, external_id) if external_id else (self.jobs_by_title, title)
        if key not in cache:
            self._load_jobs(set() if external_id else {title}, {external_id} if external_id else set())
        job = cache[key]
        if job is None:
            job = new_instance(Job, company_id=self.company.pk, external_id=external_id, title=title,
                               category=category)
            cache[key] = job
            self._new[Job].append(job)
        elif refresh_job(job, title, category):
            self._mark_changed(job, ("title", "category"))
        return job

    def upsert_candidate(self, data: CandidateData) -> Candidate:
        key = normalize.email_key(data.email)
        if key not in self.candidates:
            self._load_candidates({key})
        values = candidate_values(data)
        candidate = self.candidates[key]
        if candidate is None:
            candidate = new_instance(Candidate, company_id=self.company.pk, email_key=key, **values)
            self.candidates[key] = candidate
            self._new[Candidate].append(candidate)
        else:
            changed = refresh_candidate(candidate, values)
            if changed:
                self._mark_changed(candidate, changed)
        return candidate

    def create_application(self, *, external_id: str, candidate: Candidate, job: Job, source: str) -> Application:
        application = new_instance(Application, company_id=self.company.pk, external_id=external_id, source=source,
                                   candidate_id=candidate.pk, job_id=job.pk)
        # What assigning them does (their ids are filled in at insert time if they are new too).
        Application.candidate.field.set_cached_value(application, candidate)
        Application.job.field.set_cached_value(application, job)
        self.applications[external_id] = application
        self._new[Application].append(application)
        return application

    def apply_status(self, application: Application, **changes) -> None:
        """apply_status, written at the next flush()."""
        set_status(application, **changes)
        self._mark_changed(application, APPLICATION_STATUS_FIELDS)

    def _mark_changed(self, obj, fields: Iterable[str]) -> None:
        if obj.pk is None:
            return  # created at the next flush() with its latest values
        _obj, changed = self._changed[type(obj)].setdefault(id(obj), (obj, set()))
        changed.update(fields)

    # --- writing -----------------------------------------------------------------------------------

    def flush(self) -> None:
        """Write every change since the last flush: new rows by multi-row INSERTs (which fill in their primary
        keys, so later changes update them), changed rows by UPDATEs of just the fields that changed."""
        now = timezone.now()
        # The pool entries of people new in this batch are computed in memory (all their applications are
        # here) and inserted with them; the other people touched are refreshed from the database after.
        new_entries = pool.fill_new_entries(self.company, self._new_candidates_with_applications(), now)
        touched: list[Candidate | Application] = []
        for model in (Job, Candidate, Application):
            # A new application's candidate and job were inserted just above: their ids are known by now.
            new, self._new[model] = self._new[model], []
            insert_objects(model, new, now=now)
            changed, self._changed[model] = self._changed[model], {}
            if model is Candidate:
                pool.insert_automatic_tags(self.company, new_entries, now)
                touched.extend(obj for obj, _fields in changed.values())
            elif model is Application:
                touched.extend(obj for obj in new if Application.candidate.field.get_cached_value(obj, None)
                               not in self._filled)
                touched.extend(obj for obj, _fields in changed.values())
            by_fields: dict[frozenset, list] = {}
            for obj, fields in changed.values():
                obj.updated_at = now
                by_fields.setdefault(frozenset(fields), []).append(obj)
            for fields, objs in by_fields.items():
                update_objects(model, objs, sorted({*fields, "updated_at"}))
        # Once per flush (a chunk of an import), not per row.
        refresh_pool_entries(self.company, {obj.candidate_id if isinstance(obj, Application) else obj.pk
                                            for obj in touched} - {c.pk for c in self._filled})
        self._filled = _IdentitySet()

    def _new_candidates_with_applications(self) -> list[tuple[Candidate, list[Application]]]:
        """The candidates to insert at the next flush, each with its applications (all in memory)."""
        by_candidate: dict[int, list[Application]] = {id(c): [] for c in self._new[Candidate]}
        changed = [obj for obj, _fields in self._changed[Application].values()]
        for application in (*self._new[Application], *changed):
            candidate = Application.candidate.field.get_cached_value(application, None)
            if candidate is not None and id(candidate) in by_candidate:
                by_candidate[id(candidate)].append(application)
        self._filled = _IdentitySet(self._new[Candidate])
        return [(candidate, by_candidate[id(candidate)]) for candidate in self._new[Candidate]]


def refresh_planner_statistics() -> None:
    """ANALYZE the talent tables on PostgreSQL, as its manual advises after a bulk load.

    Until autovacuum gets round to it (a minute or more), PostgreSQL plans with the table sizes of before the
    load: a lookup of 900 keys then read every row of the company (measured: 86 ms instead of 4 ms on
    100,000 events), for the import's own next chunks and for the API's duplicate checks alike. SQLite's
    planner uses the unique indexes regardless, so there is nothing to do.
    """
    connection = connections[router.db_for_write(Application)]
    if connection.vendor != "postgresql":
        return
    tables = ", ".join(connection.ops.quote_name(model._meta.db_table)
                       for model in (Job, Candidate, Application, ApplicationEvent))
    with connection.cursor() as cursor:
        cursor.execute(f"ANALYZE {tables}")
