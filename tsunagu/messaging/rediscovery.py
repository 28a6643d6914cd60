"""Rediscovery: past candidates worth inviting to a job that opened, best first, each with the reasons.

Lives in messaging because who may be listed depends on messaging's suppression list; it reads talent's tables.

How the shortlist is made (every step bounded, whatever the pool's size):
1. The job's tokens (talent.search_index: SudachiPy normalised forms of its title, category and
   requirements first, then the description; single characters and numbers dropped), at most
   MAX_QUERY_TOKENS, and for each how many of the company's candidates hold it (df): one full-text index
   query per token that stops counting at DF_PROBE (such a token is "common"), kept for a few minutes.
2. Who is scored, found by two bounded queries each led by its own index, both minus everyone never listed
   (below), in SQL:
   - people holding one of the telling tokens (not common; the MAX_FINDING_TOKENS rarest, and no more than
     together hold FINDING_PEOPLE people; when every token is common, the COMMON_FALLBACK_TOKENS rarest):
     the newest 2 × SAMPLE_SIZE by id from the full-text index, then the SAMPLE_SIZE most recent
     applicants of those;
   - the CATEGORY_SAMPLE_SIZE people most recently rejected from a job of the same category (a walk down
     the rejections index).
   Their union, at most SAMPLE_SIZE by recency, is scored. People matching only common tokens, outside the
   category, may be missed: they would score low on text anyway.
3. Scored in Python, a sum of points, each component a reason shown to HR:
   - text (up to W_TEXT): BM25 (k1=1.2, b=0.75) of all the job's tokens over the person's search_tokens
     (each token counted once: the document is a set). IDF = ln(1 + (N - df + 0.5) / (df + 0.5)), N the
     pool's size (pool_size: exact up to POOL_COUNT_CAP, above it counted once per POOL_SIZE_SECONDS), df
     from step 1; a common token's df is its share of the scored sample times N (at least DF_PROBE), an
     estimate that errs high (the sample leans towards people like the job). BM25 is then mapped onto
     0..W_TEXT by bm25 / (bm25 + 2 × mean IDF of the job's tokens): matching about two typical tokens gives
     half.
   - same category (W_CATEGORY): an earlier application to a job of the same 職種カテゴリ.
   - stage reached (STAGE_POINTS): 最終面接 and 内定 above 二次 above 一次 above 書類.
   - evaluation (EVALUATION_POINTS): the company's own rating in the usual notations (see evaluation_points).
   - recency (up to W_RECENCY): halves every RECENCY_HALF_LIFE_YEARS since the last application.

Never listed: hired or in selection (pool_state), merged into another record, HR's "do not
contact" (contact_allowed False), no e-mail address, on the suppression list (unsubscribed, bounced,
complained, stopped by HR), or past the company's retention period (last rejected, or when never rejected
last applied, more than retention_days ago).
"""

from __future__ import annotations

import hashlib
import math
from datetime import datetime, timedelta

from django.core.cache import cache
from django.db import connections, router
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from tsunagu.lib.bulk import filter_in
from tsunagu.messaging.models import Suppression
from tsunagu.talent.fulltext import FTS_TABLE, fts5_expression, planner_without
from tsunagu.talent.models import (
    Application,
    ApplicationStatus,
    Candidate,
    CandidateTag,
    Job,
    PoolState,
    TagKind,
)
from tsunagu.talent.normalize import nfkc
from tsunagu.talent.search import candidates_matching
from tsunagu.talent.search_index import text_tokens
from tsunagu.talent.stages import Stage

MAX_QUERY_TOKENS = 24
SAMPLE_SIZE = 2000
# Of whom at most this many are found by the category alone (a walk down the rejections index).
CATEGORY_SAMPLE_SIZE = 500
# A category with more jobs than this is looked up through its first this many (a bound on the IN list).
MAX_CATEGORY_JOBS = 500
# A token held by this many of the company's candidates is "common": counted no further, and not used to find
# people (they are found by the telling tokens and the category; common tokens still score).
DF_PROBE = 2000
# The rarest this many telling tokens find people (their matches are read whole).
MAX_FINDING_TOKENS = 12
# ... and only as many of those as together hold at most this many people (the first always): every one of
# them is read to find the newest (on PostgreSQL, 12 tokens holding ~20,000 took 147 ms at 1,000,000 people).
FINDING_PEOPLE = 4 * SAMPLE_SIZE
# When every token of the job is common, the people holding the rarest few are looked at.
COMMON_FALLBACK_TOKENS = 3
POOL_COUNT_CAP = 100_000
POOL_SIZE_SECONDS = 600
K1, B = 1.2, 0.75

