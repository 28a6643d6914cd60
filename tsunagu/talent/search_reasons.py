"""Why a candidate matched a pool search, in words HR reads beside each result (氏名, フリガナ, スキル: Python...).

The check repeats the full-text match on one field at a time with the same tokens (talent.search_index), so a
reason is given exactly when that field alone would have matched the word.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import NamedTuple

from django.utils.translation import gettext as _

from tsunagu.talent.models import Application, Candidate, CandidateTag, TagKind
from tsunagu.talent.normalize import name_fold, name_key, reading_fold
from tsunagu.talent.pool_query import PoolQuery, query_words, tag_key
from tsunagu.talent.regions import prefecture_name
from tsunagu.talent.search_index import name_grams, text_tokens


class TagRow(NamedTuple):
    """A person's tag or skill as a page shows it (a plain row: a page of 25 people holds ~350)."""

    candidate_id: int
    kind: str
    automatic: bool
    key: str
    label: str


def tags_of(ids: list[int]) -> dict[int, list[TagRow]]:
    """Each of these candidates' tags and skills: skills first, then HR's tags, then automatic ones."""
    tags: dict[int, list[TagRow]] = {pk: [] for pk in ids}
    if ids:
        rows = CandidateTag.objects.filter(candidate_id__in=ids).order_by("kind", "automatic", "pk")
        for row in rows.values_list("candidate_id", "kind", "automatic", "key", "label"):
            tags[row[0]].append(TagRow(*row))
    return tags


def _matches(groups: list[list[str]], tokens: set[str]) -> bool:
    return any(set(token_set) <= tokens for token_set in groups)


def _text(text: str) -> set[str]:
    return set(text_tokens(text or ""))


def match_reasons(candidates: Iterable[Candidate], query: PoolQuery,
                  tags: dict[int, list[TagRow]] | None = None) -> dict[int, list[str]]:
    """For a page of results: candidate id -> the reasons they matched the query words and tag filters
    (`tags`: the page's tags_of, when the caller has read them already)."""
    candidates = list(candidates)
    ids = [candidate.pk for candidate in candidates]
    jobs: dict[int, set[str]] = {pk: set() for pk in ids}
    words = query_words(query.q) if query.q else []
    if tags is None:
        tags = tags_of(ids) if words or query.tags else {pk: [] for pk in ids}
    if ids and any(kind == "text" for kind, _value, _word in words):
        for candidate_id, title, category in Application.objects.filter(candidate_id__in=ids).values_list(
                "candidate_id", "job__title", "job__category"):
            jobs[candidate_id].update(filter(None, (title, category)))
    tag_keys = {tag_key(tag) for tag in query.tags}
    reasons: dict[int, list[str]] = {}
    for candidate in candidates:
        found: list[str] = []
        for kind, value, word in words:
            if kind == "email" and candidate.email_key == value:
                found.append(_("メールアドレス"))
            elif kind == "phone" and candidate.phone_e164 == value:
                found.append(_("電話番号"))
            elif kind == "text":
                found.extend(_text_reasons(candidate, value, word, tags.get(candidate.pk, []), jobs[candidate.pk]))
        for row in tags.get(candidate.pk, []):
            if row.key in tag_keys:
                found.append(_label(row))
        reasons[candidate.pk] = list(dict.fromkeys(found))
    return reasons


def _label(row: TagRow) -> str:
    if row.kind == TagKind.SKILL:
        return _("スキル: %(label)s") % {"label": row.label}
    return _("タグ: %(label)s") % {"label": row.label}


def _text_reasons(candidate: Candidate, groups: list[list[str]], word: str, tags: list[TagRow],
                  jobs: set[str]) -> list[str]:
    found = []
    if _matches(groups, set(name_grams(name_fold(candidate.name)))):
        # Found as typed, or only once 異体字 were folded (髙橋 for 高橋).
        found.append(_("氏名") if name_key(word) in name_key(candidate.name) else _("氏名(異体字を同一視)"))
    readings = set(name_grams(reading_fold(candidate.name_kana)))
    if _matches(groups, readings):
        found.append(_("フリガナ"))
    for row in tags:
        if _matches(groups, _text(row.label)):
            found.append(_label(row))
    if _matches(groups, _text(candidate.note)):
        found.append(_("メモ"))
    if _matches(groups, _text(candidate.desired_job)):
        found.append(_("希望職種"))
    region = " ".join(filter(None, [prefecture_name(candidate.region_code), candidate.region_text]))
    if _matches(groups, _text(region)):
        found.append(_("地域"))
    if any(_matches(groups, _text(job)) for job in jobs):
        found.append(_("過去の応募職種"))
    return found
