"""Re-applications: recognising a new application of someone the company already knew, HR's answer to
"the same person?", and merging two records of one person.

Detection runs inside the intake transaction that recorded the new application (messaging's
reapplication_alerts calls it and then plans the alerts), for events that notify only: an imported history is
not news. What counts, strongest first:

- exact, e-mail: the same Candidate (one per normalised address) has an earlier application;
- exact, phone: another candidate of the company with the same E.164 number has an earlier application;
- probable: another candidate with the same folded name and folded reading (both non-empty; 髙橋/高橋,
  サトウ/サトー are one), another address and phone. HR is asked; nothing is merged automatically.

"Earlier" is by row id (the order Tsunagu heard of the applications), so the first of two applications in one
CSV file is not a re-application and the second is. A pair HR said are different people is never proposed
again. One Reapplication per application (unique): an event repeated by the ATS is recognised once.
"""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from tsunagu.companies.models import Company
from tsunagu.talent import normalize
from tsunagu.talent.actions.pool import refresh_pool_entries
from tsunagu.talent.models import (
    Application,
    Candidate,
    CandidateTag,
    MatchKind,
    Reapplication,
    ReviewStatus,
)

# A chain of merges (A into B, B into C) is followed this far at most.
MAX_MERGE_CHAIN = 10


def detect_reapplication(company: Company, application: Application) -> Reapplication | None:
    """The Reapplication for a newly recorded application, made now; None when it is a first application, or
    when it was recognised already (the alert was planned then)."""
    if Reapplication.objects.filter(application_id=application.pk).exists():
        return None
    candidate = _current_record(company, application)
    _store_folds(candidate)
    earlier = Application.objects.filter(company=company, pk__lt=application.pk)
    if earlier.filter(candidate=candidate).exists():
        return _create(company, application, candidate, candidate, MatchKind.EXACT, _("メールアドレス"))
    others = (Candidate.objects.filter(company=company, merged_into__isnull=True, erased_at__isnull=True)
              .exclude(pk=candidate.pk)
              .filter(Exists(earlier.filter(candidate=OuterRef("pk"))))
              .exclude(pk__in=_separated_from(company, candidate))
              .order_by("-last_applied_at", "-pk"))
    if candidate.phone_e164:
        other = others.filter(phone_e164=candidate.phone_e164).first()
        if other is not None:
            return _create(company, application, candidate, other, MatchKind.EXACT, _("電話番号"))
    if candidate.name_fold and candidate.kana_fold:
        same_name = others.filter(name_fold=candidate.name_fold, kana_fold=candidate.kana_fold)
        if candidate.phone_e164:
            same_name = same_name.exclude(phone_e164=candidate.phone_e164)
        other = same_name.first()
        if other is not None:
            return _create(company, application, candidate, other, MatchKind.PROBABLE, _("氏名・フリガナ"))
    return None


def _current_record(company: Company, application: Application) -> Candidate:
    """The application's candidate; when HR merged that record into another, the application moves there (an
    address of a merged record keeps arriving from the ATS, and the merged record is hidden everywhere)."""
    candidate = application.candidate
    for _step in range(MAX_MERGE_CHAIN):
        if candidate.merged_into_id is None:
            break
        candidate = Candidate.objects.get(company=company, pk=candidate.merged_into_id)
    if candidate.pk != application.candidate_id:
        merged_id = application.candidate_id
        application.candidate = candidate
        application.save(update_fields=["candidate", "updated_at"])
        _refresh_pool(company, [candidate.pk, merged_id])
    return candidate


def _store_folds(candidate: Candidate) -> None:
    """The folded name and reading the match needs, written now if the pool refresh has not yet."""
    name_fold = normalize.name_fold(candidate.name)
    kana_fold = normalize.reading_fold(candidate.name_kana) if candidate.name_kana else ""
    if (candidate.name_fold, candidate.kana_fold) != (name_fold, kana_fold):
        candidate.name_fold, candidate.kana_fold = name_fold, kana_fold
        candidate.save(update_fields=["name_fold", "kana_fold"])


def _separated_from(company: Company, candidate: Candidate):
    """Ids of the candidates HR said are not this person."""
    pairs = Reapplication.objects.filter(company=company, status=ReviewStatus.SEPARATE).filter(
        Q(candidate=candidate) | Q(previous=candidate)).values_list("candidate_id", "previous_id")
    return {other for pair in pairs for other in pair if other != candidate.pk}


def _create(company: Company, application: Application, candidate: Candidate, previous: Candidate, match: str,
            detail: str) -> Reapplication | None:
    with translation.override(settings.LANGUAGE_CODE):  # stored as shown: in the site's language
        detail = str(detail)
    try:
        with transaction.atomic():  # a savepoint: a concurrent twin's row makes this a no-op, not an error
            return Reapplication.objects.create(company=company, application=application, candidate=candidate,
                                                previous=previous, match=match, match_detail=detail[:200])
    except IntegrityError:
        return None


# --- HR's review ---------------------------------------------------------------------------------------

def mark_seen(company: Company, reapplication: Reapplication) -> None:
    if reapplication.seen_at is None:
        Reapplication.objects.filter(company=company, pk=reapplication.pk, seen_at__isnull=True).update(
            seen_at=timezone.now())


