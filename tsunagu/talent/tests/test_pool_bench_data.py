"""The pool benchmark's bulk loader (bench.pool_data) stays in step with the schema and with the application:
what it writes is what refresh_pool_entries would write, and the people it writes are found by search_pool.

A few hundred people, so that the check is quick; the benchmark itself loads a million (`python -m bench pool`).
"""

from __future__ import annotations

import pytest

from bench.pool_data import load
from tsunagu.talent.actions.pool import DERIVED_FIELDS, refresh_pool_entries
from tsunagu.talent.models import Application, Candidate, CandidateTag, Job
from tsunagu.talent.search import PoolQuery, search_pool

PEOPLE = 300


def _snapshot(company):
    candidates = {row["pk"]: row for row in Candidate.objects.filter(company=company).values("pk", *DERIVED_FIELDS)}
    tags = set(CandidateTag.objects.filter(company=company).values_list("candidate_id", "kind", "key", "label",
                                                                      "automatic"))
    return candidates, tags


@pytest.fixture
def loaded(make_company):
    acme, _key = make_company("acme")
    globex, _key = make_company("globex", name="グローベックス株式会社")
    summary = load("acme", PEOPLE, quiet=True)
    other = load("globex", 50, seed=13, email_tag="b", quiet=True)
    return acme, globex, summary, other


def test_loads_what_the_application_would_write(loaded):
    acme, globex, summary, other = loaded
    assert Candidate.objects.filter(company=acme).count() == summary["candidates"] == PEOPLE
    assert Candidate.objects.filter(company=globex).count() == other["candidates"] == 50
    applications = Application.objects.filter(company=acme).count()
    assert applications == summary["applications"] and 2 * PEOPLE <= applications <= 3 * PEOPLE
    assert CandidateTag.objects.filter(company=acme).count() == summary["tags"]
    assert Job.objects.filter(company=acme, status="open").count() == len(summary["open_jobs"]) > 0
    # What it wrote is what the application derives: a refresh of everyone changes nothing.
    before = _snapshot(acme)
    refresh_pool_entries(acme, list(Candidate.objects.filter(company=acme).values_list("pk", flat=True)))
    after = _snapshot(acme)
    assert after[0] == before[0]
    assert after[1] == before[1]
    # The id sequences were moved past the ids the loader chose: the application can insert after it.
    assert Candidate.objects.create(company=acme, name="後から 追加", email="later@example.jp",
                                    email_key="later@example.jp").pk > other["candidate_ids"][1]


def test_generated_people_are_found_by_search(loaded):
    acme, globex, _summary, _other = loaded
    # The generated names and tags hold the cases the benchmark measures: 高橋 finds 髙橋 too, a reading in
    # hiragana finds katakana, a skill tag and free text match, an e-mail address is exact.
    takahashi = list(search_pool(acme, PoolQuery(q="高橋")))
    assert takahashi and all(c.name_fold.startswith("高橋") for c in takahashi)
    assert {c.company_id for c in takahashi} == {acme.pk}
    some = takahashi[0]
    assert some.pk in {c.pk for c in search_pool(acme, PoolQuery(q="たかはし"))} or not some.name_kana
    python = list(search_pool(acme, PoolQuery(tags=("Python",))))
    assert python and all(CandidateTag.objects.filter(candidate=c, key="python").exists() for c in python)
    assert search_pool(acme, PoolQuery(q="バックエンド開発")).exists()
    assert list(search_pool(acme, PoolQuery(q=some.email))) == [some]
    assert not search_pool(globex, PoolQuery(q=some.email)).exists()
