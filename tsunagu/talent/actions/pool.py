"""The talent pool's entries: what is derived from a person's applications (refresh_pool_entries, after every
change of an application or a name) and what HR edits (profile, skills and tags)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from functools import lru_cache
from zoneinfo import ZoneInfo

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from tsunagu.companies.models import Company
from tsunagu.lib.bulk import filter_in, in_lists, insert_rows, update_objects
from tsunagu.talent.models import Application, ApplicationStatus, Candidate, CandidateTag, PoolState, TagKind
from tsunagu.talent.normalize import clean_text, name_fold, reading_fold
from tsunagu.talent.pool_query import MAX_TAG_LENGTH, tag_key
from tsunagu.talent.regions import PREFECTURE_NAMES, prefecture_name
from tsunagu.talent.search_index import candidate_document
from tsunagu.talent.stages import Stage

MAX_TAGS_PER_CANDIDATE = 100  # manual ones, per kind
MAX_DESIRED_JOB = 200
MAX_REGION_TEXT = 100
MAX_NOTE = 5000
# The candidates refreshed together (lib.bulk's IN list size keeps every statement portable).
REFRESH_CHUNK = 900
DERIVED_FIELDS = ["name_fold", "kana_fold", "stage_reached", "evaluation", "channel", "pool_state",
                  "last_applied_at", "last_rejected_at", "search_tokens"]
# What the refresh reads of a candidate besides the derived fields.
_ENTRY_FIELDS = ("name", "name_kana", "region_code", "region_text", "desired_job", "note", "created_at")
_TAG = TagKind.TAG.value  # plain str: lib.bulk passes plain values through as they are
_MODELS = (Candidate, Application, CandidateTag, Company)
_TAG_COLUMNS = ("company", "candidate", "kind", "label", "key", "automatic", "created_at")


# --- derived from the applications ---------------------------------------------------------------------

# One application as refresh_pool_entries reads it (the rows of a candidate come oldest first).
_APPLICATION_VALUES = ("candidate_id", "status", "stage_reached", "evaluation", "channel", "applied_at",
                       "created_at", "updated_at", "rejected_at", "rejection_reason", "job__title", "job__category")


def refresh_pool_entries(company: Company | int, candidate_ids: Iterable[int], *, models=None) -> None:
    """Recompute the derived pool fields, the automatic tags and the search tokens of these candidates of
    `company` (or its id) from their applications: a few queries per REFRESH_CHUNK candidates (the CSV import
    calls it once per chunk it writes). Manual tags and HR's fields are kept.

    `models`: (Candidate, Application, CandidateTag, Company) to use instead of the app's, for a data migration.
    """
    Candidate, Application, CandidateTag, Company = models or _MODELS
    company_id = company if isinstance(company, int) else company.pk
    zone_name = (Company.objects.filter(pk=company_id).values_list("time_zone", flat=True).first()
                 if isinstance(company, int) else company.time_zone)
    zone = ZoneInfo(zone_name or "Asia/Tokyo")
    with translation.override("ja"):  # automatic tags are data, written in Japanese whatever the request's language
        for ids in in_lists(candidate_ids, REFRESH_CHUNK):
            _refresh_chunk(company_id, ids, zone, Candidate, Application, CandidateTag)


def refresh_whole_pool(company: Company | int, *, models=None, progress=None) -> int:
    """refresh_pool_entries for every candidate of `company`, a chunk (and a transaction) at a time, by
    ascending id: for `tsunagu manage refresh_pool` and the backfill migration. The number refreshed."""
    Candidate = (models or _MODELS)[0]
    company_id = company if isinstance(company, int) else company.pk
    done, last = 0, 0
    while True:
        ids = list(Candidate.objects.filter(company_id=company_id, pk__gt=last).order_by("pk")
                   .values_list("pk", flat=True)[:REFRESH_CHUNK])
        if not ids:
            return done
        with transaction.atomic():
            refresh_pool_entries(company, ids, models=models)
        done, last = done + len(ids), ids[-1]
        if progress is not None:
            progress(done)


class _Entry:
    """A candidate's fields that the refresh reads and writes (a plain object: no model instance per person)."""

    __slots__ = ("pk", *_ENTRY_FIELDS, *DERIVED_FIELDS)

    def __init__(self, row: tuple):
        for name, value in zip(self.__slots__, row, strict=True):
            setattr(self, name, value)