W_TEXT = 50.0
W_CATEGORY = 15.0
W_RECENCY = 10.0
RECENCY_HALF_LIFE_YEARS = 2.0
STAGE_POINTS = {
    Stage.OFFER: 20.0, Stage.FINAL_INTERVIEW: 20.0, Stage.SECOND_INTERVIEW: 14.0, Stage.FIRST_INTERVIEW: 9.0,
    Stage.TEST: 5.0, Stage.DOCUMENT_SCREENING: 3.0, Stage.APPLIED: 1.0,
}
# The evaluation's first character (NFKC, upper case) -> points. Letters (S/A/B/C/D), marks (◎○△×), 高/中/低
# and numbers on a 1-5 scale (5 best). Anything else scores nothing (and gives no reason).
EVALUATION_POINTS = {
    "S": 10.0, "A": 10.0, "◎": 10.0, "高": 10.0, "5": 10.0,
    "B": 6.0, "○": 6.0, "〇": 6.0, "中": 6.0, "4": 6.0,
    "C": 2.0, "△": 2.0, "低": 2.0, "3": 2.0,
}
# Reasons list at most this many matched words each.
REASON_WORDS = 5


def never_listed_filter(company, now: datetime) -> Q:
    """Who may be listed: everyone but the never listed (see the module's text), as one Q."""
    cutoff = now - timedelta(days=company.retention_days)
    within_retention = (Q(last_rejected_at__gte=cutoff)
                        | Q(last_rejected_at__isnull=True, last_applied_at__gte=cutoff)
                        | Q(last_rejected_at__isnull=True, last_applied_at__isnull=True))
    return (Q(merged_into__isnull=True, contact_allowed=True) & ~Q(email="")
            & ~Q(pool_state__in=[PoolState.HIRED, PoolState.IN_SELECTION])
            & within_retention)


def job_query_tokens(job: Job) -> list[str]:
    """The job's tokens, the most telling first: title, category and requirements, then description. Single
    characters and bare numbers are dropped: they say little, and a single kanji would match people's name
    grams (部 in 阿部), which share the document."""
    ordered: list[str] = []
    for text in (job.title, job.category, job.requirements, job.description):
        for token in text_tokens(text or ""):
            if token in ordered or token.isdigit() or len(token) == 1:
                continue
            ordered.append(token)
    return ordered[:MAX_QUERY_TOKENS]


def _category_key(text: str) -> str:
    return nfkc(text or "").strip().casefold()


def evaluation_points(evaluation: str) -> float:
    folded = nfkc(evaluation or "").strip().upper()
    return EVALUATION_POINTS.get(folded[:1], 0.0) if folded else 0.0


def _listable(company, rows, now: datetime):
    """`rows` (the company's candidates) without the never listed, in SQL."""
    suppressed = Suppression.objects.filter(company=company, email_key=OuterRef("email_key"))
    return rows.filter(never_listed_filter(company, now)).filter(~Exists(suppressed))


def _recent_ids(rows, limit: int = SAMPLE_SIZE) -> list[int]:
    return list(rows.order_by("-last_applied_at", "-pk").values_list("pk", flat=True)[:limit])


def _cache_prefix(company) -> str:
    # With the company's creation time: a test database reuses ids.
    return f"tsunagu:rediscovery:{company.pk}:{company.created_at.timestamp()}"


def document_frequencies(company, tokens: list[str]) -> dict[str, int]:
    """How many of the company's candidates hold each token: one index query per token, counting at most
    DF_PROBE (a count that reaches it means "common", and its exact size matters little to IDF). Kept for
    POOL_SIZE_SECONDS per process: a pool's word counts hardly move in minutes, and HR reloads a shortlist."""
    keys = {token: f"{_cache_prefix(company)}:df:{hashlib.sha1(token.encode()).hexdigest()}" for token in tokens}
    cached = cache.get_many(list(keys.values()))
    counts = {token: cached[key] for token, key in keys.items() if key in cached}
    missing = {token: _count_holding(company, token) for token in tokens if token not in counts}
    if missing:
        cache.set_many({keys[token]: count for token, count in missing.items()}, POOL_SIZE_SECONDS)
    return counts | missing


