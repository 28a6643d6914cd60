"""Reads of companies, memberships and API keys used by more than one caller."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.db.models import Q, QuerySet

from tsunagu.companies.models import AccessLog, ApiKey, Company, Membership


def company_by_slug(slug: str) -> Company | None:
    """The company a command line names (`--company SLUG`), or None."""
    return Company.objects.filter(slug=slug).first()


def memberships_of(user) -> QuerySet[Membership]:
    """The user's memberships with their companies, oldest first (the first is the default company)."""
    return Membership.objects.filter(user=user).select_related("company").order_by("pk")


def api_keys_of(company: Company) -> QuerySet[ApiKey]:
    return ApiKey.objects.filter(company=company).order_by("-created_at")


def access_log_of(company: Company, *, date_from: date | None = None, date_to: date | None = None, actor: str = "",
                  action: str = "", subject_kind: str = "", subject_id: int | None = None) -> QuerySet[AccessLog]:
    """The company's access log, newest first, filtered: days are the company's own (its time zone), `actor`
    is part of the address (or of "API key <prefix>")."""
    rows = AccessLog.objects.filter(company=company)
    zone = ZoneInfo(company.time_zone)
    if date_from:
        rows = rows.filter(created_at__gte=datetime.combine(date_from, time.min, zone))
    if date_to:
        rows = rows.filter(created_at__lt=datetime.combine(date_to + timedelta(days=1), time.min, zone))
    if actor:
        rows = rows.filter(actor__icontains=actor)
    if action:
        rows = rows.filter(action=action)
    if subject_kind:
        rows = rows.filter(subject_kind=subject_kind)
    if subject_id is not None:
        rows = rows.filter(subject_id=subject_id)
    return rows.order_by("-created_at", "-pk")


def access_log_older_than(rows: QuerySet[AccessLog], row: AccessLog) -> QuerySet[AccessLog]:
    """The rows after `row` in the log's order (newest first): the next page, read from the index, not counted."""
    return rows.filter(Q(created_at__lt=row.created_at) | Q(created_at=row.created_at, pk__lt=row.pk))
