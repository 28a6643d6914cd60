"""Saved pool searches: a console user keeps the pool page's filters under a name; the company's members all
see them, and each deletes their own (an admin any, and anyone a search whose author's account is gone)."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied, ValidationError
from django.utils.translation import gettext as _

from tsunagu.companies.models import Company, Membership, Role
from tsunagu.talent.models import SavedSearch

MAX_SAVED_SEARCHES = 200  # per company: a list HR can still read


def save_search(company: Company, user, name: str, params: dict) -> SavedSearch:
    """Keep `params` (PoolQuery.to_params(), already validated) as `name`; the same user saving the same name
    again replaces the filters."""
    existing = SavedSearch.objects.filter(company=company, user=user, name=name).first()
    if existing:
        existing.params = params
        existing.save(update_fields=["params"])
        return existing
    if SavedSearch.objects.filter(company=company).count() >= MAX_SAVED_SEARCHES:
        raise ValidationError(_("保存できる検索は%(max)d件までです。不要なものを削除してください。")
                              % {"max": MAX_SAVED_SEARCHES})
    return SavedSearch.objects.create(company=company, user=user, name=name, params=params)


def may_delete(search: SavedSearch, membership: Membership) -> bool:
    return search.user_id in (None, membership.user_id) or membership.role == Role.ADMIN


def delete_search(company: Company, membership: Membership, search_id: int) -> SavedSearch:
    """Delete one of the company's saved searches; SavedSearch.DoesNotExist for another company's,
    PermissionDenied for a colleague's (unless an admin asks)."""
    search = SavedSearch.objects.get(company=company, pk=search_id)
    if not may_delete(search, membership):
        raise PermissionDenied
    search.delete()
    return search
