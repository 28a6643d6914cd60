"""The access log's console pages: the company's record of who read or changed personal data, filtered a page at a
time (never counted, never loaded whole), and its CSV export, streamed. Admins of a company see the company's
log; the relay operator's staff (without a company) see the operator's own party's log at the same URLs.

The log is read here and never changed: both URLs answer GET only."""

from __future__ import annotations

from functools import wraps
from zoneinfo import ZoneInfo

from django.contrib.auth.decorators import login_required
from django.http import HttpResponse, HttpResponseNotAllowed, StreamingHttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _

from tsunagu.companies.actions import operator_party, record_access
from tsunagu.companies.console import READ_METHODS, company_view, is_operator, membership_for
from tsunagu.companies.forms import AccessExportForm, AccessLogFilterForm
from tsunagu.companies.models import SUBJECT_KINDS, AccessAction, AccessChannel, AccessLog, Role
from tsunagu.companies.selectors import access_log_of, access_log_older_than
from tsunagu.lib.spreadsheet import excel_csv_lines

PAGE_SIZE = 50
CSV_CHUNK = 2000  # rows read at a time while streaming


def access_log_view(view):
    """GET only. A company member must be an admin (company_view's rules: 403, 405); operator staff without a
    company read the operator's party's log. The view gets (request, owner, channel)."""
    as_company = company_view(see=Role.ADMIN)(lambda request: view(request, request.company, AccessChannel.CONSOLE))

    @login_required
    @wraps(view)
    def wrapped(request):
        if membership_for(request) is not None or not is_operator(request.user):
            return as_company(request)
        if request.method not in READ_METHODS:
            return HttpResponseNotAllowed(sorted(READ_METHODS))
        owner = operator_party()
        timezone.activate(ZoneInfo(owner.time_zone))
        try:
            return view(request, owner, AccessChannel.OPERATOR)
        finally:
            timezone.deactivate()

    wrapped.console_roles = {"see": Role.ADMIN, "do": None}
    return wrapped


def _filtered(request, owner):
    form = AccessLogFilterForm(request.GET)
    if not form.is_valid():
        return form, None
    return form, access_log_of(owner, **form.cleaned_data)


@access_log_view
def access_log(request, owner, channel):
    form, rows = _filtered(request, owner)
    context = {"form": form, "owner": owner, "rows": [], "older": None, "export_form": AccessExportForm(),
               "problems": form.problems() if rows is None else [], "query": _query_without_cursor(request)}
    if rows is None:
        return render(request, "companies/access_log.html", context, status=400)
    cursor = _cursor(request.GET.get("before"))
    if cursor is not None:
        after = AccessLog.objects.filter(company=owner, pk=cursor).first()
        if after is not None:
            rows = access_log_older_than(rows, after)
            context["paged"] = True
    page = list(rows.select_related(None)[:PAGE_SIZE + 1])
    context["rows"] = page[:PAGE_SIZE]
    context["older"] = page[PAGE_SIZE - 1].pk if len(page) > PAGE_SIZE else None
    return render(request, "companies/access_log.html", context)


def _cursor(value) -> int | None:
    value = (value or "").strip()
    return int(value) if value.isascii() and value.isdigit() and len(value) < 19 else None


def _query_without_cursor(request) -> str:
    params = request.GET.copy()
    params.pop("before", None)
    params.pop("purpose", None)
    return params.urlencode()


@access_log_view
def access_log_csv(request, owner, channel):
    """The filtered log as CSV (UTF-8 with a BOM, for Excel), streamed a chunk at a time. The download is itself
    a row of the log (export of the access log, with the filters used and the purpose given)."""
    form, rows = _filtered(request, owner)
    export = AccessExportForm(request.GET)
    if rows is None or not export.is_valid():
        problems = form.problems() + [message for errors in export.errors.values() for message in errors]
        return HttpResponse("\n".join(problems), status=400, content_type="text/plain; charset=utf-8")
    record_access(owner, user=request.user, channel=channel, action=AccessAction.EXPORT, subject_kind="access_log",
                  purpose=export.cleaned_data["purpose"], detail=",".join(
                      name for name, value in form.cleaned_data.items() if value not in (None, "")))
    response = StreamingHttpResponse(_csv_lines(rows, ZoneInfo(owner.time_zone)),
                                     content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="access-log-{timezone.localdate():%Y%m%d}.csv"'
    return response


def _csv_lines(rows, zone):
    # Labels in the request's language, read now: the generator runs after the view has returned.
    header = [_("日時"), _("操作した人"), _("経路"), _("操作"), _("対象の種類"), _("対象ID"), _("対象の人数"),
              _("利用目的"), _("詳細")]
    channels = {value: str(label) for value, label in AccessChannel.choices}
    actions = {value: str(label) for value, label in AccessAction.choices}
    kinds = {value: str(label) for value, label in SUBJECT_KINDS.items()}
    return excel_csv_lines(header, (
        (row.created_at.astimezone(zone).strftime("%Y-%m-%d %H:%M:%S"), row.actor,
         channels.get(row.channel, row.channel), actions.get(row.action, row.action),
         kinds.get(row.subject_kind, row.subject_kind), row.subject_id, row.subject_count, row.purpose, row.detail)
        for row in rows.iterator(chunk_size=CSV_CHUNK)))
