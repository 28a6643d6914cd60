from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.core.exceptions import ObjectDoesNotExist, PermissionDenied, ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from tsunagu.companies import actions
from tsunagu.companies.console import SESSION_COMPANY, company_view
from tsunagu.companies.forms import CompanySettingsForm, LoginForm
from tsunagu.companies.models import Role
from tsunagu.companies.selectors import api_keys_of, memberships_of
from tsunagu.lib.dkim_signing import dns_record


class LoginView(auth_views.LoginView):
    template_name = "companies/login.html"
    authentication_form = LoginForm
    redirect_authenticated_user = True


@company_view(see=Role.ADMIN, do=Role.ADMIN)
def settings_page(request):
    company = request.company
    form = CompanySettingsForm(request.POST or None, instance=company)
    if request.method == "POST" and form.is_valid():
        try:
            actions.update_company_settings(company, **form.changes())
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, _("設定を保存しました。"))
            return redirect("console:settings")
    keys = api_keys_of(company)
    return render(request, "companies/settings.html", {"form": form, "api_keys": keys,
                                                       "new_api_key": request.session.pop("new_api_key", None),
                                                       "dkim_record": dns_record(company),
                                                       "contract": _relay_contract(company)})


def _relay_contract(company):
    """The relay operator's contract with the company (ratio, fee), shown read-only: the operator sets it, never
    the company. Read through its reverse relation: companies cannot import the relay (a higher layer)."""
    try:
        return company.relay_contract
    except ObjectDoesNotExist:
        return None


@company_view(do=Role.ADMIN)
def api_key_create(request):
    label = request.POST.get("label", "")[:100]
    # Shown once, on the next page (the session holds it for that one view); recorded, without the key.
    request.session["new_api_key"] = key = actions.issue_api_key(request.company, label=label)
    actions.record_event(request.company, request.user, actions.API_KEY_ISSUED,
                         f"{actions.public_part(key)} {label}".strip())
    return redirect("console:settings")


@company_view(do=Role.ADMIN)
def api_key_revoke(request, key_id: int):
    if not api_keys_of(request.company).filter(pk=key_id).exists():
        raise Http404
    revoked = actions.revoke_api_key(request.company, key_id)
    if revoked:
        actions.record_event(request.company, request.user, actions.API_KEY_REVOKED, revoked)
    messages.success(request, _("APIキーを無効にしました。"))
    return redirect("console:settings")


@company_view(do=Role.VIEWER)
def switch_company(request):
    membership = memberships_of(request.user).filter(company_id=request.POST.get("company")).first()
    if membership is None:
        raise PermissionDenied
    request.session[SESSION_COMPANY] = membership.company_id
    return redirect("console:dashboard")
