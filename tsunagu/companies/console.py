"""Console access: every console view runs for one company the logged-in user belongs to, and says which role
may read it (GET) and which may act on it (POST).

Roles are ranked viewer < recruiter < admin; a view names the lowest role for each method, so a role check
never depends on the method alone (an admin-only page refuses a viewer's GET as well as their POST).
"""

from __future__ import annotations

from functools import wraps
from zoneinfo import ZoneInfo

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseNotAllowed
from django.shortcuts import redirect
from django.utils import timezone

from tsunagu.companies.models import Membership, Role
from tsunagu.companies.selectors import memberships_of

SESSION_COMPANY = "tsunagu_company_id"

RANK = {Role.VIEWER: 1, Role.RECRUITER: 2, Role.ADMIN: 3}
READ_METHODS = frozenset({"GET", "HEAD"})
WRITE_METHODS = frozenset({"POST"})


def membership_for(request) -> Membership | None:
    memberships = memberships_of(request.user)
    chosen = request.session.get(SESSION_COMPANY)
    if chosen:
        membership = memberships.filter(company_id=chosen).first()
        if membership:
            return membership
    return memberships.first()


def has_role(membership: Membership, needed: str) -> bool:
    return RANK.get(membership.role, 0) >= RANK[needed]


def company_view(*, see: str | None = None, do: str | None = None, edit: bool = False, admin: bool = False):
    """Log-in required; sets request.company and request.membership.

    `see` is the lowest role that may GET (HEAD) the view, `do` the lowest that may POST; None means the view
    does not answer that method (405). A member without the role gets 403, whatever the method. Operator staff
    without a membership are sent to the operator's desk.

    The older flags still work and fail closed: `admin=True` is admin for both methods, `edit=True` lets
    recruiters act, and a view naming nothing is readable by every member and writable by admins only.
    """
    if see is None and do is None:
        see, do = (Role.ADMIN, Role.ADMIN) if admin else (Role.VIEWER, Role.RECRUITER if edit else Role.ADMIN)
    for level in (see, do):
        if level is not None and level not in RANK:
            raise ValueError(f"unknown role {level!r}")
    allowed = sorted((READ_METHODS if see else set()) | (WRITE_METHODS if do else set()))

    def decorator(view):
        @login_required
        @wraps(view)
        def wrapped(request, *args, **kwargs):
            membership = membership_for(request)
            if membership is None:
                if is_operator(request.user):
                    return redirect("console:operator")
                raise PermissionDenied
            needed = see if request.method in READ_METHODS else do if request.method in WRITE_METHODS else None
            if needed is None:
                return HttpResponseNotAllowed(allowed)
            if not has_role(membership, needed):
                raise PermissionDenied
            request.membership = membership
            request.company = membership.company
            # Times in the console are shown in the company's time zone.
            timezone.activate(ZoneInfo(membership.company.time_zone))
            try:
                return view(request, *args, **kwargs)
            finally:
                timezone.deactivate()

        wrapped.console_roles = {"see": see, "do": do}
        return wrapped

    return decorator


def is_operator(user) -> bool:
    return user.is_authenticated and (user.is_superuser or hasattr(user, "operator_profile"))


def operator_view(view=None, *, see: bool = False, do: bool = False):
    """Operator staff only; everyone else gets 403, whatever the method.

    `@operator_view(see=True)` answers GET (HEAD), `do=True` POST, both for a page with a form; other methods
    get 405 (after the staff check). Bare `@operator_view` leaves the methods to the view.
    """
    if view is not None:
        return _operator_only(view, None)
    if not (see or do):
        raise ValueError("an operator view answers at least one method")
    methods = (READ_METHODS if see else frozenset()) | (WRITE_METHODS if do else frozenset())
    return lambda wrapped_view: _operator_only(wrapped_view, methods)


def _operator_only(view, methods: frozenset | None):
    @login_required
    @wraps(view)
    def wrapped(request, *args, **kwargs):
        if not is_operator(request.user):
            raise PermissionDenied
        if methods is not None and request.method not in methods:
            return HttpResponseNotAllowed(sorted(methods))
        return view(request, *args, **kwargs)

    return wrapped