def _count_holding(company, token: str) -> int:
    database = connections[router.db_for_read(Candidate)]
    if database.vendor == "sqlite":
        # Led by the FTS5 table, so the count stops at DF_PROBE; the ORM's `id IN (SELECT rowid ...)` would
        # first read every match (SQLite materialises the subquery).
        table = Candidate._meta.db_table
        with database.cursor() as cursor:
            cursor.execute(f"SELECT count(*) FROM (SELECT 1 FROM {FTS_TABLE} JOIN {table} c "
                           f"ON c.id = {FTS_TABLE}.rowid WHERE {FTS_TABLE} MATCH %s AND c.company_id = %s "
                           f"AND c.merged_into_id IS NULL LIMIT %s)",
                           [fts5_expression([[[token]]]), company.pk, DF_PROBE])
            return cursor.fetchone()[0]
    # PostgreSQL: the GIN bitmap is built whole (cheap), and the LIMIT stops the row checks.
    return candidates_matching(company, [[token]]).values("pk")[:DF_PROBE].count()


def _holding_ids(company, tokens: list[str], *, rare: bool) -> list[int]:
    """Ids of the company's newest (by id) 2 × SAMPLE_SIZE candidates holding any of `tokens`: led by the
    full-text index and stopped by the limit, however common the tokens (the never listed are removed after,
    hence twice the sample). `rare`: each token is held by fewer than DF_PROBE people (on PostgreSQL, common
    tokens give the first found rather than the newest)."""
    limit = 2 * SAMPLE_SIZE
    database = connections[router.db_for_read(Candidate)]
    if database.vendor == "sqlite":
        table = Candidate._meta.db_table
        with database.cursor() as cursor:
            cursor.execute(f"SELECT c.id FROM {FTS_TABLE} JOIN {table} c ON c.id = {FTS_TABLE}.rowid "
                           f"WHERE {FTS_TABLE} MATCH %s AND c.company_id = %s AND c.merged_into_id IS NULL "
                           f"ORDER BY {FTS_TABLE}.rowid DESC LIMIT %s",
                           [fts5_expression([[[token] for token in tokens]]), company.pk, limit])
            return [row[0] for row in cursor.fetchall()]
    matching = candidates_matching(company, [[token] for token in tokens]).values_list("pk", flat=True)
    # Read from the GIN bitmap, whatever the planner guesses: for `ORDER BY id DESC LIMIT` it walked the
    # primary key checking every row (98,625 rows read for 4,000 found, 316 ms, measured at 1,000,000
    # people), and without an order it scanned the table (420 ms). Rare tokens are read whole and sorted;
    # when every token is common, the first found in the bitmap's (physical) order are taken.
    with planner_without(database, "enable_indexscan", "enable_seqscan"):
        return list((matching.order_by("-pk") if rare else matching.order_by())[:limit])


def pool_size(company) -> int:
    """The company's pool (unmerged candidates) for IDF. Counted exactly up to POOL_COUNT_CAP; a larger pool
    is counted once every POOL_SIZE_SECONDS per process (a count over a million rows costs more than the
    rest of the ranking, and IDF hardly moves in ten minutes)."""
    key = f"{_cache_prefix(company)}:pool-size"
    cached = cache.get(key)
    if cached is not None:
        return cached
    rows = Candidate.objects.filter(company=company, merged_into__isnull=True, erased_at__isnull=True)
    size = rows.values("pk")[:POOL_COUNT_CAP].count()
    if size >= POOL_COUNT_CAP:
        size = rows.count()
        cache.set(key, size, POOL_SIZE_SECONDS)
    return size


def _within(people: int, tokens: list[str], df: dict[str, int]) -> list[str]:
    """The first of `tokens` (rarest first) while together they hold at most `people` (at least one)."""
    kept, total = [], 0
    for token in tokens:
        total += df.get(token, 0)
        if kept and total > people:
            break
        kept.append(token)
    return kept


