"""lib.bulk on both databases, with talent's models as the subjects: IN lists and filters over many values,
multi-row INSERTs, executemany UPDATEs and the instances they write."""

from __future__ import annotations

import math
import sqlite3
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.db import IntegrityError, connection, transaction
from django.db.models import signals
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from tsunagu.lib import bulk
from tsunagu.talent.models import Application, ApplicationStatus, Candidate, Job
from tsunagu.talent.stages import Stage

TOKYO = ZoneInfo("Asia/Tokyo")
T0 = datetime(2026, 10, 1, 10, 0, tzinfo=TOKYO)
POSTGRES = connection.vendor == "postgresql"


def jobs(company, count: int, prefix: str = "J") -> list[Job]:
    """`count` new jobs of `company`, inserted."""
    rows = [bulk.new_instance(Job, company_id=company.pk, external_id=f"{prefix}-{n:04d}", title=f"求人{n}")
            for n in range(count)]
    bulk.insert_objects(Job, rows, now=T0)
    return rows


def candidate(company, email: str, name: str = "髙橋 𠮷子") -> Candidate:
    return bulk.new_instance(Candidate, company_id=company.pk, name=name, email=email, email_key=email.lower(),
                             name_key=name.replace(" ", ""))


# --- in_lists --------------------------------------------------------------------------------------

def test_in_lists_drops_repeats_and_keeps_the_first_seen_order():
    assert list(bulk.in_lists(["髙橋", "山﨑", "髙橋", "𠮷田", "山﨑"])) == [["髙橋", "山﨑", "𠮷田"]]
    assert list(bulk.in_lists([])) == []


def test_in_lists_cuts_the_values_into_lists_of_in_list_size():
    values = (n % 2000 for n in range(5000))  # any iterable, each value more than once
    lists = list(bulk.in_lists(values))
    assert [len(part) for part in lists] == [bulk.IN_LIST_SIZE, bulk.IN_LIST_SIZE, 2000 - 2 * bulk.IN_LIST_SIZE]
    assert [value for part in lists for value in part] == list(range(2000))
    assert [len(part) for part in bulk.in_lists(range(7), size=3)] == [3, 3, 1]
    assert bulk.IN_LIST_SIZE < 999  # SQLite's oldest limit of variables per statement


# --- filter_in -------------------------------------------------------------------------------------

@pytest.fixture
def many_jobs(make_company):
    """1,000 jobs at acme and the same external ids at globex."""
    acme, _key = make_company("acme")
    globex, _key = make_company("globex", name="グローベックス株式会社")
    return acme, jobs(acme, 1000), jobs(globex, 1000)


@pytest.mark.parametrize("wanted", [0, 1, 950, 1000])
def test_filter_in_finds_exactly_the_rows_with_those_values(many_jobs, wanted):
    acme, acme_jobs, _globex_jobs = many_jobs
    asked = [f"J-{n:04d}" for n in range(wanted)]
    # Repeats, and values no row has (among them ones that look like SQL): found nowhere.
    values = asked + asked[:10] + [f"X-{n}" for n in range(wanted)] + ["J-0001' OR '1'='1", "J-%", "求人1"]
    with CaptureQueriesContext(connection) as queries:
        found = [job.pk for query in bulk.filter_in(Job.objects.filter(company=acme), "external_id", values)
                 for job in query]

    assert sorted(found) == sorted(job.pk for job in acme_jobs[:wanted])
    unique = len(set(values))
    assert len(queries.captured_queries) == (1 if POSTGRES else math.ceil(unique / bulk.IN_LIST_SIZE))


def test_filter_in_with_no_values_runs_no_query(many_jobs, django_assert_num_queries):
    acme, _acme_jobs, _globex_jobs = many_jobs
    with django_assert_num_queries(0):
        assert list(bulk.filter_in(Job.objects.filter(company=acme), "external_id", iter([]))) == []


def test_filter_in_over_ids_and_relations(many_jobs):
    acme, acme_jobs, globex_jobs = many_jobs
    ids = [job.pk for job in acme_jobs[::2]] + [job.pk for job in globex_jobs[:5]]
    found = {job.pk for query in bulk.filter_in(Job.objects.filter(company=acme), "id", ids) for job in query}
    assert found == {job.pk for job in acme_jobs[::2]}

    person = candidate(acme, "yoshiko@example.jp")
    bulk.insert_objects(Candidate, [person])
    applications = [bulk.new_instance(Application, company_id=acme.pk, external_id=f"A-{n}", candidate_id=person.pk,
                                      job_id=job.pk) for n, job in enumerate(acme_jobs[:950])]
    bulk.insert_objects(Application, applications)
    wanted = [job.pk for job in acme_jobs[:920]] + [job.pk for job in acme_jobs[990:]]
    found = {a.external_id for query in bulk.filter_in(Application.objects.all(), "job", wanted) for a in query}
    assert found == {f"A-{n}" for n in range(920)}


def test_filter_in_by_pk(many_jobs):
    acme, acme_jobs, _globex_jobs = many_jobs
    ids = [job.pk for job in acme_jobs[:3]]
    assert sorted(job.pk for query in bulk.filter_in(Job.objects.all(), "pk", ids) for job in query) == ids


