"""Reads of companies, memberships and API keys used by more than one caller."""

from __future__ import annotations

from django.db.models import QuerySet

from tsunagu.companies.models import ApiKey, Company, Membership


def company_by_slug(slug: str) -> Company | None:
    """The company a command line names (`--company SLUG`), or None."""
    return Company.objects.filter(slug=slug).first()


def memberships_of(user) -> QuerySet[Membership]:
    """The user's memberships with their companies, oldest first (the first is the default company)."""
    return Membership.objects.filter(user=user).select_related("company").order_by("pk")


def api_keys_of(company: Company) -> QuerySet[ApiKey]:
    return ApiKey.objects.filter(company=company).order_by("-created_at")
