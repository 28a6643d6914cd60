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

from django.db.models import Count, Q, QuerySet

from tsunagu.companies.models import Company
from tsunagu.talent.fulltext import TokensMatch, clean_groups
from tsunagu.talent.models import Application, Candidate, CandidateTag, TagKind
from tsunagu.talent.pool_query import PoolQuery, query_words, tag_key
from tsunagu.talent.regions import PREFECTURE_NAMES
from tsunagu.talent.search_index import tag_token
from tsunagu.talent.search_reasons import match_reasons
from tsunagu.talent.stages import Stage

__all__ = ["PoolQuery", "search_pool", "filtered_rows", "match_reasons", "candidates_matching", "query_words",
           "count_matches", "COUNT_LIMIT"]

# Matches are counted up to this many: past it a page says "1,000人以上" (counting all the people a broad
# filter matches in a pool of a million is most of the cost of a page, for a figure nobody reads exactly;
# measured at 1,000,000 people, 高橋 on SQLite: up to 10,000 took 26 ms, up to 2,000 7 ms; on PostgreSQL each
# row counted is a tsvector checked again, ~10 µs).
COUNT_LIMIT = 1_000


def count_matches(rows: QuerySet[Candidate], limit: int = COUNT_LIMIT) -> tuple[int, bool]:
    """How many rows match, up to `limit`, and whether that is the exact number."""
    counted = rows.order_by()[:limit + 1].count()
    return min(counted, limit), counted <= limit


def search_pool(company: Company, query: PoolQuery) -> QuerySet[Candidate]:
    """The company's candidates matching `query`, most recently applied first. Merged records never appear."""
    rows, groups = filtered_rows(company, query)
    if groups is None:
        return rows.none()
    if groups:
        rows = rows.filter(TokensMatch(groups))
    return rows.order_by("-last_applied_at", "-pk")


def filtered_rows(company: Company, query: PoolQuery) -> tuple[QuerySet[Candidate], list | None]:
    """The company's unmerged candidates passing every filter of `query` but the full-text one, unordered, and
    the full-text groups they must also match (talent.fulltext; empty: no full-text condition; None: the
    query box held nothing to look for, so nothing is found)."""
    rows = Candidate.objects.filter(company=company, merged_into__isnull=True, erased_at__isnull=True)
    groups = []
    if query.q:
        words = query_words(query.q)
        if not words:  # only punctuation or particles
            return rows.none(), None
        for kind, value, _word in words:
            if kind == "email":
                rows = rows.filter(email_key=value)
            elif kind == "phone":
                rows = rows.filter(phone_e164=value)
            else:
                groups.append(value)
    # Tags and skills are tokens of the document too (search_index.tag_token): each is one more term of the
    # same full-text match, intersected by the index (measured at 1,000,000 people, the list of everyone with
    # a common tag built for each request cost ~170 ms).
    groups += [[[tag_token(tag_key(tag))]] for tag in query.tags]
    return _filtered(company, rows, query), groups


def candidates_matching(company: Company, token_sets: list[list[str]]) -> QuerySet[Candidate]:
    """The company's (unmerged) candidates whose tokens hold all tokens of any of `token_sets`."""
    groups = clean_groups([token_sets])
    rows = Candidate.objects.filter(company=company, merged_into__isnull=True, erased_at__isnull=True)
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

