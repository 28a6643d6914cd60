"""The console's suppression list: the addresses the company does not mail, adding one by hand, lifting one."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from tsunagu.companies.console import company_view
from tsunagu.companies.models import Role
from tsunagu.messaging.actions import suppression as suppressing
from tsunagu.messaging.models import Suppression, SuppressionReason
from tsunagu.talent.normalize import email_key


@company_view(see=Role.VIEWER)
def suppressions(request):
    rows = Suppression.objects.filter(company=request.company).select_related("message")
    query = request.GET.get("q", "").strip()
    reason = request.GET.get("reason", "")
    if query:
        rows = rows.filter(email_key__contains=email_key(query))
    if reason in SuppressionReason.values:
        rows = rows.filter(reason=reason)
    page = Paginator(rows, 50).get_page(request.GET.get("page"))
    return render(request, "messaging/suppressions.html", {
        "page": page, "q": query, "reason": reason, "reasons": SuppressionReason.choices,
    })


@company_view(do=Role.ADMIN)
def suppression_add(request):
    try:
        added = suppressing.add_suppression(request.company, request.POST.get("email", ""),
                                            detail=request.POST.get("detail", "")[:300])
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, _("%(email)sを配信停止リストに追加しました。") % {"email": added.email})
    return redirect("console:suppressions")


@company_view(do=Role.ADMIN)
def suppression_lift(request, suppression_id: int):
    try:
        lifted = suppressing.lift_suppression(request.company, suppression_id)
    except Suppression.DoesNotExist as exc:
        raise Http404 from exc
    messages.success(request, _("%(email)sを配信停止リストから外しました。") % {"email": lifted.email})
    return redirect("console:suppressions")
