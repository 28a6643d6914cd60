"""The operator's identity (the licensed agency every registrant's mail comes from) and the operator's API
keys (for the agency's own CRM). Operator staff only."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from tsunagu.companies import actions as company_actions
from tsunagu.companies.console import operator_view
from tsunagu.companies.models import Company
from tsunagu.companies.selectors import api_keys_of
from tsunagu.lib.dkim_signing import dns_record
from tsunagu.relay.views.operator_forms import OperatorIdentityForm

SESSION_NEW_KEY = "tsunagu_new_operator_key"


@operator_view(see=True, do=True)
def identity(request):
    party = company_actions.operator_party()
    # The form checks a copy: a refused edit leaves the page's own view of the operator as stored.
    form = OperatorIdentityForm(request.POST or None, instance=Company.objects.get(pk=party.pk))
    if request.method == "POST":
        if form.is_valid():
            try:
                company_actions.update_operator_identity(**form.changes())
            except ValidationError as exc:
                form.add_error(None, exc)
            else:
                messages.success(request, _("運営者の情報を保存しました。"))
                return redirect("console:operator_identity")
    return render(request, "relay/desk/identity.html", {
        "form": form, "party": party, "api_keys": api_keys_of(party), "dkim_record": dns_record(party),
        "new_api_key": request.session.pop(SESSION_NEW_KEY, None),
    }, status=400 if form.errors else 200)


@operator_view(do=True)
def api_key_create(request):
    party = company_actions.operator_party()
    label = request.POST.get("label", "").strip()[:100]
    # Shown once, on the next page (the session holds it for that one view), never stored in the clear.
    request.session[SESSION_NEW_KEY] = key = company_actions.issue_api_key(party, label=label)
    company_actions.record_event(party, request.user, company_actions.API_KEY_ISSUED,
                                 f"{company_actions.public_part(key)} {label}".strip())
    return redirect("console:operator_identity")


@operator_view(do=True)
def api_key_revoke(request, key_id: int):
    party = company_actions.operator_party()
    if not api_keys_of(party).filter(pk=key_id).exists():
        raise Http404
    revoked = company_actions.revoke_api_key(party, key_id)
    if revoked:
        company_actions.record_event(party, request.user, company_actions.API_KEY_REVOKED, revoked)
    messages.success(request, _("APIキーを無効にしました。"))
    return redirect("console:operator_identity")
