from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, render

from tsunagu.companies.console import company_view
from tsunagu.companies.models import Role
from tsunagu.talent.models import ApplicationStatus, Candidate
from tsunagu.talent.selectors import applications_of, search_candidates


@company_view(see=Role.VIEWER)
def candidates(request):
    query = request.GET.get("q", "").strip()
    status = request.GET.get("status", "")
    page = Paginator(search_candidates(request.company, query=query, status=status), 50).get_page(
        request.GET.get("page"))
    return render(request, "talent/candidates.html", {
        "page": page, "q": query, "status": status, "statuses": ApplicationStatus.choices,
    })


@company_view(see=Role.VIEWER)
def candidate_detail(request, candidate_id: int):
    candidate = get_object_or_404(Candidate, company=request.company, pk=candidate_id)
    return render(request, "talent/candidate_detail.html", {
        "candidate": candidate, "applications": applications_of(candidate),
        "registration": candidate.registrations.first(),
    })
