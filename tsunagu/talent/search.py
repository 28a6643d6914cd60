"""Searching the talent pool: one query box and filters (PoolQuery) over a company's candidates, the facet
counts beside the results, and why each result matched.

A query is split on white space; every word must match (AND). A word with "@" is an e-mail address, matched
exactly (normalised); a word that reads as a phone number is matched exactly in E.164; any other word goes
through the full-text index (talent.fulltext) as the alternatives talent.search_index gives for it (OR).

"contactable" means: HR has not marked the person "do not contact" and there is an e-mail address. Whether
the address is suppressed (unsubscribed, bounced) is the messaging app's knowledge, which this lower layer
cannot read: messaging callers (campaigns, invitations) apply suppression themselves when they send.
"""

from __future__ import annotations

from collections import Counter
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.db.models import Count, Min, Q, QuerySet

from tsunagu.companies.models import Company
from tsunagu.lib.bulk import filter_in
from tsunagu.talent.fulltext import TokensMatch, clean_groups
from tsunagu.talent.models import Application, Candidate, CandidateTag, TagKind
from tsunagu.talent.pool_query import PoolQuery, query_words, tag_key
from tsunagu.talent.regions import PREFECTURE_NAMES
from tsunagu.talent.search_index import tag_token
from tsunagu.talent.search_reasons import match_reasons
from tsunagu.talent.stages import Stage

__all__ = ["PoolQuery", "search_pool", "facet_counts", "match_reasons", "candidates_matching", "query_words",
           "count_matches", "COUNT_LIMIT"]

# Facets are counted over at most this many of the most recent matches: a bound on the work of one page view
# whatever the size of the pool (beyond it, the counts are those of the most recent matches, and the page says
# so). Measured on SQLite with 200,000 people, 高橋: 5,000 took 266 ms, 2,000 took 100 ms.
FACET_SCAN_LIMIT = 2_000
FACET_NAMES = ("tag", "skill", "stage", "region", "evaluation", "job_category")
# Matches are counted up to this many: past it a page says "10,000人以上" (counting all the people a broad
# filter matches in a pool of a million is most of the cost of a page, for a figure nobody reads exactly).
COUNT_LIMIT = 10_000


def count_matches(rows: QuerySet[Candidate], limit: int = COUNT_LIMIT) -> tuple[int, bool]:
    """How many rows match, up to `limit`, and whether that is the exact number."""
    counted = rows.order_by()[:limit + 1].count()
    return min(counted, limit), counted <= limit


def search_pool(company: Company, query: PoolQuery) -> QuerySet[Candidate]:
    """The company's candidates matching `query`, most recently applied first. Merged records never appear."""
    rows = Candidate.objects.filter(company=company, merged_into__isnull=True)
    if query.q:
        words = query_words(query.q)
        if not words:  # only punctuation or particles: nothing to look for, so nothing is found
            return rows.none()
        groups = []
        for kind, value, _word in words:
            if kind == "email":
                rows = rows.filter(email_key=value)
            elif kind == "phone":
                rows = rows.filter(phone_e164=value)
            else:
                groups.append(value)
    else:
        groups = []
    # Tags and skills are tokens of the document too (search_index.tag_token): each is one more term of the
    # same full-text match, intersected by the index (measured at 1,000,000 people, the list of everyone with
    # a common tag built for each request cost ~170 ms).
    groups += [[[tag_token(tag_key(tag))]] for tag in query.tags]
    if groups:
        rows = rows.filter(TokensMatch(groups))
    rows = _filtered(company, rows, query)
    return rows.order_by("-last_applied_at", "-pk")


def candidates_matching(company: Company, token_sets: list[list[str]]) -> QuerySet[Candidate]:
    """The company's (unmerged) candidates whose tokens hold all tokens of any of `token_sets`."""
    groups = clean_groups([token_sets])
    rows = Candidate.objects.filter(company=company, merged_into__isnull=True)
    return rows.filter(TokensMatch(groups)) if groups else rows.none()


def _day_start(day: date, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, time.min, tzinfo=zone)