def review(company: Company, reapplication_id: int, *, decision: str, user=None) -> Reapplication:
    """HR's answer for a match between two records: "confirm" (the same person; they may then be merged) or
    "separate" (different people: this pair is never proposed again)."""
    statuses = {"confirm": ReviewStatus.CONFIRMED, "separate": ReviewStatus.SEPARATE}
    if decision not in statuses:
        raise ValidationError(_("「同一人物」か「別人」を選んでください。"))
    with transaction.atomic():
        reapplication = Reapplication.objects.select_for_update().get(company=company, pk=reapplication_id)
        if reapplication.candidate_id == reapplication.previous_id:
            raise ValidationError(_("同じ候補者の再応募です。確認は不要です。"))
        if reapplication.status == ReviewStatus.MERGED:
            raise ValidationError(_("統合済みです。"))
        reapplication.status = statuses[decision]
        reapplication.reviewed_by = user if getattr(user, "is_authenticated", False) else None
        reapplication.reviewed_at = timezone.now()
        reapplication.seen_at = reapplication.seen_at or reapplication.reviewed_at
        reapplication.save(update_fields=["status", "reviewed_by", "reviewed_at", "seen_at"])
    return reapplication


def merge_reapplication(company: Company, reapplication_id: int, *, user=None) -> Candidate:
    """Merge the new record into the earlier one, for a match HR confirmed (or an exact phone match)."""
    reapplication = Reapplication.objects.select_related("candidate", "previous").get(company=company,
                                                                                      pk=reapplication_id)
    if reapplication.candidate_id == reapplication.previous_id:
        raise ValidationError(_("同じ候補者の再応募です。統合するものはありません。"))
    if reapplication.status == ReviewStatus.SEPARATE:
        raise ValidationError(_("別人と確認された組み合わせは統合できません。"))
    if reapplication.match == MatchKind.PROBABLE and reapplication.status != ReviewStatus.CONFIRMED:
        raise ValidationError(_("統合する前に、同一人物であることを確認してください。"))
    with transaction.atomic():
        keep = merge_candidates(company, reapplication.previous, reapplication.candidate)
        Reapplication.objects.filter(company=company, pk=reapplication.pk).update(
            status=ReviewStatus.MERGED, reviewed_by=user if getattr(user, "is_authenticated", False) else None,
            reviewed_at=timezone.now())
    return keep


@transaction.atomic
def merge_candidates(company: Company, keep: Candidate, other: Candidate) -> Candidate:
    """One person, two records: the other's applications (with their events and mail) and tags move to `keep`,
    and `other` is marked merged into it (then hidden everywhere; an application arriving later under its address
    moves to `keep` when recorded). Both pool entries are refreshed.

    The relay's rows (a registration through the company's link) stay with the record they were made for: they
    are the relay's ledger, which a company cannot change, and the record is kept, not deleted.
    """
    rows = {c.pk: c for c in Candidate.objects.select_for_update().filter(company=company, pk__in=[keep.pk, other.pk])}
    if keep.pk == other.pk or len(rows) != 2:
        raise ValidationError(_("統合する2人の候補者を選んでください。"))
    keep, other = rows[keep.pk], rows[other.pk]
    if keep.merged_into_id or other.merged_into_id:
        raise ValidationError(_("すでに統合された候補者です。"))
    Application.objects.filter(company=company, candidate=other).update(candidate=keep, updated_at=timezone.now())
    kept_keys = set(CandidateTag.objects.filter(candidate=keep).values_list("kind", "key"))
    for tag in CandidateTag.objects.filter(candidate=other, automatic=False):
        if (tag.kind, tag.key) not in kept_keys:
            CandidateTag.objects.create(company=company, candidate=keep, kind=tag.kind, label=tag.label, key=tag.key)
            kept_keys.add((tag.kind, tag.key))
    CandidateTag.objects.filter(candidate=other).delete()
    _take_missing_details(keep, other)
    Reapplication.objects.filter(company=company, candidate=other).update(candidate=keep)
    Reapplication.objects.filter(company=company, previous=other).update(previous=keep)
    other.merged_into = keep
    other.save(update_fields=["merged_into", "updated_at"])
    _refresh_pool(company, [keep.pk, other.pk])
    return keep


def _take_missing_details(keep: Candidate, other: Candidate) -> None:
    """What HR or the ATS said about the other record and the kept one lacks (kana, phone, note, ...)."""
    changed = []
    for name in ("name_kana", "kana_key", "phone", "phone_e164", "region_code", "region_text", "desired_job"):
        if not getattr(keep, name) and getattr(other, name):
            setattr(keep, name, getattr(other, name))
            changed.append(name)
    if other.note and other.note not in keep.note:
        keep.note = f"{keep.note}\n{other.note}".strip()
        changed.append("note")
    if not other.contact_allowed and keep.contact_allowed:  # a "do not contact" is never lost in a merge
        keep.contact_allowed = False
        changed.append("contact_allowed")
    if changed:
        keep.save(update_fields=[*changed, "updated_at"])


def _refresh_pool(company: Company, candidate_ids: list[int]) -> None:
    refresh_pool_entries(company, candidate_ids)