def _rows_of(queryset, field: str, ids: list[int]):
    """`queryset` rows whose `field` is one of `ids`: by a range when the ids are nearly contiguous (new people
    of an import), else by IN lists (lib.bulk.filter_in). The caller keeps only the rows it asked for."""
    low, high = min(ids), max(ids)
    if high - low < 2 * len(ids):
        return [queryset.filter(**{f"{field}__gte": low, f"{field}__lte": high})]
    return list(filter_in(queryset, field, ids))


def _refresh_chunk(company_id: int, ids: list[int], zone: ZoneInfo, Candidate, Application, CandidateTag) -> None:  # noqa: N803
    wanted_ids = set(ids)
    people = Candidate.objects.filter(company_id=company_id)
    if any(field.name == "erased_at" for field in Candidate._meta.fields):  # not in the 0006 backfill's models
        people = people.filter(erased_at__isnull=True)  # an erased person gets no tags or search words again
    candidates = [_Entry(row) for query in _rows_of(
        people.values_list("pk", *_ENTRY_FIELDS, *DERIVED_FIELDS), "pk", ids)
        for row in query if row[0] in wanted_ids]
    histories: dict[int, list[tuple]] = {c.pk: [] for c in candidates}
    applications = Application.objects.filter(company_id=company_id).order_by("pk").values_list(*_APPLICATION_VALUES)
    for query in _rows_of(applications, "candidate_id", ids):
        for row in query:
            if row[0] in histories:
                histories[row[0]].append(row)
    tags: dict[int, list[tuple]] = {c.pk: [] for c in candidates}
    tag_rows = CandidateTag.objects.filter(company_id=company_id).order_by("pk").values_list(
        "pk", "candidate_id", "kind", "label", "key", "automatic")
    for query in _rows_of(tag_rows, "candidate_id", ids):
        for row in query:
            if row[1] in tags:
                tags[row[1]].append(row)

    stale_tags: list[int] = []
    new_tags: list[tuple] = []
    changed: list[_Entry] = []
    now = timezone.now()
    for candidate in candidates:
        history = histories[candidate.pk]
        current = tags[candidate.pk]
        manual = {(kind, key) for _pk, _c, kind, _label, key, automatic in current if not automatic}
        wanted = {}  # (kind, key) -> label, in order
        for label in automatic_tags(history, zone):
            key = tag_key(label)
            if key and (TagKind.TAG, key) not in manual:
                wanted.setdefault((TagKind.TAG, key), label)
        kept: list[tuple[str, str]] = []
        for pk, _c, kind, label, key, automatic in current:
            if not automatic:
                kept.append((kind, label))
            elif wanted.get((kind, key)) == label:
                wanted.pop((kind, key))
                kept.append((kind, label))
            else:
                stale_tags.append(pk)
        new_tags.extend((company_id, candidate.pk, str(kind), label, key, True, now)
                        for (kind, key), label in wanted.items())
        labels = kept + [(kind, label) for (kind, _key), label in wanted.items()]
        values = derived_values(candidate, history, labels)
        differing = [name for name, value in values.items() if getattr(candidate, name) != value]
        if differing:
            for name in differing:
                setattr(candidate, name, values[name])
            changed.append(candidate)

    if stale_tags:
        for part in in_lists(stale_tags):
            CandidateTag.objects.filter(pk__in=part).delete()
    insert_rows(CandidateTag, _TAG_COLUMNS, new_tags)
    update_objects(Candidate, changed, DERIVED_FIELDS)