def _sample(job: Job, tokens: list[str], df: dict[str, int], now: datetime) -> list[tuple]:
    """Who is scored, as (pk, search_tokens, stage_reached, evaluation, last_applied_at, same_category) rows:
    the most recent SAMPLE_SIZE holding a telling token of the job (df below DF_PROBE; when every token is
    common, the few rarest), and the CATEGORY_SAMPLE_SIZE most recently rejected from a job of the same
    category. Two bounded queries, each led by its own index (the full-text index; the rejections index),
    rather than one OR the database could only answer by reading everything."""
    company = job.company
    by_rarity = sorted(tokens, key=lambda token: df.get(token, 0))
    telling = _within(FINDING_PEOPLE, [token for token in by_rarity if 0 < df.get(token, 0) < DF_PROBE]
                      [:MAX_FINDING_TOKENS], df)
    rare = bool(telling)
    telling = telling or [token for token in by_rarity if df.get(token, 0) >= DF_PROBE][:COMMON_FALLBACK_TOKENS]
    # Tokens nobody held when last counted are looked up too (cheaply): the counts are kept a few minutes.
    telling += [token for token in tokens if not df.get(token, 0)]
    holding = _holding_ids(company, telling, rare=rare) if telling else []
    matching = [pk for part in filter_in(_listable(company, Candidate.objects.all(), now), "pk", holding)
                for pk in _recent_ids(part)]
    category_jobs = list(Job.objects.filter(company=company, category=job.category).values_list("pk", flat=True)
                         [:MAX_CATEGORY_JOBS]) if job.category else []
    same_category = _recently_rejected_in(company, category_jobs, now) if category_jobs else []
    ids = set(matching) | set(same_category)
    if not ids:
        return []
    # Who applied in the category, read by candidate (their index) for these few: as a correlated EXISTS on
    # the rows below, PostgreSQL hashed every application of the company (412 ms at 2,500,000).
    in_category_ids = set(same_category)
    if category_jobs:
        applications = Application.objects.filter(job_id__in=category_jobs).values_list("candidate_id", flat=True)
        for part in filter_in(applications, "candidate_id", ids - in_category_ids):
            in_category_ids.update(part)
    rows = []
    for part in filter_in(Candidate.objects.all(), "pk", ids):
        rows += part.values_list("pk", "search_tokens", "stage_reached", "evaluation", "last_applied_at")
    rows.sort(key=lambda row: (row[4] is not None, row[4] or now, row[0]), reverse=True)
    return [(*row, row[0] in in_category_ids) for row in rows[:SAMPLE_SIZE]]


def _recently_rejected_in(company, job_ids: list[int], now: datetime) -> list[int]:
    """The CATEGORY_SAMPLE_SIZE listable candidates most recently rejected from one of these jobs: a walk
    down the rejections index (company, status, rejected_at) with the job checked on each row. Checking
    each candidate for an application in the category instead cost a join per row (300 ms on PostgreSQL at
    1,000,000 people)."""
    rejected = (Application.objects.filter(company=company, status=ApplicationStatus.REJECTED, job_id__in=job_ids)
                .order_by("-rejected_at").values_list("candidate_id", flat=True)[:2 * CATEGORY_SAMPLE_SIZE])
    candidate_ids = list(dict.fromkeys(rejected))  # most recently rejected first
    listable = {pk for part in filter_in(_listable(company, Candidate.objects.all(), now), "pk", candidate_ids)
                for pk in part.values_list("pk", flat=True)}
    return [pk for pk in candidate_ids if pk in listable][:CATEGORY_SAMPLE_SIZE]


def rank_for_job(job: Job, *, limit: int = 50, now: datetime | None = None) -> list[tuple[Candidate, float, list[str]]]:
    """The job's shortlist: (candidate, score, reasons), best first, at most `limit`."""
    now = now or timezone.now()
    company = job.company
    tokens = job_query_tokens(job)
    df = document_frequencies(company, tokens)
    sample = _sample(job, tokens, df, now)
    if not sample:
        return []
    documents = {row[0]: set(row[1].split()) for row in sample}
    pool = pool_size(company)
    idf = _idf(tokens, _estimate_common(df, documents.values(), pool), pool)
    average_length = sum(len(d) for d in documents.values()) / len(documents) or 1.0
    half = 2 * (sum(idf.values()) / len(idf)) if idf else 1.0
    scored = []
    for pk, _tokens, stage_reached, evaluation, last_applied_at, same_category in sample:
        document = documents[pk]
        matched = [token for token in tokens if token in document]
        norm = K1 * (1 - B + B * len(document) / average_length)
        bm25 = sum(idf[token] * (K1 + 1) / (1 + norm) for token in matched)
        parts = {
            "text": W_TEXT * bm25 / (bm25 + half) if bm25 else 0.0,
            "category": W_CATEGORY if same_category else 0.0,
            "stage": STAGE_POINTS.get(stage_reached, 0.0),
            "evaluation": evaluation_points(evaluation),
            "recency": _recency(last_applied_at, now),
        }
        scored.append((sum(parts.values()), (last_applied_at or now).timestamp(), pk, parts, matched))
    scored.sort(key=lambda row: (-row[0], -row[1], -row[2]))
    best = scored[:limit]
    people = Candidate.objects.in_bulk([row[2] for row in best])
    return _with_reasons(job, [(score, people[pk], parts, matched) for score, _when, pk, parts, matched in best])


