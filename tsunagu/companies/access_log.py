"""Recording reads and changes of personal data where they happen: a console page, an API handler, the operator's
desk calls one of these once per request, and each is one INSERT (companies.actions.record_access) with what
the request already holds (the user, the company, the API key as presented): no extra read.

Only the relay operator's staff cost one small read: the operator's party, whose log their acts go to."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from tsunagu.companies.actions import operator_party, record_access, record_access_many
from tsunagu.companies.models import AccessChannel, AccessLog


def filter_names(filters: Mapping) -> str:
    """Which filters a search used, e.g. "q,tag,stage_at_least": the names of the filled-in ones, never their
    values (a searched name is personal data). `filters` must be validated input (a form's cleaned data, a
    query's parameters), so that its keys are the code's names and not whatever a client sent."""
    return ",".join(str(name) for name, value in filters.items() if value not in (None, "", [], (), False))


def log_console(request, action: str, subject_kind: str, subject_id: int | None = None, **fields) -> AccessLog:
    """A console page of a company (request.company, request.user: see companies.console.company_view)."""
    return record_access(request.company, user=request.user, channel=AccessChannel.CONSOLE, action=action,
                         subject_kind=subject_kind, subject_id=subject_id, **fields)


def log_console_many(request, action: str, subject_kind: str, subject_ids: Iterable[int], **fields) -> int:
    """A console change of many people at once (bulk tags): one row each, one INSERT."""
    return record_access_many(request.company, subject_ids, user=request.user, channel=AccessChannel.CONSOLE,
                              action=action, subject_kind=subject_kind, **fields)


def presented_api_key(request) -> str:
    """The key of an API call as its Authorization header gave it; record_access keeps only its prefix."""
    scheme, _space, token = request.headers.get("Authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""


def log_api(request, action: str, subject_kind: str, subject_id: int | None = None, **fields) -> AccessLog:
    """A REST API call authenticated by a company's key (request.auth is the company)."""
    return record_access(request.auth, api_key=presented_api_key(request), channel=AccessChannel.API,
                         action=action, subject_kind=subject_kind, subject_id=subject_id, **fields)


def log_operator(request, action: str, subject_kind: str, subject_id: int | None = None, **fields) -> AccessLog:
    """A page of the relay operator's desk: the operator's party's log."""
    return record_access(operator_party(), user=request.user, channel=AccessChannel.OPERATOR, action=action,
                         subject_kind=subject_kind, subject_id=subject_id, **fields)
