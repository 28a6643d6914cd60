"""Console access: every console view runs for one company the logged-in user belongs to."""

from __future__ import annotations

from functools import wraps
from zoneinfo import ZoneInfo

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect
from django.utils import timezone

from tsunagu.companies.models import Membership
from tsunagu.companies.selectors import memberships_of

SESSION_COMPANY = "tsunagu_company_id"


def membership_for(request) -> Membership | None:
    memberships = memberships_of(request.user)
    chosen = request.session.get(SESSION_COMPANY)
    if chosen:
        membership = memberships.filter(company_id=chosen).first()
        if membership:
            return membership
    return memberships.first()


def company_view(*, edit: bool = False, admin: bool = False):
    """Log-in required; sets request.company and request.membership. `edit` views refuse viewers on POST."""

    def decorator(view):
        @login_required
        @wraps(view)
        def wrapped(request, *args, **kwargs):
            membership = membership_for(request)
            if membership is None:
                if is_operator(request.user):
                    return redirect("console:operator")
                raise PermissionDenied
            if request.method == "POST" and edit and not membership.can_edit:
                raise PermissionDenied
            if request.method == "POST" and admin and not membership.is_admin:
                raise PermissionDenied
            request.membership = membership
            request.company = membership.company
            # Times in the console are shown in the company's time zone.
            timezone.activate(ZoneInfo(membership.company.time_zone))
            try:
                return view(request, *args, **kwargs)
            finally:
                timezone.deactivate()

        return wrapped

    return decorator


def is_operator(user) -> bool:
    return user.is_authenticated and (user.is_superuser or hasattr(user, "operator_profile"))


def operator_view(view):
    @login_required
    @wraps(view)
    def wrapped(request, *args, **kwargs):
        if not is_operator(request.user):
            raise PermissionDenied
        return view(request, *args, **kwargs)

    return wrapped