def _estimate_common(df: dict[str, int], documents, pool: int) -> dict[str, int]:
    """df of the common tokens (counted only up to DF_PROBE) estimated from their share of the sample, scaled
    to the pool; never below DF_PROBE. The sample leans towards people like the job, so this errs high: a
    common token weighs a little less than it should, which is the safe side."""
    documents = list(documents)
    common = [token for token, count in df.items() if count >= DF_PROBE]
    if not common or not documents:
        return df
    estimated = dict(df)
    for token in common:
        share = sum(token in document for document in documents) / len(documents)
        estimated[token] = max(DF_PROBE, round(share * pool))
    return estimated


def _idf(tokens: list[str], df: dict[str, int], pool: int) -> dict[str, float]:
    """BM25's IDF, ln(1 + (N - df + 0.5) / (df + 0.5)); df of a common token is at least DF_PROBE."""
    pool = max(pool, max(df.values(), default=0))
    return {token: math.log(1 + (pool - df.get(token, 0) + 0.5) / (df.get(token, 0) + 0.5)) for token in tokens}


def _recency(last_applied_at: datetime | None, now: datetime) -> float:
    if last_applied_at is None:
        return 0.0
    years = max((now - last_applied_at).days, 0) / 365.25
    return W_RECENCY * 0.5 ** (years / RECENCY_HALF_LIFE_YEARS)


def _points(value: float) -> str:
    return _("+%(points)s点") % {"points": f"{value:.0f}" if value >= 1 else f"{value:.1f}"}


def _with_reasons(job: Job, best) -> list[tuple[Candidate, float, list[str]]]:
    """Reasons in words for the few listed (a query or two for them only)."""
    ids = [candidate.pk for _score, candidate, _parts, _matched in best]
    skills: dict[int, list[str]] = {}
    for candidate_id, label in (CandidateTag.objects.filter(candidate_id__in=ids, kind=TagKind.SKILL)
                                .values_list("candidate_id", "label")):
        skills.setdefault(candidate_id, []).append(label)
    reached_year = _stage_years(ids)
    listed = []
    for score, candidate, parts, matched in best:
        reasons = []
        if parts["stage"]:
            year = reached_year.get(candidate.pk)
            stage = Stage(candidate.stage_reached).label
            text = (_("%(year)d年に%(stage)sまで進んだ") % {"year": year, "stage": stage} if year
                    else _("%(stage)sまで進んだ") % {"stage": stage})
            reasons.append((parts["stage"], text))
        if parts["text"]:
            reasons.append((parts["text"], _match_text(matched, skills.get(candidate.pk, []))))
        if parts["category"]:
            reasons.append((parts["category"], _("同じ職種カテゴリ: %(category)s") % {"category": job.category}))
        if parts["evaluation"]:
            reasons.append((parts["evaluation"], _("評価: %(evaluation)s") % {"evaluation": candidate.evaluation}))
        if parts["recency"] >= 0.05 and candidate.last_applied_at:
            year = timezone.localtime(candidate.last_applied_at).year
            reasons.append((parts["recency"], _("最終応募: %(year)d年") % {"year": year}))
        reasons.sort(key=lambda reason: -reason[0])
        listed.append((candidate, round(score, 1), [f"{text}({_points(points)})" for points, text in reasons]))
    return listed


def _match_text(matched: list[str], skill_labels: list[str]) -> str:
    """"スキル一致: Python, AWS" with the person's own skill labels where a matched word is one of them, then
    the other matched words."""
    matched_set = set(matched)
    skills = [label for label in skill_labels if (tokens := text_tokens(label)) and set(tokens) <= matched_set]
    covered = {token for label in skills for token in text_tokens(label)}
    # A compound's parts (バック, エンド of バックエンド) are in the document too: only the compound is named.
    others = [token for token in matched if token not in covered
              and not any(token != other and token in other for other in matched)]
    parts = []
    if skills:
        parts.append(_("スキル一致: %(words)s") % {"words": ", ".join(skills[:REASON_WORDS])})
    if others:
        parts.append(_("キーワード一致: %(words)s") % {"words": ", ".join(others[:REASON_WORDS])})
    return "・".join(parts)


def _stage_years(candidate_ids: list[int]) -> dict[int, int]:
    """Per candidate, the year of the application that reached their furthest stage."""
    rows = (Application.objects.filter(candidate_id__in=candidate_ids)
            .values_list("candidate_id", "stage_reached", "rejected_at", "applied_at", "created_at"))
    best: dict[int, tuple[int, datetime]] = {}
    for candidate_id, stage, rejected_at, applied_at, created_at in rows:
        when = rejected_at or applied_at or created_at
        if candidate_id not in best or (stage, when) > best[candidate_id]:
            best[candidate_id] = (stage, when)
    return {candidate_id: timezone.localtime(when).year for candidate_id, (_stage, when) in best.items()}
