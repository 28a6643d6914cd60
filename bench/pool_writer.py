"""Writes generated people (bench.pool_data) into the database in bulk, as the application would store them.

Needs Django set up. The stored values come from the application's own functions: the normalize keys as
talent.actions.applications.candidate_values makes them, the derived pool fields and automatic tags from
talent.actions.pool (automatic_tags, derived_values: what refresh_pool_entries writes), tag keys from
talent.pool_query.tag_key, jobs through talent.actions.jobs.save_job. Only the writing is different: rows
with ids chosen here, executemany on SQLite (the FTS5 triggers index each candidate), COPY on PostgreSQL
(for a large load, secondary indexes dropped before the first chunk and rebuilt at the end, as bulk loads
do), then the id sequences are reset and the tables ANALYZEd.
"""

from __future__ import annotations

import json
import time
from datetime import datetime
from functools import lru_cache
from types import SimpleNamespace
from zoneinfo import ZoneInfo

from django.core.management.color import no_style
from django.db import connections, router, transaction
from django.db.models import Max
from django.utils import timezone, translation

from bench.pool_data import GeneratedJob, GeneratedPerson
from tsunagu.companies.models import Company
from tsunagu.talent import normalize
from tsunagu.talent.actions import pool
from tsunagu.talent.actions.jobs import save_job
from tsunagu.talent.models import Application, Candidate, CandidateTag, TagKind
from tsunagu.talent.pool_query import tag_key
from tsunagu.talent.stages import map_stage

MODELS = (Candidate, Application, CandidateTag)


class Table:
    """One model's table as rows of column values, in the order of its concrete fields (from _meta)."""

    def __init__(self, model, connection):
        self.model = model
        self.fields = list(model._meta.concrete_fields)
        self.columns = [f.column for f in self.fields]
        self.attnames = [f.attname for f in self.fields]
        sqlite = connection.vendor == "sqlite"
        self.converters = []
        self.defaults = []
        for f in self.fields:
            kind = f.get_internal_type()
            if kind == "DateTimeField":
                # Aware UTC datetimes: SQLite stores them naive in UTC as str() does (Django's own adaptation).
                self.converters.append(_sqlite_datetime if sqlite else None)
            elif kind == "JSONField":
                self.converters.append(json.dumps)
            else:
                self.converters.append(None)
            self.defaults.append(f.get_default() if f.has_default() or f.null else _REQUIRED)
        quote = connection.ops.quote_name
        column_list = ", ".join(quote(c) for c in self.columns)
        self.insert_sql = (f"INSERT INTO {quote(model._meta.db_table)} ({column_list}) "
                           f"VALUES ({', '.join('?' * len(self.columns))})")
        self.copy_sql = f"COPY {quote(model._meta.db_table)} ({column_list}) FROM STDIN"

    def row(self, values: dict) -> tuple:
        """A row from attname -> value; fields not given take their default (a required one raises)."""
        out = []
        for attname, default, convert in zip(self.attnames, self.defaults, self.converters, strict=True):
            value = values.get(attname, default)
            if value is _REQUIRED:
                raise KeyError(f"{self.model.__name__}.{attname} has no default: the generator must set it")
            if convert is not None and value is not None:
                value = convert(value)
            out.append(value)
        return tuple(out)

    def maker(self, *attnames: str, **fixed):
        """A fast row builder for many rows that differ only in `attnames` (given positionally, in that order):
        the other columns are computed once from `fixed` and the defaults."""
        template = list(self.row({**dict.fromkeys(attnames, None), **fixed}))
        slots = [(self.attnames.index(name), self.converters[self.attnames.index(name)]) for name in attnames]

        def make(*values) -> tuple:
            row = template.copy()
            for (index, convert), value in zip(slots, values, strict=True):
                row[index] = convert(value) if convert is not None and value is not None else value
            return tuple(row)

        return make


_REQUIRED = object()


@lru_cache(maxsize=4096)  # a person's dates recur on their applications, tags and derived fields
def _sqlite_datetime(value: datetime) -> str:
    return str(value.replace(tzinfo=None))