# --- insert_objects --------------------------------------------------------------------------------

def test_insert_objects_gives_each_object_its_new_primary_key_in_order(company):
    # More rows than one SQLite statement takes (at most 1,000 rows each).
    rows = jobs(company, 1234)
    assert all(job.pk is not None for job in rows)
    assert [job.pk for job in rows] == sorted(job.pk for job in rows)
    stored = dict(Job.objects.filter(company=company).values_list("pk", "external_id"))
    assert stored == {job.pk: job.external_id for job in rows}

    # Saved instances now: save() updates the row instead of inserting another one.
    rows[7].title = "求人7（改）"
    rows[7].save()
    assert Job.objects.filter(company=company).count() == 1234
    assert Job.objects.get(pk=rows[7].pk).title == "求人7（改）"


def test_insert_objects_fills_auto_now_and_auto_now_add(company):
    given = [Job(company=company, title="バックエンドエンジニア"), Job(company=company, title="法人営業")]
    bulk.insert_objects(Job, given, now=T0)
    assert {(job.created_at, job.updated_at) for job in Job.objects.filter(pk__in=[j.pk for j in given])} == {(T0, T0)}
    assert given[0].created_at == given[0].updated_at == T0

    before = timezone.now()
    default = Job(company=company, title="デザイナー")
    bulk.insert_objects(Job, [default])
    stored = Job.objects.get(pk=default.pk)
    assert before <= stored.created_at == stored.updated_at <= timezone.now()


def test_insert_objects_stores_every_kind_of_value(company):
    person = candidate(company, "yoshiko@example.jp")
    person.name_kana, person.phone, person.phone_e164 = "タカハシ ヨシコ", "090-1234-5678", "+819012345678"
    job = Job(company=company, external_id="J-'1", title="バックエンド\\エンジニア \"Go\"", category="")
    bulk.insert_objects(Candidate, [person])
    bulk.insert_objects(Job, [job])
    application = bulk.new_instance(
        Application, company_id=company.pk, external_id="A-1", candidate_id=person.pk, job_id=job.pk,
        status=ApplicationStatus.REJECTED, stage=Stage.FINAL_INTERVIEW, stage_raw="最終面接", stage_reached=50,
        rejection_reason="スキル不一致", status_changed_at=T0, rejected_at=T0.astimezone(ZoneInfo("UTC")),
        applied_at=T0 - timedelta(days=30), tags=["Python", "リーダー経験", "𠮷"])
    default = bulk.new_instance(Application, company_id=company.pk, external_id="A-2", candidate_id=person.pk,
                                job_id=job.pk)
    bulk.insert_objects(Application, [application, default])

    stored = Application.objects.select_related("candidate", "job").get(pk=application.pk)
    assert (stored.candidate.name, stored.candidate.name_kana, stored.candidate.phone_e164) == (
        "髙橋 𠮷子", "タカハシ ヨシコ", "+819012345678")
    assert (stored.job.external_id, stored.job.title) == ("J-'1", "バックエンド\\エンジニア \"Go\"")
    assert (stored.status, stored.stage, stored.stage_raw, stored.stage_reached, stored.rejection_reason) == (
        ApplicationStatus.REJECTED, Stage.FINAL_INTERVIEW, "最終面接", 50, "スキル不一致")
    assert (stored.status_changed_at, stored.rejected_at, stored.applied_at) == (T0, T0, T0 - timedelta(days=30))
    assert stored.tags == ["Python", "リーダー経験", "𠮷"]
    plain = Application.objects.get(pk=default.pk)
    assert (plain.status, plain.stage, plain.source, plain.tags, plain.rejected_at, plain.channel) == (
        ApplicationStatus.ACTIVE, Stage.UNKNOWN, "api", [], None, "")


def test_insert_objects_takes_the_ids_of_related_objects_assigned_while_unsaved(company):
    person = candidate(company, "kenta@example.jp", name="山﨑 健太")
    job = Job(company=company, title="データアナリスト")
    application = Application(company=company, external_id="A-1", candidate=person, job=job)
    assert application.candidate_id is None and application.job_id is None

    bulk.insert_objects(Candidate, [person])
    bulk.insert_objects(Job, [job])
    bulk.insert_objects(Application, [application])

    assert (application.candidate_id, application.job_id) == (person.pk, job.pk)
    stored = Application.objects.get(pk=application.pk)
    assert (stored.candidate_id, stored.job_id) == (person.pk, job.pk)


def test_insert_objects_raises_djangos_integrity_error_and_writes_nothing(company):
    bulk.insert_objects(Candidate, [candidate(company, "yoshiko@example.jp")])
    with pytest.raises(IntegrityError), transaction.atomic():
        bulk.insert_objects(Candidate, [candidate(company, "kenta@example.jp"), candidate(company, "yoshiko@example.jp")])
    assert list(Candidate.objects.values_list("email_key", flat=True)) == ["yoshiko@example.jp"]


