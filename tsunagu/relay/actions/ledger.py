"""The ledger of credits and slots: append-only and exact under concurrency.

Every change is a new LedgerEntry, numbered 1, 2, 3... per company and kind (a unique index backs the
numbering), written while the company's row is locked (a row lock on PostgreSQL; SQLite serialises writers),
so concurrent registrations, reversals and requests of one company apply one at a time. Nothing is edited or
deleted: a credit taken back is a `credit_reversed` entry naming the credit, and the slot count follows.

Credits and slots: every credit adds one to the count toward the next slot (`progress_after` of the latest
credit or reversal); when the count reaches the contract's ratio, a slot is earned and the count starts
again. A reversal takes one off the count, or, when the count is at zero because the reversed credit was
part of a slot already earned, revokes that slot and leaves ratio - 1. A referral request reserves a slot; a
hire through it uses the reservation; a request closed without a hire releases it.
"""

from __future__ import annotations

from functools import partial

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from tsunagu.companies.models import Company
from tsunagu.relay.actions import notifications
from tsunagu.relay.actions.contracts import ensure_contract
from tsunagu.relay.models import Introduction, LedgerEntry, LedgerKind, ReferralRequest, Registration
from tsunagu.relay.selectors import ledger_summary, progress_toward_slot
from tsunagu.talent.normalize import clean_text


def _locked(company: Company) -> Company:
    # Serialise the company's ledger writes (see the module's docstring); the unique numbers back this up.
    return Company.objects.select_for_update().get(pk=company.pk)


def _append(company: Company, kind: str, **fields) -> LedgerEntry:
    last = LedgerEntry.objects.filter(company=company, kind=kind).order_by("-number").first()
    return LedgerEntry.objects.create(company=company, kind=kind, number=last.number + 1 if last else 1, **fields)


@transaction.atomic
def credit(registration: Registration, *, user=None, note: str = "") -> LedgerEntry:
    """The registration's credit (at most one, however often this runs), and a slot when it completes one."""
    company = _locked(registration.company)
    existing = LedgerEntry.objects.filter(registration=registration, kind=LedgerKind.CREDIT).first()
    if existing is not None:
        return existing
    ratio = ensure_contract(company).ratio
    progress = progress_toward_slot(company) + 1
    earned = progress >= ratio
    entry = _append(company, LedgerKind.CREDIT, registration=registration, progress_after=0 if earned else progress,
                    created_by=user, note=clean_text(note)[:300])
    if earned:
        slot = _append(company, LedgerKind.SLOT_EARNED, registration=registration, created_by=user,
                       note=_("登録%(count)d件で無料紹介枠を1つ獲得") % {"count": progress})
        # The company's admins hear of it once the slot is committed (a rolled-back credit mails nobody); a
        # failure to plan the mail is logged and never undoes or fails the credit.
        transaction.on_commit(partial(notifications.slot_earned, slot.pk), robust=True)
    return entry


@transaction.atomic
def reverse_credit(credit_entry: LedgerEntry, *, user=None, note: str = "") -> LedgerEntry:
    """Take a granted credit back (the operator found it was not real): a new entry, and the slot it helped
    earn is revoked when the count toward the next slot cannot absorb it."""
    company = _locked(credit_entry.company)
    if credit_entry.kind != LedgerKind.CREDIT:
        raise ValidationError(_("取り消せるのは登録クレジットだけです。"))
    if LedgerEntry.objects.filter(reverses=credit_entry, kind=LedgerKind.CREDIT_REVERSED).exists():
        raise ValidationError(_("このクレジットは既に取り消されています。"))
    progress = progress_toward_slot(company)
    note = clean_text(note)[:300]
    if progress > 0:
        progress -= 1
    elif ledger_summary(company).slots_earned > 0:
        _append(company, LedgerKind.SLOT_REVOKED, registration=credit_entry.registration, created_by=user,
                note=note or _("クレジットの取り消しにより"))
        progress = ensure_contract(company).ratio - 1
    return _append(company, LedgerKind.CREDIT_REVERSED, registration=credit_entry.registration,
                   reverses=credit_entry, progress_after=progress, created_by=user, note=note)


@transaction.atomic
def reserve_slot(request: ReferralRequest, *, user=None) -> LedgerEntry:
    """A referral request takes one of the company's available slots; ValidationError when there is none."""
    company = _locked(request.company)
    existing = LedgerEntry.objects.filter(request=request, kind=LedgerKind.SLOT_RESERVED).first()
    if existing is not None:
        return existing
    if ledger_summary(company).slots_available < 1:
        raise ValidationError(_("利用できる無料紹介枠がありません。"))
    return _append(company, LedgerKind.SLOT_RESERVED, request=request, created_by=user,
                   note=clean_text(request.title)[:300])


def _reservation_open(request: ReferralRequest) -> bool:
    entries = set(LedgerEntry.objects.filter(request=request).values_list("kind", flat=True))
    return LedgerKind.SLOT_RESERVED in entries and not entries & {LedgerKind.SLOT_RELEASED, LedgerKind.SLOT_REDEEMED}


@transaction.atomic
def release_slot(request: ReferralRequest, *, user=None, note: str = "") -> LedgerEntry | None:
    """A request closed without a hire gives its slot back (None when it holds none)."""
    company = _locked(request.company)
    if not _reservation_open(request):
        return None
    return _append(company, LedgerKind.SLOT_RELEASED, request=request, created_by=user, note=clean_text(note)[:300])


@transaction.atomic
def use_slot(introduction: Introduction, *, user=None) -> LedgerEntry | None:
    """A hire through a request uses the slot the request reserved (None when the request holds none, e.g.
    its slot was used by an earlier hire)."""
    request = introduction.request
    company = _locked(request.company)
    if not _reservation_open(request):
        return None
    return _append(company, LedgerKind.SLOT_REDEEMED, request=request, introduction=introduction, created_by=user,
                   note=clean_text(request.title)[:300])


@transaction.atomic
def redeem_slot(company: Company, *, user=None, note: str = "") -> LedgerEntry:
    """The operator records that a free slot was used outside a referral request."""
    company = _locked(company)
    if ledger_summary(company).slots_available < 1:
        raise ValidationError(_("利用できる無料紹介枠がありません。"))
    return _append(company, LedgerKind.SLOT_REDEEMED, note=clean_text(note)[:300], created_by=user)