def _filtered(company: Company, rows: QuerySet[Candidate], query: PoolQuery) -> QuerySet[Candidate]:
    if query.stage_at_least:
        rows = rows.filter(stage_reached__gte=query.stage_at_least)
    if query.evaluation:
        rows = rows.filter(evaluation=query.evaluation)
    if query.region in PREFECTURE_NAMES:
        rows = rows.filter(region_code=query.region)
    elif query.region:
        rows = rows.filter(region_text__icontains=query.region)
    if query.job_category:
        rows = rows.filter(pk__in=Application.objects.filter(
            company=company, job__category=query.job_category).values("candidate_id"))
    if query.rejection_reason:
        rows = rows.filter(pk__in=Application.objects.filter(
            company=company, rejection_reason__icontains=query.rejection_reason).values("candidate_id"))
    if query.state:
        rows = rows.filter(pool_state=query.state)
    zone = ZoneInfo(company.time_zone or "Asia/Tokyo")
    for field, start, end in (("last_rejected_at", query.rejected_from, query.rejected_to),
                              ("last_applied_at", query.applied_from, query.applied_to)):
        if start:
            rows = rows.filter(**{f"{field}__gte": _day_start(start, zone)})
        if end:
            rows = rows.filter(**{f"{field}__lt": _day_start(end + timedelta(days=1), zone)})
    if query.contactable is True:
        rows = rows.filter(contact_allowed=True).exclude(email_key="")
    elif query.contactable is False:
        rows = rows.filter(Q(contact_allowed=False) | Q(email_key=""))
    return rows


def facet_counts(company: Company, query: PoolQuery, *, limit: int = 15) -> dict[str, list[tuple[str, str, int]]]:
    """For each facet ("tag", "skill", "stage", "region", "evaluation", "job_category"): its most frequent
    values among the matches, as (value to filter by, label, number of people), most frequent first.

    Counted over the FACET_SCAN_LIMIT most recent matches (all of them when there are fewer): their ids are
    read once, then their tags, fields and applications by primary or foreign key, a few queries per 900."""
    ids = list(search_pool(company, query).values_list("pk", flat=True)[:FACET_SCAN_LIMIT])
    counters: dict[str, Counter] = {name: Counter() for name in FACET_NAMES}
    labels: dict[tuple[str, str], str] = {}
    # Counted by the database a chunk of ids at a time (GROUP BY): what comes back is one row per value, not
    # one per tag of every person.
    tags = (CandidateTag.objects.filter(company=company).values("kind", "key")
            .annotate(people=Count("pk"), label=Min("label")).order_by())
    for part in filter_in(tags, "candidate_id", ids):
        for row in part:
            counters[row["kind"]][row["key"]] += row["people"]  # (candidate, kind, key) is unique
            labels.setdefault((row["kind"], row["key"]), row["label"])
    for field, name in (("stage_reached", "stage"), ("region_code", "region"), ("evaluation", "evaluation")):
        values = Candidate.objects.values(field).annotate(people=Count("pk")).order_by()
        for part in filter_in(values, "pk", ids):
            for row in part:
                counters[name][row[field]] += row["people"]
    counters["stage"].pop(Stage.UNKNOWN, None)
    counters["region"].pop("", None)
    counters["evaluation"].pop("", None)
    categories = (Application.objects.filter(company=company).exclude(job__category="")
                  .values("job__category").annotate(people=Count("candidate_id", distinct=True)).order_by())
    for part in filter_in(categories, "candidate_id", ids):
        for row in part:
            counters["job_category"][row["job__category"]] += row["people"]

    def top(counter: Counter, label, *, value=str, order=None) -> list[tuple[str, str, int]]:
        ranked = sorted(((item, count) for item, count in counter.items() if count),
                        key=order or (lambda pair: (-pair[1], str(pair[0]))))
        return [(value(item), label(item), count) for item, count in ranked[:limit]]

    def tag_label(kind: str):
        return lambda key: labels[(kind, key)]

    return {
        # A tag's value is its label (what a filter takes and a link shows).
        "tag": top(counters["tag"], tag_label("tag"), value=tag_label("tag")),
        "skill": top(counters["skill"], tag_label("skill"), value=tag_label("skill")),
        "stage": top(counters["stage"], lambda stage: str(Stage(stage).label), order=lambda pair: -pair[0]),
        "region": top(counters["region"], lambda code: PREFECTURE_NAMES.get(code, code)),
        "evaluation": top(counters["evaluation"], str),
        "job_category": top(counters["job_category"], str),
    }


def stage_choices() -> list[tuple[int, str]]:
    """The stages "reached at least" can name, earliest first (for forms)."""
    return [(stage.value, str(stage.label)) for stage in Stage if stage >= Stage.DOCUMENT_SCREENING]


def tag_counts(company: Company, *, kind: str = TagKind.TAG, limit: int = 50) -> list[tuple[str, int]]:
    """The company's most used tags (or skills) with their number of people (for suggestions)."""
    rows = (CandidateTag.objects.filter(company=company, kind=kind).values("key")
            .annotate(count=Count("candidate")).order_by("-count", "key")[:limit])
    counts = Counter({row["key"]: row["count"] for row in rows})
    labels = dict(CandidateTag.objects.filter(company=company, kind=kind, key__in=list(counts))
                  .values_list("key", "label"))
    return [(labels.get(key, key), count) for key, count in counts.most_common()]