def fill_new_entries(company: Company, people: list[tuple[Candidate, list[Application]]],
                     now: datetime) -> list[tuple[Candidate, list[str]]]:
    """For people about to be inserted together with all their applications (new in a TalentBatch): set the
    derived fields on the unsaved candidates, as refresh_pool_entries would after the insert, and answer their
    automatic tags for insert_automatic_tags once they have ids. Saves the import reading them back."""
    zone = ZoneInfo(company.time_zone or "Asia/Tokyo")
    pending = []
    with translation.override("ja"):
        for candidate, applications in people:
            history = [(None, a.status, a.stage_reached, a.evaluation, a.channel, a.applied_at, a.created_at or now,
                        now, a.rejected_at, a.rejection_reason, a.job.title, a.job.category) for a in applications]
            labels = list(dict.fromkeys(label for label in automatic_tags(history, zone) if tag_key(label)))
            candidate.created_at = candidate.created_at or now
            for name, value in derived_values(candidate, history, [(TagKind.TAG, label) for label in labels]).items():
                setattr(candidate, name, value)
            pending.append((candidate, labels))
    return pending


def insert_automatic_tags(company: Company, pending: list[tuple[Candidate, list[str]]], now: datetime) -> None:
    """The automatic tags fill_new_entries answered, for the candidates now inserted."""
    rows, seen = [], set()
    for candidate, labels in pending:
        for label in labels:
            key = tag_key(label)
            if (candidate.pk, key) not in seen:
                seen.add((candidate.pk, key))
                rows.append((company.pk, candidate.pk, _TAG, label, key, True, now))
    insert_rows(CandidateTag, _TAG_COLUMNS, rows)


@lru_cache(maxsize=4096)
def _year(moment: datetime, zone: ZoneInfo) -> int:
    return timezone.localtime(moment, zone).year


@lru_cache(maxsize=256)
def _year_label(year: int, language: str) -> str:
    return _("%(year)d年応募") % {"year": year}


@lru_cache(maxsize=64)
def _stage_label(stage: int, language: str) -> str:
    return _("%(stage)sまで") % {"stage": Stage(stage).label}


def _applied(row: tuple) -> datetime:
    return row[5] or row[6]


def automatic_tags(history: list[tuple], zone: ZoneInfo) -> list[str]:
    """The tags the applications give: job category, "<stage>まで", rejection reason, channel, "<year>年応募"."""
    labels: list[str] = []
    reached = max((row[2] for row in history), default=Stage.UNKNOWN)
    for row in history:
        _cid, status, _stage, _evaluation, channel, *_rest, reason, _title, category = row
        labels.append(category)
        if status == ApplicationStatus.REJECTED:
            labels.append(reason)
        labels.append(channel)
        labels.append(_year_label(_year(_applied(row), zone), translation.get_language()))
    if reached >= Stage.DOCUMENT_SCREENING:
        labels.insert(0, _stage_label(reached, translation.get_language()))
    return [label for label in (clean_text(label)[:MAX_TAG_LENGTH] for label in labels) if label]


def derived_values(candidate, history: list[tuple], labels: list[tuple[str, str]]) -> dict:
    """The values of DERIVED_FIELDS for `candidate` with these applications and tags (kind, label)."""
    by_recency = sorted(history, key=lambda row: (_applied(row), row[7]))
    statuses = {row[1] for row in history}
    state = next((state for state, status in (
        (PoolState.HIRED, ApplicationStatus.HIRED), (PoolState.IN_SELECTION, ApplicationStatus.ACTIVE),
        (PoolState.REJECTED, ApplicationStatus.REJECTED), (PoolState.WITHDRAWN, ApplicationStatus.WITHDRAWN),
    ) if status in statuses), "")
    rejected = [row[8] for row in history if row[1] == ApplicationStatus.REJECTED and row[8] is not None]
    region = " ".join(filter(None, [prefecture_name(candidate.region_code), candidate.region_text]))
    return {
        "name_fold": name_fold(candidate.name),
        "kana_fold": reading_fold(candidate.name_kana),
        "stage_reached": int(max((row[2] for row in history), default=Stage.UNKNOWN)),
        "evaluation": next((row[3] for row in reversed(by_recency) if row[3]), ""),
        "channel": next((row[4] for row in reversed(by_recency) if row[4]), ""),
        "pool_state": str(state),
        # Never empty, so that "most recent first" orders alike on every database (no NULLs to place).
        "last_applied_at": max((_applied(row) for row in history), default=candidate.created_at),
        "last_rejected_at": max(rejected, default=None),
        "search_tokens": candidate_document(
            name=candidate.name, name_kana=candidate.name_kana,
            skills=[label for kind, label in labels if kind == TagKind.SKILL],
            tags=[label for kind, label in labels if kind == TagKind.TAG],
            note=candidate.note, desired_job=candidate.desired_job, region_text=region,
            job_titles=list(dict.fromkeys(row[10] for row in history)),
            job_categories=list(dict.fromkeys(row[11] for row in history if row[11])),
            tag_keys=[tag_key(label) for _kind, label in labels],
        ),
    }


