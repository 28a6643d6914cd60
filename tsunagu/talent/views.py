from django.core.paginator import Paginator
from django.db.models import Count, Max, Q
from django.shortcuts import get_object_or_404, render

from tsunagu.companies.console import company_view
from tsunagu.talent.models import ApplicationStatus, Candidate
from tsunagu.talent.normalize import email_key, name_key


@company_view()
def candidates(request):
    query = request.GET.get("q", "").strip()
    status = request.GET.get("status", "")
    rows = Candidate.objects.filter(company=request.company).annotate(
        application_count=Count("applications"), last_activity=Max("applications__updated_at"),
    ).order_by("-last_activity", "-pk")
    if query:
        rows = rows.filter(Q(name_key__contains=name_key(query)) | Q(email_key__contains=email_key(query))
                           | Q(kana_key__contains=name_key(query)))
    if status in ApplicationStatus.values:
        rows = rows.filter(applications__status=status).distinct()
    page = Paginator(rows, 50).get_page(request.GET.get("page"))
    return render(request, "talent/candidates.html", {
        "page": page, "q": query, "status": status, "statuses": ApplicationStatus.choices,
    })


@company_view()
def candidate_detail(request, candidate_id: int):
    candidate = get_object_or_404(Candidate, company=request.company, pk=candidate_id)
    applications = candidate.applications.select_related("job").prefetch_related("events", "messages")
    return render(request, "talent/candidate_detail.html", {
        "candidate": candidate, "applications": applications,
        "registration": candidate.registrations.first(),
    })
