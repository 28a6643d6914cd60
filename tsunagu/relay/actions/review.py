"""The operator's review of registrations: a held one is approved (credited) or voided, and a credit granted
earlier can be reversed. Each decision names who made it, when and why; the ledger only grows."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from tsunagu.relay.actions import ledger
from tsunagu.relay.models import CreditStatus, LedgerEntry, LedgerKind, Registration
from tsunagu.talent.normalize import clean_text


def _locked(registration: Registration) -> Registration:
    return Registration.objects.select_for_update().select_related("company", "registrant").get(pk=registration.pk)


def _decided(registration: Registration, status: str, *, user, reason: str) -> Registration:
    registration.credit_status = status
    registration.reviewed_by = user if getattr(user, "is_authenticated", False) else None
    registration.reviewed_at = timezone.now()
    registration.review_note = reason
    registration.save(update_fields=["credit_status", "reviewed_by", "reviewed_at", "review_note"])
    return registration


@transaction.atomic
def approve(registration: Registration, *, user=None, reason: str = "") -> Registration:
    """A held registration is real: it earns its company the credit (unless the person has been credited
    through another registration meanwhile: then it is a repeat and earns nothing)."""
    registration = _locked(registration)
    if registration.credit_status != CreditStatus.HELD:
        raise ValidationError(_("確認待ちの登録だけを承認できます。"))
    reason = clean_text(reason)[:300]
    credited_elsewhere = Registration.objects.filter(
        registrant=registration.registrant, credit_status=CreditStatus.CREDITED).exclude(pk=registration.pk).exists()
    if credited_elsewhere:
        return _decided(registration, CreditStatus.DUPLICATE, user=user,
                        reason=reason or _("同じ方の登録が既にクレジットされています"))
    _decided(registration, CreditStatus.CREDITED, user=user, reason=reason)
    ledger.credit(registration, user=registration.reviewed_by, note=reason)
    return registration


@transaction.atomic
def void(registration: Registration, *, user=None, reason: str) -> Registration:
    """A held registration is not real: it earns nothing. The reason is required and kept."""
    registration = _locked(registration)
    if registration.credit_status != CreditStatus.HELD:
        raise ValidationError(_("確認待ちの登録だけを無効にできます(付与済みのクレジットは取り消します)。"))
    reason = clean_text(reason)[:300]
    if not reason:
        raise ValidationError({"reason": _("理由を入力してください。")})
    return _decided(registration, CreditStatus.VOIDED, user=user, reason=reason)


@transaction.atomic
def reverse(registration: Registration, *, user=None, reason: str) -> Registration:
    """Take back a credit granted earlier (found later not to be real): a reversal entry in the ledger, the
    slot it completed revoked if need be, and the registration void. The reason is required and kept."""
    registration = _locked(registration)
    reason = clean_text(reason)[:300]
    if not reason:
        raise ValidationError({"reason": _("理由を入力してください。")})
    credit = LedgerEntry.objects.filter(registration=registration, kind=LedgerKind.CREDIT).first()
    if registration.credit_status != CreditStatus.CREDITED or credit is None:
        raise ValidationError(_("クレジットが付与された登録だけを取り消せます。"))
    _decided(registration, CreditStatus.VOIDED, user=user, reason=reason)
    ledger.reverse_credit(credit, user=registration.reviewed_by, note=reason)
    return registration
