from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.core.exceptions import ObjectDoesNotExist, PermissionDenied, ValidationError
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from tsunagu.companies import actions
from tsunagu.companies.console import SESSION_COMPANY, company_view
from tsunagu.companies.forms import CompanySettingsForm, LoginForm
from tsunagu.companies.selectors import api_keys_of, memberships_of
from tsunagu.lib.dkim_signing import dns_record


class LoginView(auth_views.LoginView):
    template_name = "companies/login.html"
    authentication_form = LoginForm
    redirect_authenticated_user = True


@company_view(admin=True)
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


@require_POST
@company_view(admin=True)
def api_key_create(request):
    request.session["new_api_key"] = actions.issue_api_key(request.company, label=request.POST.get("label", "")[:100])
    return redirect("console:settings")


@require_POST
@company_view(admin=True)
def api_key_revoke(request, key_id: int):
    actions.revoke_api_key(request.company, key_id)
    messages.success(request, _("APIキーを無効にしました。"))
    return redirect("console:settings")


@require_POST
@company_view()
def switch_company(request):
    membership = memberships_of(request.user).filter(company_id=request.POST.get("company")).first()
    if membership is None:
        raise PermissionDenied
    request.session[SESSION_COMPANY] = membership.company_id
    return redirect("console:dashboard")