class PoolWriter:
    def __init__(self, company_slug: str, *, email_tag: str, drop_indexes: bool = False):
        self.company = Company.objects.get(slug=company_slug)
        self.zone = ZoneInfo(self.company.time_zone or "Asia/Tokyo")
        self.email_tag = email_tag
        self.now = timezone.now()
        self.connection = connections[router.db_for_write(Candidate)]
        self.postgres = self.connection.vendor == "postgresql"
        self.drop_indexes = drop_indexes and self.postgres
        self.tables = {model: Table(model, self.connection) for model in MODELS}
        self._tag_maker = self.tables[CandidateTag].maker(
            "id", "candidate_id", "kind", "label", "key", "automatic", "created_at", company_id=self.company.pk)
        self.next_id = {model: (model.objects.aggregate(top=Max("pk"))["top"] or 0) + 1 for model in MODELS}
        self.first_candidate_id = self.next_id[Candidate]
        self.counts = dict.fromkeys(("candidates", "applications", "tags"), 0)
        self.jobs: list[tuple[int, str, str]] = []  # (pk, title, category) by generated index
        self.job_external_ids: list[tuple[str, str]] = []  # open jobs: (external_id, title)
        self.dropped_indexes: list[str] = []
        self.seconds = {"generate": 0.0, "write": 0.0, "indexes": 0.0, "analyze": 0.0}

    # --- jobs ------------------------------------------------------------------------------------

    def write_jobs(self, generated: list[GeneratedJob]) -> None:
        for job in generated:
            saved, _created, _opened = save_job(
                self.company, external_id=job.external_id, title=job.title, category=job.category,
                description=job.description, location=job.location, requirements=job.requirements,
                status=job.status)
            self.jobs.append((saved.pk, saved.title, saved.category))
            if job.status == "open":
                self.job_external_ids.append((job.external_id, job.title))

    # --- people ----------------------------------------------------------------------------------

    def write_people(self, people: list[GeneratedPerson]) -> None:
        started = time.monotonic()
        rows = {model: [] for model in MODELS}
        with translation.override("ja"):  # automatic tags are written in Japanese, as refresh_pool_entries does
            for person in people:
                self._person_rows(person, rows)
        generated = time.monotonic()
        self.seconds["generate"] += generated - started
        if self.drop_indexes and not self.dropped_indexes:
            self._drop_secondary_indexes()
        with transaction.atomic(using=self.connection.alias):
            for model in MODELS:
                begun = time.monotonic()
                self._insert(model, rows[model])
                self.seconds[model._meta.db_table] = self.seconds.get(model._meta.db_table, 0.0) + time.monotonic() - begun
        self.seconds["write"] += time.monotonic() - generated
        self.counts["candidates"] += len(rows[Candidate])
        self.counts["applications"] += len(rows[Application])
        self.counts["tags"] += len(rows[CandidateTag])

    def _take_id(self, model) -> int:
        pk = self.next_id[model]
        self.next_id[model] = pk + 1
        return pk

    def _person_rows(self, person: GeneratedPerson, rows: dict) -> None:
        company_id = self.company.pk
        candidate_id = self._take_id(Candidate)
        name = normalize.clean_text(person.name)
        name_kana = normalize.clean_text(person.name_kana)
        history, applications = [], []
        for number, generated in enumerate(person.applications, start=1):
            job_id, title, category = self.jobs[generated.job]
            stage_raw = normalize.clean_text(generated.stage_raw)
            stage = map_stage(stage_raw)
            rejected = generated.status == "rejected"
            values = {
                "id": self._take_id(Application), "company_id": company_id,
                "external_id": f"{self.email_tag.upper()}-{person.number}-{number}", "candidate_id": candidate_id,
                "job_id": job_id, "status": generated.status, "stage": stage, "stage_raw": stage_raw,
                "stage_reached": stage, "rejection_reason": normalize.clean_text(generated.rejection_reason),
                "source": generated.source, "status_changed_at": generated.changed_at,
                "rejected_at": generated.changed_at if rejected else None, "applied_at": generated.applied_at,
                "channel": normalize.clean_text(generated.channel),
                "evaluation": normalize.clean_text(generated.evaluation), "tags": [],
                "created_at": generated.applied_at, "updated_at": generated.changed_at,
            }
            applications.append(values)
            # The row refresh_pool_entries reads (its _APPLICATION_VALUES), by name so a reordering cannot shift it.
            named = {**values, "job__title": title, "job__category": category}
            history.append(tuple(named[name] for name in pool._APPLICATION_VALUES))
        created_at = applications[0]["created_at"]
        # Tags as refresh_pool_entries leaves them for a person whose skills HR typed: skills, then automatic.
        tags: dict[tuple[str, str], str] = {}
        for label in normalize.clean_tags(person.skills):
            tags.setdefault((TagKind.SKILL, tag_key(label)), label)
        for label in pool.automatic_tags(history, self.zone):
            key = tag_key(label)
            if key:
                tags.setdefault((TagKind.TAG, key), label)
        profile = SimpleNamespace(name=name, name_kana=name_kana, region_code=person.region_code,
                                  region_text=person.region_text, note=person.note, desired_job=person.desired_job,
                                  created_at=created_at)
        derived = pool.derived_values(profile, history, [(kind, label) for (kind, _key), label in tags.items()])
        candidate = {
            "id": candidate_id, "company_id": company_id, "name": name, "name_kana": name_kana,
            "email": person.email.strip(), "phone": person.phone.strip(),
            "name_key": normalize.name_key(person.name),
            "kana_key": normalize.kana_key(person.name_kana) if person.name_kana else "",
            "email_key": normalize.email_key(person.email),
            "phone_e164": normalize.phone_e164(person.phone) if person.phone else "",
            "region_code": person.region_code, "region_text": person.region_text,
            "desired_job": person.desired_job, "note": person.note, "contact_allowed": person.contact_allowed,
            **derived,
            "created_at": created_at, "updated_at": max(a["updated_at"] for a in applications),
        }
        rows[Candidate].append(self.tables[Candidate].row(candidate))
        application_table = self.tables[Application]
        rows[Application].extend(application_table.row(values) for values in applications)
        make_tag = self._tag_maker
        for (kind, key), label in tags.items():
            rows[CandidateTag].append(make_tag(self._take_id(CandidateTag), candidate_id, kind, label, key,
                                               kind == TagKind.TAG, created_at))

    def _insert(self, model, rows: list[tuple]) -> None:
        table = self.tables[model]
        if not rows:
            return
        if self.postgres:
            with self.connection.cursor() as cursor, cursor.cursor.copy(table.copy_sql) as copy:
                for row in rows:
                    copy.write_row(row)
        else:
            self.connection.ensure_connection()
            self.connection.connection.executemany(table.insert_sql, rows)

    # --- PostgreSQL: secondary indexes off during the load -----------------------------------------

    def _drop_secondary_indexes(self) -> None:
        """Drop the indexes of the three tables that back no constraint (GIN, name/kana folds, ...), keeping
        their definitions; unique and primary-key indexes stay (they guard the data)."""
        tables = [model._meta.db_table for model in MODELS]
        with self.connection.cursor() as cursor:
            cursor.execute(
                "SELECT i.indexname, i.indexdef FROM pg_indexes i WHERE i.schemaname = current_schema() "
                "AND i.tablename = ANY(%s) AND NOT EXISTS (SELECT 1 FROM pg_constraint c "
                "JOIN pg_class x ON x.oid = c.conindid WHERE x.relname = i.indexname)", [tables])
            found = cursor.fetchall()
            for name, definition in found:
                cursor.execute(f'DROP INDEX "{name}"')
                self.dropped_indexes.append(definition)

    def _rebuild_indexes(self) -> None:
        with self.connection.cursor() as cursor:
            cursor.execute("SET maintenance_work_mem = '512MB'")
            for definition in self.dropped_indexes:
                cursor.execute(definition)

    # --- the end ---------------------------------------------------------------------------------

    def finish(self) -> None:
        started = time.monotonic()
        if self.dropped_indexes:
            self._rebuild_indexes()
        indexed = time.monotonic()
        self.seconds["indexes"] = indexed - started
        with self.connection.cursor() as cursor:
            for statement in self.connection.ops.sequence_reset_sql(no_style(), list(MODELS)):
                cursor.execute(statement)
            cursor.execute("ANALYZE")
        self.seconds["analyze"] = time.monotonic() - indexed

    def summary(self) -> dict:
        return {
            **self.counts,
            "company_id": self.company.pk,
            "candidate_ids": [self.first_candidate_id, self.next_id[Candidate] - 1],
            "open_jobs": [external_id for external_id, _title in self.job_external_ids],
            "jobs": len(self.jobs),
            "seconds": {name: round(value, 1) for name, value in self.seconds.items()},
        }