# --- what HR edits -------------------------------------------------------------------------------------

def clean_labels(labels: Iterable[str], field_name: str, errors: dict[str, list[str]]) -> list[str]:
    """Tags or skills as stored (trimmed, blank and repeated ones dropped), or errors by field."""
    cleaned: list[str] = []
    keys: set[str] = set()
    for label in labels:
        if not isinstance(label, str) or "\x00" in label:
            errors.setdefault(field_name, []).append(_("使用できない文字が含まれています。"))
            return []
        label = clean_text(label)
        if len(label) > MAX_TAG_LENGTH:
            errors.setdefault(field_name, []).append(
                _("「%(label)s…」は長すぎます(%(limit)d文字以内)。") % {"label": label[:10], "limit": MAX_TAG_LENGTH})
            return []
        key = tag_key(label)
        if key and key not in keys:
            keys.add(key)
            cleaned.append(label)
    if len(cleaned) > MAX_TAGS_PER_CANDIDATE:
        errors.setdefault(field_name, []).append(
            _("1人につき%(limit)d件までです。") % {"limit": MAX_TAGS_PER_CANDIDATE})
        return []
    return cleaned


def _check_text(value: str | None, field_name: str, limit: int, errors: dict[str, list[str]]) -> str | None:
    if value is None:
        return None
    if "\x00" in value:
        errors.setdefault(field_name, []).append(_("使用できない文字が含まれています。"))
        return None
    value = value.strip() if field_name == "note" else clean_text(value)
    if len(value) > limit:
        errors.setdefault(field_name, []).append(_("%(limit)d文字以内で入力してください。") % {"limit": limit})
        return None
    return value


@transaction.atomic
def update_candidate_profile(company: Company, candidate: Candidate, *, skills=None, tags=None, region_code=None,
                             region_text=None, desired_job=None, note=None, contact_allowed=None) -> Candidate:
    """Change what HR keeps about a person (None leaves a field as it is). `skills` and `tags` are the full
    lists of the manual ones (automatic tags stay). A ValidationError (Japanese, by field) changes nothing."""
    if candidate.company_id != company.pk:
        raise Candidate.DoesNotExist
    errors: dict[str, list[str]] = {}
    lists = {kind: clean_labels(labels, name, errors)
             for kind, name, labels in ((TagKind.SKILL, "skills", skills), (TagKind.TAG, "tags", tags))
             if labels is not None}
    texts = {
        "region_text": _check_text(region_text, "region_text", MAX_REGION_TEXT, errors),
        "desired_job": _check_text(desired_job, "desired_job", MAX_DESIRED_JOB, errors),
        "note": _check_text(note, "note", MAX_NOTE, errors),
    }
    if region_code is not None and region_code not in ("", *PREFECTURE_NAMES):
        errors.setdefault("region_code", []).append(_("都道府県コードが正しくありません。"))
    if contact_allowed is not None and not isinstance(contact_allowed, bool):
        errors.setdefault("contact_allowed", []).append(_("true か false で指定してください。"))
    if errors:
        raise ValidationError(errors)

    candidate = Candidate.objects.select_for_update().get(pk=candidate.pk)
    updates = {name: value for name, value in texts.items() if value is not None}
    if region_code is not None:
        updates["region_code"] = region_code
    if contact_allowed is not None:
        updates["contact_allowed"] = contact_allowed
    changed = [name for name, value in updates.items() if getattr(candidate, name) != value]
    for name in changed:
        setattr(candidate, name, updates[name])
    if changed:
        candidate.save(update_fields=[*changed, "updated_at"])
    for kind, labels in lists.items():
        _replace_manual_tags(candidate, kind, labels)
    refresh_pool_entries(company, [candidate.pk])
    candidate.refresh_from_db()
    return candidate