def test_insert_objects_of_nothing_runs_no_query(django_assert_num_queries, db):
    with django_assert_num_queries(0):
        bulk.insert_objects(Job, [])
        bulk.insert_rows(Job, ["title"], iter([]))
        bulk.update_objects(Job, [], ["title"])


# --- insert_rows -----------------------------------------------------------------------------------

def test_insert_rows_inserts_plain_rows_in_the_fields_order(company):
    rows = ((company.pk, f"J-{n}", f"職種{n}", "エンジニア" if n % 2 else "", T0, T0 + timedelta(minutes=n))
            for n in range(1100))
    bulk.insert_rows(Job, ["company", "external_id", "title", "category", "created_at", "updated_at"], rows)

    stored = {job.external_id: job for job in Job.objects.filter(company=company)}
    assert len(stored) == 1100
    assert (stored["J-3"].title, stored["J-3"].category, stored["J-3"].created_at, stored["J-3"].updated_at) == (
        "職種3", "エンジニア", T0, T0 + timedelta(minutes=3))
    assert (stored["J-1099"].title, stored["J-1099"].category) == ("職種1099", "エンジニア")
    assert stored["J-4"].category == ""


# --- update_objects --------------------------------------------------------------------------------

def test_update_objects_writes_only_the_named_fields(company):
    first, second, untouched = jobs(company, 3)
    for job, title in ((first, "バックエンドエンジニア"), (second, "法人営業")):
        job.title, job.category, job.updated_at = title, "変更したが書かない", T0 + timedelta(days=1)

    bulk.update_objects(Job, [first, second], ["title"])

    stored = {job.pk: job for job in Job.objects.filter(company=company)}
    assert [(stored[j.pk].title, stored[j.pk].category, stored[j.pk].updated_at) for j in (first, second, untouched)] == [
        ("バックエンドエンジニア", "", T0), ("法人営業", "", T0), ("求人2", "", T0)]


def test_update_objects_writes_relations_datetimes_and_json(company):
    job = jobs(company, 1)[0]
    old = candidate(company, "yoshiko@example.jp")
    bulk.insert_objects(Candidate, [old])
    application = bulk.new_instance(Application, company_id=company.pk, external_id="A-1", candidate_id=old.pk,
                                    job_id=job.pk)
    bulk.insert_objects(Application, [application])

    # Moved to a person who is inserted only now, as TalentBatch.flush does it.
    new = candidate(company, "kenta@example.jp", name="山﨑 健太")
    application.candidate = new
    application.rejected_at, application.tags, application.status = T0, ["営業", "𠮷"], ApplicationStatus.REJECTED
    bulk.insert_objects(Candidate, [new])
    bulk.update_objects(Application, [application], ["candidate", "rejected_at", "tags", "status"])

    stored = Application.objects.get(pk=application.pk)
    assert (stored.candidate_id, stored.rejected_at, stored.tags, stored.status) == (
        new.pk, T0, ["営業", "𠮷"], ApplicationStatus.REJECTED)


# --- new_instance ----------------------------------------------------------------------------------

@pytest.mark.parametrize("model", [Job, Candidate, Application])
def test_new_instance_has_the_models_defaults(model):
    made, constructed = bulk.new_instance(model), model()
    assert {f.attname: getattr(made, f.attname) for f in model._meta.concrete_fields} == {
        f.attname: getattr(constructed, f.attname) for f in model._meta.concrete_fields}
    assert made.pk is None and made._state.adding


def test_new_instance_takes_the_values_given_and_calls_callable_defaults_per_instance(company):
    first = bulk.new_instance(Application, company_id=company.pk, external_id="A-1", source="csv")
    second = bulk.new_instance(Application, company_id=company.pk, external_id="A-2")
    assert (first.company_id, first.external_id, first.source, first.status, first.stage) == (
        company.pk, "A-1", "csv", ApplicationStatus.ACTIVE, Stage.UNKNOWN)
    assert first.company == company
    assert first.tags == second.tags == [] and first.tags is not second.tags
    first.tags.append("Python")
    assert second.tags == [] and bulk.new_instance(Application).tags == []


def test_a_new_instance_saves_like_a_constructed_one(company):
    job = bulk.new_instance(Job, company_id=company.pk, title="人事", category="管理部門")
    job.save()
    assert Job.objects.get(pk=job.pk).title == "人事"


def test_new_instance_goes_through_init_for_models_with_init_receivers(company):
    seen = []

    def receiver(sender, instance, **kwargs):
        seen.append(instance)

    signals.post_init.connect(receiver, sender=Job)
    try:
        job = bulk.new_instance(Job, company_id=company.pk, title="人事")
    finally:
        signals.post_init.disconnect(receiver, sender=Job)
    assert seen == [job]
    assert (job.company_id, job.title, job.category) == (company.pk, "人事", "")


def test_batch_writes_supported_where_multi_row_inserts_return_ids(monkeypatch):
    returning = POSTGRES or sqlite3.sqlite_version_info >= (3, 35)
    assert bulk.batch_writes_supported(Job) is returning

    monkeypatch.setattr(connection, "vendor", "mysql")
    assert bulk.batch_writes_supported(Job) is False
