"""The operator's contract with each client company: its ratio (registrations per free slot) and fee."""

from __future__ import annotations

from datetime import date

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from tsunagu.companies.models import Company
from tsunagu.relay.models import Contract


def ensure_contract(company: Company) -> Contract:
    """A company's contract, made with the defaults (ratio 10, no fee) when it has none yet."""
    if company.is_operator:
        raise ValidationError(_("運営者には契約がありません。"))
    contract, _created = Contract.objects.get_or_create(company=company)
    return contract


def set_contract(company: Company, *, ratio: int | None = None, fee_yen: int | None = None,
                 starts_on: date | None = None) -> Contract:
    """Operator staff set the terms; what is not given is kept. A new ratio counts from the next credit on:
    slots already earned stay, and credits since the last slot count toward the next one."""
    contract = ensure_contract(company)
    if ratio is not None:
        contract.ratio = ratio
    if fee_yen is not None:
        contract.fee_yen = fee_yen
    if starts_on is not None:
        contract.starts_on = starts_on
    contract.full_clean()
    contract.save()
    return contract