def _replace_manual_tags(candidate: Candidate, kind: str, labels: list[str]) -> None:
    wanted = {tag_key(label): label for label in labels}
    rows = {row.key: row for row in CandidateTag.objects.filter(candidate=candidate, kind=kind)}
    CandidateTag.objects.filter(pk__in=[row.pk for key, row in rows.items()
                                        if not row.automatic and key not in wanted]).delete()
    for key, label in wanted.items():
        row = rows.get(key)
        if row is None:
            CandidateTag.objects.create(company_id=candidate.company_id, candidate=candidate, kind=kind,
                                        label=label, key=key)
        elif row.automatic or row.label != label:  # an automatic tag HR confirms becomes theirs
            CandidateTag.objects.filter(pk=row.pk).update(automatic=False, label=label)


def _own_candidate_ids(company: Company, candidate_ids: Iterable[int]) -> list[int]:
    ids = []
    for query in filter_in(Candidate.objects.filter(company=company), "pk", [int(pk) for pk in candidate_ids]):
        ids.extend(query.values_list("pk", flat=True))
    return ids


def _one_batch_of_labels(labels: Iterable[str], kind: str) -> list[str]:
    if kind not in TagKind.values:
        raise ValidationError({"kind": [_("指定が正しくありません。")]})
    errors: dict[str, list[str]] = {}
    cleaned = clean_labels(list(labels), "tags", errors)
    if errors:
        raise ValidationError(errors)
    return cleaned


@transaction.atomic
def add_tags(company: Company, candidate_ids: Iterable[int], labels: Iterable[str], *, kind: str = TagKind.TAG) -> int:
    """Give these tags (or skills) to these candidates of `company` (others' ids are ignored): the number of
    tags added. A tag already there automatically becomes a manual one. No one gets past
    MAX_TAGS_PER_CANDIDATE manual tags of a kind (ValidationError, nothing changed)."""
    labels = _one_batch_of_labels(labels, kind)
    ids = _own_candidate_ids(company, candidate_ids)
    if not labels or not ids:
        return 0
    wanted = {tag_key(label): label for label in labels}
    existing: dict[int, dict[str, CandidateTag]] = {pk: {} for pk in ids}
    for query in filter_in(CandidateTag.objects.filter(company=company, kind=kind), "candidate", ids):
        for row in query:
            existing[row.candidate_id][row.key] = row
    promote, insert = [], []
    now = timezone.now()
    for pk, rows in existing.items():
        manual = sum(1 for row in rows.values() if not row.automatic)
        for key, label in wanted.items():
            row = rows.get(key)
            if row is None:
                insert.append((company.pk, pk, kind, label, key, False, now))
                manual += 1
            elif row.automatic:
                promote.append(row.pk)
                manual += 1
        if manual > MAX_TAGS_PER_CANDIDATE:
            raise ValidationError({"tags": [_("1人につき%(limit)d件までです。") % {"limit": MAX_TAGS_PER_CANDIDATE}]})
    for part in in_lists(promote):
        CandidateTag.objects.filter(pk__in=part).update(automatic=False)
    insert_rows(CandidateTag, _TAG_COLUMNS, insert)
    refresh_pool_entries(company, ids)
    return len(insert) + len(promote)


@transaction.atomic
def remove_tags(company: Company, candidate_ids: Iterable[int], labels: Iterable[str], *,
                kind: str = TagKind.TAG) -> int:
    """Take these manual tags (or skills) from these candidates of `company`: the number removed. Automatic
    tags come from the applications and stay."""
    labels = _one_batch_of_labels(labels, kind)
    ids = _own_candidate_ids(company, candidate_ids)
    keys = [tag_key(label) for label in labels]
    if not keys or not ids:
        return 0
    removed = 0
    for part in in_lists(ids):
        removed += CandidateTag.objects.filter(company=company, candidate_id__in=part, kind=kind, automatic=False,
                                               key__in=keys).delete()[0]
    if removed:
        refresh_pool_entries(company, ids)
    return removed
