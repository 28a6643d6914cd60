"""Withdrawing consents (同意の撤回): the person's "stop all use" page, or operator staff for a person who
phoned or wrote in. A consent record is never deleted or reworded: its withdrawal is the time and the way it
was withdrawn, and what follows from it happens in the same transaction:

- the purpose consent (career_support) withdrawn: the operator must stop using the data, so the registrant is
  退会 (WITHDRAWN), and introductions still waiting for their consent are withdrawn;
- the consent to provision to partners withdrawn: no new introduction may ask, so those waiting are withdrawn;
- an introduction's consent withdrawn after the company received the profile: the request's history (which
  the company reads) says so; what was provided stays in the provision record.

Each withdrawal leaves a line in the registrant's history (RegistrantNote)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from tsunagu.relay.actions import introductions, registrants
from tsunagu.relay.actions.requests import record_event
from tsunagu.relay.models import (
    ConsentKind,
    ConsentRecord,
    Introduction,
    IntroductionStatus,
    Registrant,
    RegistrantNote,
    RegistrantStatus,
)
from tsunagu.talent.normalize import clean_text

MAX_VIA = ConsentRecord._meta.get_field("withdrawn_via").max_length
_WAITING = (IntroductionStatus.PROPOSED, IntroductionStatus.CONSENT_REQUESTED)


def _user(user):
    return user if getattr(user, "is_authenticated", False) else None


@transaction.atomic
def withdraw_consents(registrant: Registrant, *, when: datetime, via: str, kinds: Iterable[str] | None = None,
                      user=None) -> list[ConsentRecord]:
    """Withdraw the registrant's consents that are still open (all of them, or those of `kinds`, ConsentKind
    values) as of `when`, saying how (`via`: e.g. "本人の設定ページ", "電話(運営スタッフ)"); `user` is the staff
    member who acted, if any. Returns the consents withdrawn now: [] when there were none left (calling
    again changes nothing). ValidationError for an unknown kind or an empty `via`, and nothing changes."""
    via = clean_text(via or "")[:MAX_VIA]
    if not via:
        raise ValidationError({"via": _("撤回の経緯を入力してください。")})
    kinds = None if kinds is None else set(kinds)
    if kinds is not None and (not kinds or kinds - set(ConsentKind.values)):
        raise ValidationError({"kinds": _("不明な同意の種類です。")})
    registrant = Registrant.objects.select_for_update().get(pk=registrant.pk)
    still_open = ConsentRecord.objects.filter(registrant=registrant, withdrawn_at__isnull=True)
    if kinds is not None:
        still_open = still_open.filter(kind__in=kinds)
    withdrawn = list(still_open.select_related("introduction__request").order_by("given_at", "pk"))
    if not withdrawn:
        return []
    ConsentRecord.objects.filter(pk__in=[record.pk for record in withdrawn]).update(withdrawn_at=when,
                                                                                   withdrawn_via=via)
    for record in withdrawn:
        record.withdrawn_at, record.withdrawn_via = when, via
    labels = sorted({str(ConsentKind(record.kind).label) for record in withdrawn})
    RegistrantNote.objects.create(registrant=registrant, author=_user(user), text=_(
        "同意を撤回しました(%(kinds)s、%(count)d件): %(via)s") % {
        "kinds": "、".join(labels), "count": len(withdrawn), "via": via})
    _follow(registrant, withdrawn, user=user)
    return withdrawn


def _follow(registrant: Registrant, withdrawn: list[ConsentRecord], *, user) -> None:
    """What a withdrawal means for the registrant's introductions and place in the pipeline."""
    kinds = {record.kind for record in withdrawn}
    actor = introductions.OPERATOR if _user(user) else introductions.REGISTRANT
    for record in withdrawn:
        introduction = record.introduction
        if record.kind == ConsentKind.INTRODUCTION and introduction is not None:
            record_event(introduction.request, "consent_withdrawn", introduction=introduction, user=user,
                         actor_label=actor, detail=_("ご本人が提供への同意を撤回しました(以後の利用を停止してください)"))
    if kinds & {ConsentKind.PURPOSE, ConsentKind.PROVISION}:
        waiting = Introduction.objects.filter(registrant=registrant, status__in=_WAITING).order_by("pk")
        for introduction in waiting:
            introductions.withdraw(introduction, user=user, reason=_("ご本人が同意を撤回したため"))
    if ConsentKind.PURPOSE in kinds:
        registrants.change_status(registrant, RegistrantStatus.WITHDRAWN, user=user)
