"""Candidates that existed before the talent pool (talent 0004) become searchable: migrations 0005 (the
full-text index) and 0006 (the backfill of derived fields, automatic tags and tokens)."""

from datetime import UTC, datetime

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from tsunagu.companies.models import Company
from tsunagu.talent.models import Candidate, CandidateTag
from tsunagu.talent.search import PoolQuery, search_pool
from tsunagu.talent.stages import Stage

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

BEFORE = [("talent", "0004_talent_pool")]


def migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return MigrationExecutor(connection)._create_project_state(with_applied_migrations=True).apps


def latest():
    return MigrationExecutor(connection).loader.graph.leaf_nodes()


@pytest.fixture
def before():
    try:
        yield migrate(BEFORE)
    finally:
        migrate(latest())


def test_existing_candidates_are_backfilled_and_searchable(before):
    old = before
    company = old.get_model("companies", "Company").objects.create(slug="acme", name="株式会社アクメ")
    Job, Candidate_, Application = (old.get_model("talent", name) for name in ("Job", "Candidate", "Application"))
    job = Job.objects.create(company=company, title="バックエンドエンジニア", category="エンジニア")
    person = Candidate_.objects.create(company=company, name="髙橋 𠮷子", name_kana="タカハシ ヨシコ",
                                       email="yoshiko@example.jp", email_key="yoshiko@example.jp")
    Application.objects.create(company=company, external_id="A-1", candidate=person, job=job, status="rejected",
                               stage=Stage.FINAL_INTERVIEW, stage_reached=Stage.FINAL_INTERVIEW,
                               rejection_reason="経験不足", applied_at=datetime(2023, 5, 1, tzinfo=UTC),
                               rejected_at=datetime(2023, 6, 1, tzinfo=UTC))

    migrate(latest())

    acme = Company.objects.get(slug="acme")
    yoshiko = Candidate.objects.get(pk=person.pk)
    assert (yoshiko.stage_reached, yoshiko.pool_state, yoshiko.name_fold) == (
        Stage.FINAL_INTERVIEW, "rejected", "高橋吉子")
    assert sorted(CandidateTag.objects.filter(candidate=yoshiko).values_list("label", flat=True)) == [
        "2023年応募", "エンジニア", "最終面接まで", "経験不足"]
    for q in ("高橋", "たかはし", "エンジニア"):
        assert [c.pk for c in search_pool(acme, PoolQuery(q=q))] == [yoshiko.pk], q
