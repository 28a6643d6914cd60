"""Reads of the talent pool used by the console (and, as they grow, by the API)."""

from __future__ import annotations

from django.db.models import Count, Exists, Max, OuterRef, Q, QuerySet

from tsunagu.companies.models import Company
from tsunagu.talent.models import Application, ApplicationStatus, Candidate
from tsunagu.talent.normalize import email_key, kana_key, name_key


def search_candidates(company: Company, *, query: str = "", status: str = "") -> QuerySet[Candidate]:
    """The company's candidates, most recently active first, found by name, reading (typed in either kana) or
    address and filtered by the status of an application (an unknown status is ignored).

    The console's first candidates page; the talent pool's search is talent.search.search_pool."""
    rows = Candidate.objects.filter(company=company).annotate(
        application_count=Count("applications"), last_activity=Max("applications__updated_at"),
    ).order_by("-last_activity", "-pk")
    if query:
        rows = rows.filter(Q(name_key__contains=name_key(query)) | Q(email_key__contains=email_key(query))
                           | Q(kana_key__contains=name_key(query)) | Q(kana_key__contains=kana_key(query)))
    if status in ApplicationStatus.values:
        # A subquery, not a join: joining the applications again would multiply application_count.
        rows = rows.filter(Exists(Application.objects.filter(candidate=OuterRef("pk"), status=status)))
    return rows


def applications_of(candidate: Candidate) -> QuerySet[Application]:
    """A candidate's applications with their jobs, events and messages (the candidate page)."""
    return candidate.applications.select_related("job").prefetch_related("events", "messages")
