"""The record of provision to third parties (第三者提供の記録) for the operator's staff: every introduction the
relay made, filtered by company and month, and as CSV for an auditor (UTF-8 with a BOM, streamed)."""

from __future__ import annotations

from datetime import datetime

from django import forms
from django.core.paginator import Paginator
from django.http import HttpResponse, StreamingHttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from tsunagu.companies.console import operator_view
from tsunagu.companies.models import Company
from tsunagu.lib.spreadsheet import excel_csv_lines
from tsunagu.relay.models import ProvisionRecord

PROVISIONS_PER_PAGE = 50


class ProvisionFilterForm(forms.Form):
    company = forms.ChoiceField(label=gettext_lazy("提供先"), required=False)
    month = forms.CharField(label=gettext_lazy("月"), required=False, max_length=7, widget=forms.TextInput(
        attrs={"type": "month", "placeholder": "2026-12"}))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.companies = {company.slug: company for company in Company.objects.tenants().order_by("name")}
        self.fields["company"].choices = [("", gettext_lazy("すべての企業")),
                                          *((slug, company.name) for slug, company in self.companies.items())]

    def clean_month(self):
        value = self.cleaned_data["month"].strip()
        if not value:
            return None
        try:
            start = datetime.strptime(value, "%Y-%m")
        except ValueError:
            raise forms.ValidationError(gettext_lazy("月は 2026-12 の形で入力してください。")) from None
        return start

    def records(self):
        found = ProvisionRecord.objects.select_related("registrant", "consent")
        company = self.companies.get(self.cleaned_data.get("company") or "")
        if company is not None:
            found = found.filter(recipient=company)
        start = self.cleaned_data.get("month")
        if start is not None:
            end = start.replace(year=start.year + 1, month=1) if start.month == 12 else start.replace(
                month=start.month + 1)
            zone = timezone.get_current_timezone()
            found = found.filter(provided_at__gte=timezone.make_aware(start, zone),
                                 provided_at__lt=timezone.make_aware(end, zone))
        return found.order_by("-provided_at", "-pk")


def _filters(request) -> ProvisionFilterForm:
    form = ProvisionFilterForm(request.GET)
    form.is_valid()
    return form


@operator_view(see=True)
def provisions(request):
    form = _filters(request)
    if form.errors:
        return render(request, "relay/desk/provisions.html", {"form": form, "page": None}, status=400)
    page = Paginator(form.records(), PROVISIONS_PER_PAGE).get_page(request.GET.get("page"))
    return render(request, "relay/desk/provisions.html", {"form": form, "page": page,
                                                           "export_query": request.GET.urlencode()})


def _csv_rows(found):
    header = [_("提供日時"), _("提供先"), _("求人"), _("登録者ID"), _("登録者"), _("提供した項目"), _("同意日時"),
              _("同意文面のハッシュ(SHA-256)"), _("担当者")]
    return excel_csv_lines(header, (_csv_row(record) for record in found.iterator(chunk_size=500)))


def _csv_row(record) -> tuple:
    consent = record.consent
    return (timezone.localtime(record.provided_at).strftime("%Y-%m-%d %H:%M:%S"), record.recipient_name,
            record.request_title, record.registrant_id or "",
            record.registrant.name if record.registrant else _("(削除済み)"), "、".join(record.item_labels),
            timezone.localtime(consent.given_at).strftime("%Y-%m-%d %H:%M:%S") if consent else "",
            consent.text_hash if consent else "", record.staff_email)


@operator_view(see=True)
def provisions_csv(request):
    form = _filters(request)
    if form.errors:
        problems = [message for errors in form.errors.values() for message in errors]
        return HttpResponse("\n".join(problems), status=400, content_type="text/plain; charset=utf-8")
    response = StreamingHttpResponse(_csv_rows(form.records()), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="provisions-{timezone.localdate():%Y%m%d}.csv"'
    return response
