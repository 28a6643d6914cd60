"""The console's privacy pages, for a company's HR (its candidates) and for the relay operator's staff (its
registrants): the person's requests with their due dates, filed for someone who asked by phone or letter and
carried out; and what the retention period will remove in the next 30 days, with the mail asking people to stay.

Who may do what: recruiters see and file requests; only admins carry them out, download a person's data or
manage retention (a deletion cannot be undone). Operator staff do all of it for registrants.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import timedelta

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _

from tsunagu.companies.access_log import log_console, log_operator
from tsunagu.companies.actions import operator_party
from tsunagu.companies.console import company_view, operator_view
from tsunagu.companies.models import AccessAction, Role
from tsunagu.privacy.actions import consent as consent_actions
from tsunagu.privacy.actions import requests as request_actions
from tsunagu.privacy.actions.retention import PREVIEW_DAYS, candidates_due, deadline_of, registrants_due
from tsunagu.privacy.models import Erasure, PrivacyRequest, RequestChannel, RequestKind
from tsunagu.privacy.person_export import candidate_export, registrant_export
from tsunagu.privacy.selectors import requests_of
from tsunagu.relay.models import Registrant
from tsunagu.talent.models import Candidate

PAGE_ROWS = 100
MAX_ID = 2**63 - 1


@dataclass(frozen=True)
class _Party:
    company: object
    operator: bool

    def url(self, name: str) -> str:
        return f"console:{'operator_' if self.operator else ''}{name}"


def _company(request) -> _Party:
    return _Party(request.company, False)


def _operator(request) -> _Party:
    return _Party(operator_party(), True)


def _request_of(party: _Party, pk: int) -> PrivacyRequest:
    return get_object_or_404(PrivacyRequest.objects.select_related("candidate", "registrant"), company=party.company,
                             pk=pk)


# --- the list, and filing a request ------------------------------------------------------------------

def _requests(request, party: _Party):
    rows = list(requests_of(party.company)[:PAGE_ROWS])
    today = timezone.localdate()
    return render(request, "privacy/requests.html", {
        "party": party, "rows": rows, "today": today,
        "erasures": Erasure.objects.filter(company=party.company)[:20]})


def _subject(party: _Party, raw: str):
    """The person a staff member names by id: the company's live candidate or the operator's registrant."""
    if not (raw.isascii() and raw.isdigit()) or not 0 < int(raw) <= MAX_ID:
        return None
    if party.operator:
        return Registrant.objects.exclude(email_key__startswith="erased:").filter(pk=int(raw)).first()
    return Candidate.objects.filter(company=party.company, pk=int(raw), erased_at__isnull=True).first()


def _request_new(request, party: _Party):
    raw = (request.POST.get("subject") if request.method == "POST" else request.GET.get("subject", "")) or ""
    subject = _subject(party, raw.strip())
    errors = {}
    if request.method == "POST":
        if subject is None:
            errors = {"subject": [_("対象の方が見つかりません。IDを確かめてください。")]}
        else:
            try:
                filed = request_actions.file_request(
                    party.company, kind=request.POST.get("kind", ""), channel=request.POST.get("channel", ""),
                    note=request.POST.get("note", ""), user=request.user,
                    suppress_mail=request.POST.get("suppress_mail") == "on",
                    **({"registrant": subject} if party.operator else {"candidate": subject}))
            except ValidationError as exc:
                errors = exc.message_dict
            else:
                messages.success(request, _("請求を記録しました。対応期限は%(date)sです。") % {"date": filed.due_on})
                return redirect(party.url("privacy_request"), pk=filed.pk)
    return render(request, "privacy/request_new.html", {
        "party": party, "subject": subject, "subject_raw": raw[:30], "errors": errors, "form": request.POST,
        "kinds": RequestKind.choices, "channels": [c for c in RequestChannel.choices if c[0] != "web"],
    }, status=400 if errors else 200)


def _request_detail(request, party: _Party, pk: int):
    return render(request, "privacy/request_detail.html", {"party": party, "row": _request_of(party, pk)})


def _carry_out(request, party: _Party, pk: int):
    row = _request_of(party, pk)
    if request.POST.get("confirm") != "yes":
        messages.error(request, _("確認のチェックを入れてください。"))
        return redirect(party.url("privacy_request"), pk=pk)
    request_actions.carry_out(row, user=request.user)
    messages.success(request, _("対応済みにしました。"))
    return redirect(party.url("privacy_request"), pk=pk)


def _cancel(request, party: _Party, pk: int):
    request_actions.cancel(_request_of(party, pk), user=request.user)
    return redirect(party.url("privacy_request"), pk=pk)


def _export(request, party: _Party, pk: int):
    row = _request_of(party, pk)
    if row.candidate is not None and row.candidate.erased_at is None:
        data = candidate_export(row.candidate)
        log_console(request, AccessAction.EXPORT, "candidate", row.candidate.pk, purpose=f"request #{row.pk}")
    elif row.registrant is not None and not row.registrant.email_key.startswith("erased:"):
        data = registrant_export(row.registrant, party.company)
        log_operator(request, AccessAction.EXPORT, "registrant", row.registrant.pk, purpose=f"request #{row.pk}")
    else:
        raise Http404
    response = HttpResponse(json.dumps(data, ensure_ascii=False, indent=2),
                            content_type="application/json; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="personal-data-{pk}.json"'
    return response


# --- the company's pages -----------------------------------------------------------------------------

@company_view(see=Role.RECRUITER)
def requests(request):
    return _requests(request, _company(request))


@company_view(see=Role.RECRUITER, do=Role.RECRUITER)
def request_new(request):
    return _request_new(request, _company(request))


@company_view(see=Role.RECRUITER)
def request_detail(request, pk: int):
    return _request_detail(request, _company(request), pk)


@company_view(do=Role.ADMIN)
def request_carry_out(request, pk: int):
    return _carry_out(request, _company(request), pk)


@company_view(do=Role.ADMIN)
def request_cancel(request, pk: int):
    return _cancel(request, _company(request), pk)


@company_view(see=Role.ADMIN)
def request_export(request, pk: int):
    return _export(request, _company(request), pk)


@company_view(see=Role.ADMIN)
def retention(request):
    company, now = request.company, timezone.now()
    due = candidates_due(company, now + timedelta(days=PREVIEW_DAYS))
    rows = [(candidate, deadline_of(company, candidate)) for candidate in due[:PAGE_ROWS]]
    log_console(request, AccessAction.SEARCH, "candidate", subject_count=len(rows), detail="retention")
    return render(request, "privacy/retention.html", {
        "rows": rows, "due_count": due.count(), "past_count": candidates_due(company, now).count(),
        "preview_days": PREVIEW_DAYS, "company": company})


@company_view(do=Role.ADMIN)
def retention_ask(request):
    raw = request.POST.getlist("candidate")
    if len(raw) > consent_actions.MAX_PER_CALL or not all(v.isascii() and v.isdigit() and len(v) < 19 for v in raw):
        messages.error(request, _("対象の指定が正しくありません。"))
        return redirect("console:privacy_retention")
    result = consent_actions.ask_to_stay(request.company, candidate_ids=[int(v) for v in raw] if raw else None)
    messages.success(request, _("%(asked)d人に確認のメールを送ります(連絡できない%(skipped)d人を除きます)。") % result)
    return redirect("console:privacy_retention")


# --- the operator's pages ----------------------------------------------------------------------------

@operator_view(see=True)
def operator_requests(request):
    return _requests(request, _operator(request))


@operator_view(see=True, do=True)
def operator_request_new(request):
    return _request_new(request, _operator(request))


@operator_view(see=True)
def operator_request_detail(request, pk: int):
    return _request_detail(request, _operator(request), pk)


@operator_view(do=True)
def operator_request_carry_out(request, pk: int):
    return _carry_out(request, _operator(request), pk)


@operator_view(do=True)
def operator_request_cancel(request, pk: int):
    return _cancel(request, _operator(request), pk)


@operator_view(see=True)
def operator_request_export(request, pk: int):
    return _export(request, _operator(request), pk)


@operator_view(see=True)
def operator_retention(request):
    operator, now = operator_party(), timezone.now()
    due = registrants_due(operator, now + timedelta(days=PREVIEW_DAYS))
    return render(request, "privacy/operator_retention.html", {
        "rows": [(r, r.updated_at + timedelta(days=operator.retention_days)) for r in due[:PAGE_ROWS]],
        "due_count": due.count(), "past_count": registrants_due(operator, now).count(),
        "preview_days": PREVIEW_DAYS, "retention_days": operator.retention_days})
