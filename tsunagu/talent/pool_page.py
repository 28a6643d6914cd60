"""One page of a talent pool search with its count and facet counts, in a bounded amount of work whatever the
size of the pool (the issue's goal: p95 <= 100 ms over a million people; see bench/pool_search.py).

How (talent.search gives the filters and the full-text groups; talent.fulltext the index):
1. Up to COUNT_LIMIT + 1 of the matches, a few columns each, read in the index's own order so that the
   reading stops with the limit (the full-text index's when there is a query or a tag, else the recency
   index).
2. When that is every match (COUNT_LIMIT or fewer), the count is exact and the page is sorted here, most
   recently applied first. Otherwise the page is a walk down the recency index checking each row against the
   match (a broad match fills a page within a few thousand rows) and the count says "more than"; pages
   reach the first COUNT_LIMIT matches (a narrower search reaches the rest).
3. The facets are counted over the first SAMPLE_SIZE of what step 1 read (all of them when fewer), which the
   page says.
Measured at 1,000,000 people on SQLite, 高橋 (34,000 matches): reading every match to sort it by recency took
77 ms; a sample of 1,000 4 ms, their tags' facet counts 19 ms (hence 500); the walk for one page 10 ms.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from dataclasses import dataclass, field

from django.core.cache import cache
from django.db import connections
from django.db.models import Count

from tsunagu.companies.models import Company
from tsunagu.lib.bulk import filter_in
from tsunagu.talent.fulltext import RecencyKey, newest_in_walk, newest_matches
from tsunagu.talent.models import Application, Candidate, CandidateTag
from tsunagu.talent.pool_query import PoolQuery
from tsunagu.talent.regions import PREFECTURE_NAMES
from tsunagu.talent.search import COUNT_LIMIT, filtered_rows
from tsunagu.talent.stages import Stage

# Facets are counted over at most this many matches (all of them when there are fewer).
SAMPLE_SIZE = 500
FACET_NAMES = ("tag", "skill", "stage", "region", "evaluation", "job_category")
FACET_VALUES = 15
LABEL_SECONDS = 600

Facets = dict[str, list[tuple[str, str, int]]]


@dataclass
class PoolPage:
    candidates: list[Candidate]  # the page, most recently applied first
    total: int  # how many match, counted up to COUNT_LIMIT
    exact: bool  # False: more than `total` match
    facets: Facets = field(default_factory=dict)
    facet_people: int = 0  # how many of the matches the facets were counted over


def search_page(company: Company, query: PoolQuery, *, offset: int = 0, limit: int = 50,
                facets: bool = False) -> PoolPage:
    """The page [offset, offset + limit) of the matches, the count, and (facets=True) the facet counts."""
    rows, groups = filtered_rows(company, query)
    if groups is None:
        return PoolPage([], 0, True, _empty_facets() if facets else {}, 0)
    # Rows of (pk, RecencyKey, stage_reached, region_code, evaluation).
    columns = ("stage_reached", "region_code", "evaluation")
    if groups:
        found = newest_matches(rows, groups, COUNT_LIMIT + 1, columns)
    else:
        found = list(rows.order_by("-last_applied_at", "-pk").annotate(recency_key=RecencyKey())
                     .values_list("pk", "recency_key", *columns)[:COUNT_LIMIT + 1])
    if len(found) <= COUNT_LIMIT:
        ordered = _most_recent_first(found, connections[rows.db].vendor)
        candidates = _in_order([row[0] for row in ordered[offset:offset + limit]])
        total, exact = len(found), True
    else:  # pages reach the first COUNT_LIMIT matches: a deep offset would walk the whole index
        stop = min(offset + limit, COUNT_LIMIT)
        candidates = newest_in_walk(rows, groups, offset, stop) if offset < stop else []
        total, exact = COUNT_LIMIT, False
    sample = found[:SAMPLE_SIZE]
    return PoolPage(candidates, total, exact, facet_counts_of(company, sample) if facets else {}, len(sample))


def facet_counts(company: Company, query: PoolQuery, *, limit: int = FACET_VALUES) -> Facets:
    """The facet counts of a search alone (see search_page), at most `limit` values each."""
    facets = search_page(company, query, limit=0, facets=True).facets
    return {name: values[:limit] for name, values in facets.items()}


def _most_recent_first(sample: list[tuple], vendor: str) -> list[tuple]:
    """Sorted as the database sorts `ORDER BY last_applied_at DESC, id DESC` (by the RecencyKey in each row's
    second place): PostgreSQL puts a missing date first, SQLite last."""
    missing_first = vendor == "postgresql"
    dated = sorted((row for row in sample if row[1] is not None), key=lambda row: (row[1], row[0]), reverse=True)
    undated = sorted((row for row in sample if row[1] is None), key=lambda row: row[0], reverse=True)
    return undated + dated if missing_first else dated + undated


def _in_order(ids: list[int]) -> list[Candidate]:
    found = Candidate.objects.in_bulk(ids) if ids else {}
    return [found[pk] for pk in ids if pk in found]


def _empty_facets() -> Facets:
    return {name: [] for name in FACET_NAMES}


def facet_counts_of(company: Company, sample: list[tuple]) -> Facets:
    """For each facet, its FACET_VALUES most frequent values among the sampled people (rows of pk, recency key,
    stage_reached, region_code, evaluation) as (value to filter by, label, people)."""
    ids = [row[0] for row in sample]
    counters: dict[str, Counter] = {name: Counter() for name in FACET_NAMES}
    for _pk, _applied, stage, region, evaluation in sample:
        counters["stage"][stage] += 1
        counters["region"][region] += 1
        counters["evaluation"][evaluation] += 1
    counters["stage"].pop(Stage.UNKNOWN, None)
    counters["region"].pop("", None)
    counters["evaluation"].pop("", None)
    # (candidate, kind, key) is unique and indexed: counted from the index alone, one row back per value.
    tags = CandidateTag.objects.values("kind", "key").annotate(people=Count("pk")).order_by()
    for part in filter_in(tags, "candidate_id", ids):
        for row in part:
            counters[row["kind"]][row["key"]] += row["people"]
    categories = (Application.objects.filter(company=company).exclude(job__category="")
                  .values("job__category").annotate(people=Count("candidate_id", distinct=True)).order_by())
    for part in filter_in(categories, "candidate_id", ids):
        for row in part:
            counters["job_category"][row["job__category"]] += row["people"]

    def top(counter: Counter, *, order=None) -> list[tuple]:
        ranked = sorted(((item, count) for item, count in counter.items() if count),
                        key=order or (lambda pair: (-pair[1], str(pair[0]))))
        return ranked[:FACET_VALUES]

    tops = {name: top(counters[name]) for name in ("tag", "skill")}
    labels = _tag_labels(company, {(kind, key) for kind in tops for key, _count in tops[kind]})

    def tag_facet(kind: str) -> list[tuple[str, str, int]]:
        # A tag's value is its label (what a filter takes and a link shows).
        return [(labels[(kind, key)], labels[(kind, key)], count) for key, count in tops[kind]]

    return {
        "tag": tag_facet("tag"),
        "skill": tag_facet("skill"),
        "stage": [(str(stage), str(Stage(stage).label), count)
                  for stage, count in top(counters["stage"], order=lambda pair: -pair[0])],
        "region": [(code, PREFECTURE_NAMES.get(code, code), count) for code, count in top(counters["region"])],
        "evaluation": [(value, value, count) for value, count in top(counters["evaluation"])],
        "job_category": [(value, value, count) for value, count in top(counters["job_category"])],
    }


def _tag_labels(company: Company, wanted: set[tuple[str, str]]) -> dict[tuple[str, str], str]:
    """A label for each (kind, key): keys fold case and 異体字, so the labels of one key may differ and any of
    them names it. One indexed row per key, kept LABEL_SECONDS per process (a page asks for the same ~30
    most frequent tags again and again; 30 queries were ~10 ms of it)."""
    prefix = f"tsunagu:tag-label:{company.pk}:{company.created_at.timestamp()}"
    names = {pair: f"{prefix}:{hashlib.sha1(f'{pair[0]}:{pair[1]}'.encode()).hexdigest()}" for pair in wanted}
    cached = cache.get_many(list(names.values()))
    labels = {pair: cached[name] for pair, name in names.items() if name in cached}
    missing = {}
    for kind, key in wanted - set(labels):
        missing[(kind, key)] = next(iter(CandidateTag.objects.filter(company=company, key=key, kind=kind)
                                         .order_by().values_list("label", flat=True)[:1]), key)
    if missing:
        cache.set_many({names[pair]: label for pair, label in missing.items()}, LABEL_SECONDS)
    return labels | missing
