"""HR enters its hiring costs per month, for 採用単価 with and without the relay."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from tsunagu.analytics.actions.costs import delete_hiring_cost, set_hiring_cost
from tsunagu.analytics.models import HiringCost
from tsunagu.companies.console import company_view, has_role
from tsunagu.companies.models import Role


@company_view(see=Role.VIEWER, do=Role.ADMIN)
def hiring_costs(request):
    errors, entered = {}, {}
    if request.method == "POST":
        if "delete" in request.POST:
            try:
                delete_hiring_cost(request.company, request.POST["delete"])
            except ValidationError as error:
                messages.error(request, " ".join(error.messages))
            else:
                messages.success(request, _("削除しました。"))
            return redirect("console:hiring_costs")
        entered = {name: request.POST.get(name, "") for name in ("month", "cost_yen", "hires", "note")}
        try:
            set_hiring_cost(request.company, **entered)
        except ValidationError as error:
            errors = {name: " ".join(text) for name, text in error.message_dict.items()}
        else:
            messages.success(request, _("保存しました。"))
            return redirect("console:hiring_costs")
    return render(request, "analytics/hiring_costs.html", {
        "costs": HiringCost.objects.filter(company=request.company).order_by("-month")[:120],
        "errors": errors, "entered": entered, "can_edit": has_role(request.membership, Role.ADMIN),
    }, status=400 if errors else 200)
