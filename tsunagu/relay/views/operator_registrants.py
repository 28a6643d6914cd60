"""The operator's registrants (its candidates): search and filters, a CSV export for Excel, and each person's
record: the companies they came through, their consents word for word, their place in the pipeline, the
advisors' notes."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db.models import Prefetch
from django.http import HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _

from tsunagu.companies.access_log import filter_names, log_operator
from tsunagu.companies.console import operator_view
from tsunagu.companies.models import AccessAction
from tsunagu.lib.spreadsheet import excel_csv_lines
from tsunagu.relay.actions import consents as consent_actions
from tsunagu.relay.actions import registrants as registrant_actions
from tsunagu.relay.models import Introduction, Registrant, RegistrantStatus, Registration
from tsunagu.relay.selectors import search_registrants
from tsunagu.relay.views.operator_forms import (
    NoteForm,
    RegistrantFilterForm,
    RegistrantProfileForm,
    WithdrawConsentsForm,
)
from tsunagu.relay.views.operator_review import reason_labels

REGISTRANTS_PER_PAGE = 50


def _filters(request) -> RegistrantFilterForm:
    form = RegistrantFilterForm(request.GET)
    form.is_valid()
    return form


def _companies_they_came_through() -> Prefetch:
    # Each row of the list and of the CSV names the companies whose links the person registered through.
    return Prefetch("registrations", queryset=Registration.objects.select_related("company").order_by("created_at"))


@operator_view(see=True)
def registrants(request):
    form = _filters(request)
    if form.errors:
        return render(request, "relay/desk/registrants.html", {"form": form, "page": None}, status=400)
    found = search_registrants(**form.search_arguments()).prefetch_related(_companies_they_came_through())
    page = Paginator(found, REGISTRANTS_PER_PAGE).get_page(request.GET.get("page"))
    log_operator(request, AccessAction.SEARCH, "registrant", subject_count=page.paginator.count,
                 detail=filter_names(form.cleaned_data))
    return render(request, "relay/desk/registrants.html", {"form": form, "page": page,
                                                            "export_query": request.GET.urlencode()})


def _csv_rows(found):
    header = [_("ID"), _("氏名"), _("フリガナ"), _("メールアドレス"), _("電話番号"), _("希望職種"), _("希望勤務地"),
              _("状態"), _("最初の紹介元"), _("紹介元企業"), _("登録日時"), _("更新日時")]
    return excel_csv_lines(header, (_csv_row(registrant) for registrant in found.iterator(chunk_size=500)))


def _csv_row(registrant) -> tuple:
    companies = "、".join(r.company.name for r in registrant.registrations.all())
    return (registrant.pk, registrant.name, registrant.name_kana, registrant.email, registrant.phone,
            registrant.desired_job, registrant.desired_region, registrant.get_status_display(),
            registrant.first_company.name if registrant.first_company else "", companies,
            timezone.localtime(registrant.created_at).strftime("%Y-%m-%d %H:%M"),
            timezone.localtime(registrant.updated_at).strftime("%Y-%m-%d %H:%M"))


@operator_view(see=True)
def registrants_csv(request):
    """The filtered list (all pages) as CSV: UTF-8 with a BOM, CRLF line ends, for Excel."""
    form = _filters(request)
    if form.errors:
        problems = [message for errors in form.errors.values() for message in errors]
        return HttpResponse("\n".join(problems), status=400, content_type="text/plain; charset=utf-8")
    found = search_registrants(**form.search_arguments()).prefetch_related(_companies_they_came_through())
    # How many people the file holds is not counted (a count of every registrant would be a second read).
    log_operator(request, AccessAction.EXPORT, "registrant", detail=filter_names(form.cleaned_data),
                 purpose=request.GET.get("purpose", ""))
    response = StreamingHttpResponse(_csv_rows(found), content_type="text/csv; charset=utf-8")
    filename = f"registrants-{timezone.localdate():%Y%m%d}.csv"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def _registrant_page(request, registrant: Registrant, *, profile_form=None, note_form=None, withdraw_form=None,
                     status: int = 200):
    registrations = registrant.registrations.select_related("company", "reviewed_by").order_by("created_at", "pk")
    introductions = (Introduction.objects.filter(registrant=registrant)
                     .select_related("request__company").order_by("-created_at", "-pk"))
    return render(request, "relay/desk/registrant.html", {
        "registrant": registrant,
        "registrations": [(r, reason_labels(r.reasons)) for r in registrations],
        "consents": registrant.consents.select_related("company", "introduction__request"),
        "notes": registrant.notes.select_related("author"),
        "introductions": introductions,
        "statuses": RegistrantStatus.choices,
        "profile_form": profile_form or RegistrantProfileForm(instance=registrant),
        "note_form": note_form or NoteForm(),
        "withdraw_form": withdraw_form or WithdrawConsentsForm(),
        "open_consents": any(c.withdrawn_at is None for c in registrant.consents.all()),
        "provisions": registrant.provisions.order_by("-provided_at", "-pk"),
    }, status=status)


@operator_view(see=True)
def registrant(request, pk: int):
    person = get_object_or_404(Registrant, pk=pk)
    log_operator(request, AccessAction.VIEW, "registrant", person.pk)
    return _registrant_page(request, person)


@operator_view(do=True)
def registrant_status(request, pk: int):
    person = get_object_or_404(Registrant, pk=pk)
    try:
        registrant_actions.change_status(person, request.POST.get("status", ""), user=request.user)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return _registrant_page(request, person, status=400)
    log_operator(request, AccessAction.CHANGE, "registrant", person.pk, detail="status")
    messages.success(request, _("状態を変更しました。"))
    return redirect("console:operator_registrant", pk=person.pk)


@operator_view(do=True)
def registrant_note(request, pk: int):
    person = get_object_or_404(Registrant, pk=pk)
    form = NoteForm(request.POST)
    if form.is_valid():
        try:
            registrant_actions.add_note(person, form.cleaned_data["text"], user=request.user)
        except ValidationError as exc:
            form.add_error("text", exc)
    if form.errors:
        return _registrant_page(request, person, note_form=form, status=400)
    log_operator(request, AccessAction.CHANGE, "registrant", person.pk, detail="note")
    messages.success(request, _("メモを追加しました。"))
    return redirect("console:operator_registrant", pk=person.pk)


@operator_view(do=True)
def registrant_profile(request, pk: int):
    person = get_object_or_404(Registrant, pk=pk)
    form = RegistrantProfileForm(request.POST, instance=Registrant.objects.get(pk=person.pk))
    if form.is_valid():
        try:
            registrant_actions.update_profile(person, user=request.user, **{
                field: form.cleaned_data[field] for field in RegistrantProfileForm.Meta.fields})
        except ValidationError as exc:
            form.add_error(None, exc)
    if form.errors:
        return _registrant_page(request, person, profile_form=form, status=400)
    log_operator(request, AccessAction.CHANGE, "registrant", person.pk, detail=",".join(form.changed_data))
    messages.success(request, _("登録情報を保存しました。"))
    return redirect("console:operator_registrant", pk=person.pk)


@operator_view(do=True)
def registrant_withdraw_consents(request, pk: int):
    """Staff withdraw consents for a person who asked by phone or letter; the registrant's history says who."""
    person = get_object_or_404(Registrant, pk=pk)
    form = WithdrawConsentsForm(request.POST)
    if form.is_valid():
        via = _("運営スタッフ(%(staff)s)が受付: %(how)s") % {"staff": request.user.email,
                                                       "how": form.cleaned_data["via"]}
        try:
            withdrawn = consent_actions.withdraw_consents(person, when=timezone.now(), via=via,
                                                          kinds=form.kinds(), user=request.user)
        except ValidationError as exc:
            form.add_error(None, exc)
    if form.errors:
        return _registrant_page(request, person, withdraw_form=form, status=400)
    if withdrawn:
        messages.success(request, _("同意を%(count)d件撤回しました。") % {"count": len(withdrawn)})
    else:
        messages.info(request, _("撤回できる同意はありません(すでに撤回済みです)。"))
    return redirect("console:operator_registrant", pk=person.pk)
