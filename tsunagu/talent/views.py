"""The console's talent pool: the candidates page (one query box, filters, facet counts, saved searches, bulk
tags) and the candidate page (profile, skills and tags, the history of every application).

Searching is talent.pool_page (search_page: the page, its count and facets) and talent.search_reasons (tags_of,
match_reasons); every change goes through talent.actions (pool, saved_searches). Viewers read; recruiters and admins change.
"""

from __future__ import annotations

from dataclasses import replace
from types import SimpleNamespace
from urllib.parse import urlencode

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpResponseBadRequest, QueryDict
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils.html import escape
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from tsunagu.companies.access_log import filter_names, log_console, log_console_many
from tsunagu.companies.console import company_view, has_role
from tsunagu.companies.models import AccessAction, Role
from tsunagu.talent.actions import pool
from tsunagu.talent.actions import saved_searches as saving
from tsunagu.talent.forms import CandidateProfileForm, SavedSearchForm, TagForm, split_typed_tags
from tsunagu.talent.models import Candidate, Job, PoolState, SavedSearch, TagKind
from tsunagu.talent.pool_page import SAMPLE_SIZE, Facets, search_page
from tsunagu.talent.regions import PREFECTURE_NAMES, PREFECTURES
from tsunagu.talent.search import PoolQuery, match_reasons
from tsunagu.talent.search_reasons import TagRow, tags_of
from tsunagu.talent.selectors import applications_of
from tsunagu.talent.stages import Stage

PAGE_SIZE = 25  # a screen of results; each row costs its tags, reasons and rendering
MAX_TICKED = 500  # rows one bulk change may name (a page holds PAGE_SIZE)

FACETS = [
    ("tag", gettext_lazy("タグ")), ("skill", gettext_lazy("スキル")), ("stage", gettext_lazy("到達した選考ステップ")),
    ("region", gettext_lazy("地域")), ("evaluation", gettext_lazy("評価")), ("job_category", gettext_lazy("職種カテゴリ")),
]


# --- the candidates page ------------------------------------------------------------------------------

def pool_params(data) -> QueryDict:
    """The page's GET parameters as PoolQuery.from_params reads them: tags typed in one box ("Python、AWS") become
    one `tag` each, and the region's free-text box stands in for the prefecture select when that is empty."""
    params = QueryDict(mutable=True)
    for key, values in data.lists():
        if key in ("page", "region_text"):
            continue
        if key == "tag":
            values = [tag for value in values for tag in split_typed_tags(value)]
        params.setlist(key, [value for value in values if value.strip()])
    region_text = data.get("region_text", "").strip()
    if region_text and not params.get("region"):
        params["region"] = region_text
    return params


def query_string(query: PoolQuery) -> str:
    return urlencode(query.to_params(), doseq=True)


def pool_url(query: PoolQuery | None = None) -> str:
    url = reverse("console:candidates")
    params = query_string(query) if query else ""
    return f"{url}?{params}" if params else url


def campaign_url(query: PoolQuery) -> str | None:
    """The campaign page for this search's audience (messaging's console), when that page exists."""
    try:
        url = reverse("console:campaign_new")
    except NoReverseMatch:
        return None
    params = query_string(query)
    return f"{url}?{params}" if params else url


def facet_links(counts: Facets, query: PoolQuery) -> list[dict]:
    """Each facet's values with their counts and the link that adds (or, when already chosen, removes) the
    filter."""
    facets = []
    base = reverse("console:candidates")
    for name, title in FACETS:
        values = []
        for value, label, count in counts.get(name, []):
            chosen, toggled = toggle(query, name, value)
            params = query_string(toggled)
            values.append({"label": label, "count": count, "chosen": chosen,
                           "url": f"{base}?{params}" if params else base})
        if values:
            facets.append({"name": name, "title": title, "values": values})
    return facets


def toggle(query: PoolQuery, facet: str, value: str) -> tuple[bool, PoolQuery]:
    if facet in ("tag", "skill"):
        chosen = value in query.tags
        tags = tuple(tag for tag in query.tags if tag != value) if chosen else (*query.tags, value)
        return chosen, replace(query, tags=tags)
    if facet == "stage":
        stage = int(value)
        chosen = query.stage_at_least == stage
        return chosen, replace(query, stage_at_least=0 if chosen else stage)
    field = {"region": "region", "evaluation": "evaluation", "job_category": "job_category"}[facet]
    chosen = getattr(query, field) == value
    return chosen, replace(query, **{field: "" if chosen else value})


def saved_search_rows(request) -> list[dict]:
    rows = SavedSearch.objects.filter(company=request.company).select_related("user")
    return [{
        "search": search, "url": pool_url_from_params(search.params),
        "mine": search.user_id == request.user.pk, "can_delete": saving.may_delete(search, request.membership),
    } for search in rows]


def pool_url_from_params(params: dict) -> str:
    encoded = urlencode(params or {}, doseq=True)
    return reverse("console:candidates") + (f"?{encoded}" if encoded else "")


@company_view(see=Role.VIEWER)
def candidates(request):
    company = request.company
    errors: list[str] = []
    try:
        query = PoolQuery.from_params(pool_params(request.GET))
    except ValidationError as exc:
        errors = labelled_errors(exc)
        query = None
    context = {
        "values": filter_values(request.GET), "errors": errors,
        "stages": [(value, label) for value, label in Stage.choices if value != Stage.UNKNOWN],
        "states": PoolState.choices, "prefectures": PREFECTURES,
        "job_categories": Job.objects.filter(company=company).exclude(category="").order_by("category")
        .values_list("category", flat=True).distinct()[:200],
        "saved_searches": saved_search_rows(request),
        "can_edit": has_role(request.membership, Role.RECRUITER),
    }
    if query is None:
        return render(request, "talent/candidates.html", context, status=400)
    number = page_number(request.GET.get("page"))
    found = search_page(company, query, offset=(number - 1) * PAGE_SIZE, limit=PAGE_SIZE, facets=True)
    if not found.candidates and number > 1:  # past the last page: show the last one
        number = max(1, -(-found.total // PAGE_SIZE))
        found = search_page(company, query, offset=(number - 1) * PAGE_SIZE, limit=PAGE_SIZE, facets=True)
    rows = found.candidates
    log_console(request, AccessAction.SEARCH, "candidate", subject_count=found.total,
                detail=filter_names(query.to_params()))
    tags = tags_of([c.pk for c in rows])
    reasons = match_reasons(rows, query, tags) if rows else {}
    context.update({
        "query": query, "page": ResultPage(found, number),
        "rows": [{"candidate": c, "reasons": reasons.get(c.pk, []), "region": region_display(c),
                  "tags": tag_spans(tags.get(c.pk, []))} for c in rows],
        "facets": facet_links(found.facets, query), "facet_sampled": found.facet_people < found.total
        or not found.exact, "facet_scan_limit": SAMPLE_SIZE,
        "query_string": query_string(query),
        "campaign_url": campaign_url(query),
    })
    return render(request, "talent/candidates.html", context)


def tag_spans(tags: list[TagRow]) -> str:
    """A person's tags as the pool table shows them, built here: ~700 per page cost the template engine ~25 ms
    and format_html ~15 ms."""
    # Safe: the classes are fixed words and every label is escaped.
    return mark_safe("".join(f'<span class="{_tag_class(tag)}">{escape(tag.label)}</span> ' for tag in tags))


def _tag_class(tag: TagRow) -> str:
    classes = ["tag"]
    if tag.automatic:
        classes.append("tag-auto")
    if tag.kind == TagKind.SKILL:
        classes.append("tag-skill")
    return " ".join(classes)


def page_number(value) -> int:
    """The page asked for: 1 for anything that is not a page number."""
    value = (value or "").strip()
    return max(1, min(int(value), 10**6)) if value.isascii() and value.isdigit() and len(value) < 8 else 1


class ResultPage:
    """What the template's pager reads of a Django Page, over a search_page result: the pages reach the first
    talent.search.COUNT_LIMIT matches (`paginator.exact` is False when more people match)."""

    def __init__(self, found, number: int):
        self.number = number
        self.object_list = found.candidates
        self.paginator = SimpleNamespace(count=found.total, exact=found.exact,
                                         num_pages=max(1, -(-found.total // PAGE_SIZE)))

    def has_previous(self) -> bool:
        return self.number > 1

    def has_next(self) -> bool:
        return self.number < self.paginator.num_pages

    def previous_page_number(self) -> int:
        return self.number - 1

    def next_page_number(self) -> int:
        return self.number + 1


FILTER_LABELS = {
    "q": gettext_lazy("検索語"), "tag": gettext_lazy("タグ・スキル"), "stage_at_least": gettext_lazy("到達した選考ステップ"),
    "evaluation": gettext_lazy("評価"), "region": gettext_lazy("地域"), "job_category": gettext_lazy("職種カテゴリ"),
    "rejection_reason": gettext_lazy("不採用理由"), "state": gettext_lazy("状態"), "contactable": gettext_lazy("再連絡"),
    "rejected_from": gettext_lazy("不採用日(から)"), "rejected_to": gettext_lazy("不採用日(まで)"),
    "applied_from": gettext_lazy("最終応募日(から)"), "applied_to": gettext_lazy("最終応募日(まで)"),
}


def labelled_errors(exc: ValidationError) -> list[str]:
    """PoolQuery's errors, each after the name of the filter it is about ("評価: 100文字以内で…")."""
    if not hasattr(exc, "error_dict"):
        return exc.messages
    return [f"{FILTER_LABELS.get(field, field)}: {message}"
            for field, messages_ in exc.message_dict.items() for message in messages_]


def filter_values(data) -> dict:
    """What the filter form shows: what was typed, even when it was refused."""
    values = {key: data.get(key, "") for key in data}
    values["tag"] = "、".join(data.getlist("tag"))
    region = values.get("region", "")
    if region and region not in PREFECTURE_NAMES:  # free text (リモート) typed into the region parameter
        values["region"], values["region_text"] = "", values.get("region_text") or region
    return values


def back_to_pool(data) -> str:
    """The pool page with the search a form was posted from (only its query string is taken from the form)."""
    params = QueryDict(data.get("return_query", "")[:4000])
    encoded = params.urlencode()
    return reverse("console:candidates") + (f"?{encoded}" if encoded else "")


def ticked_ids(request) -> list[int]:
    """The ticked candidates of the company; ValueError for a value that is not an id or too many of them."""
    raw = request.POST.getlist("candidate")
    if len(raw) > MAX_TICKED or not all(value.isascii() and value.isdigit() and len(value) < 12 for value in raw):
        raise ValueError
    return list(Candidate.objects.filter(company=request.company, pk__in=[int(v) for v in raw], erased_at__isnull=True)
                .values_list("pk", flat=True))


@company_view(do=Role.RECRUITER)
def candidates_tag(request):
    """Add or remove tags on the rows ticked on the pool page."""
    try:
        ids = ticked_ids(request)
    except ValueError:
        return HttpResponseBadRequest(_("候補者の指定が正しくありません。"))
    form = TagForm(request.POST)
    if not ids:
        messages.error(request, _("候補者を選んでください。"))
    elif not form.is_valid():
        messages.error(request, " ".join(message for errors in form.errors.values() for message in errors))
    else:
        labels, kind = form.cleaned_data["label"], form.cleaned_data["kind"]
        try:
            if form.cleaned_data["action"] == "add":
                pool.add_tags(request.company, ids, labels, kind=kind)
                text = _("%(count)d人にタグ「%(tags)s」を追加しました。")
            else:
                pool.remove_tags(request.company, ids, labels, kind=kind)
                text = _("%(count)d人からタグ「%(tags)s」を外しました。")
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            log_console_many(request, AccessAction.CHANGE, "candidate", ids, detail=f"{kind}s")
            messages.success(request, text % {"count": len(ids), "tags": "、".join(labels)})
    return redirect(back_to_pool(request.POST))


@company_view(do=Role.RECRUITER)
def saved_search_add(request):
    form = SavedSearchForm(request.POST)
    back = back_to_pool(request.POST)
    try:
        query = PoolQuery.from_params(pool_params(QueryDict(request.POST.get("return_query", "")[:4000])))
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect(back)
    if not form.is_valid():
        messages.error(request, " ".join(form.errors["name"]))
        return redirect(back)
    try:
        search = saving.save_search(request.company, request.user, form.cleaned_data["name"], query.to_params())
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, _("検索「%(name)s」を保存しました。") % {"name": search.name})
    return redirect(pool_url(query))


@company_view(do=Role.RECRUITER)
def saved_search_delete(request, search_id: int):
    try:
        search = saving.delete_search(request.company, request.membership, search_id)
    except SavedSearch.DoesNotExist as exc:
        raise Http404 from exc
    except PermissionDenied:
        messages.error(request, _("ほかの人が保存した検索は削除できません。"))
    else:
        messages.success(request, _("検索「%(name)s」を削除しました。") % {"name": search.name})
    return redirect(back_to_pool(request.POST))


# --- the candidate page ------------------------------------------------------------------------------

def region_display(candidate: Candidate) -> str:
    parts = [PREFECTURE_NAMES.get(candidate.region_code, ""), candidate.region_text]
    return "・".join(part for part in parts if part)


def company_candidate(request, candidate_id: int) -> Candidate:
    return get_object_or_404(Candidate.objects.prefetch_related("tag_rows"), company=request.company,
                             pk=candidate_id, erased_at__isnull=True)


def tag_groups(candidate: Candidate) -> list[dict]:
    rows = list(candidate.tag_rows.all())
    return [{"kind": kind, "title": label, "rows": [row for row in rows if row.kind == kind]}
            for kind, label in TagKind.choices]


def render_candidate(request, candidate: Candidate, form: CandidateProfileForm, *, status: int = 200):
    return render(request, "talent/candidate_detail.html", {
        "candidate": candidate, "applications": applications_of(candidate),
        "registration": candidate.registrations.first(), "form": form, "tag_groups": tag_groups(candidate),
        "region": region_display(candidate), "can_edit": has_role(request.membership, Role.RECRUITER),
        "tag_kinds": TagKind.choices,
    }, status=status)


@company_view(see=Role.VIEWER)
def candidate_detail(request, candidate_id: int):
    candidate = company_candidate(request, candidate_id)
    log_console(request, AccessAction.VIEW, "candidate", candidate.pk)
    return render_candidate(request, candidate, CandidateProfileForm.for_candidate(candidate))


@company_view(do=Role.RECRUITER)
def candidate_edit(request, candidate_id: int):
    candidate = company_candidate(request, candidate_id)
    form = CandidateProfileForm(request.POST)
    if form.is_valid():
        try:
            pool.update_candidate_profile(request.company, candidate, **form.cleaned_data)
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            log_console(request, AccessAction.CHANGE, "candidate", candidate.pk)
            messages.success(request, _("候補者の情報を保存しました。"))
            return redirect("console:candidate", candidate.pk)
    log_console(request, AccessAction.VIEW, "candidate", candidate.pk)  # the page shows the person again
    return render_candidate(request, company_candidate(request, candidate_id), form, status=400)


@company_view(do=Role.RECRUITER)
def candidate_tag(request, candidate_id: int):
    """Add or remove one tag (or skill) on the candidate page: htmx swaps the tag lists in place (and the edit
    form's tag boxes, so saving the form afterwards keeps the change); without htmx, back to the page."""
    candidate = company_candidate(request, candidate_id)
    form = TagForm(request.POST)
    error = ""
    if form.is_valid():
        labels, kind = form.cleaned_data["label"], form.cleaned_data["kind"]
        change = pool.add_tags if form.cleaned_data["action"] == "add" else pool.remove_tags
        try:
            change(request.company, [candidate.pk], labels, kind=kind)
        except ValidationError as exc:
            error = " ".join(exc.messages)
        else:
            log_console(request, AccessAction.CHANGE, "candidate", candidate.pk, detail=f"{kind}s")
    else:
        error = " ".join(message for errors in form.errors.values() for message in errors)
    if not request.headers.get("HX-Request"):
        if error:
            messages.error(request, error)
        return redirect("console:candidate", candidate.pk)
    candidate = company_candidate(request, candidate_id)
    fresh = CandidateProfileForm.for_candidate(candidate)
    for name in ("skills", "tags"):
        fresh.fields[name].widget.attrs["hx-swap-oob"] = "true"
    return render(request, "talent/_candidate_tags.html", {
        "candidate": candidate, "tag_groups": tag_groups(candidate), "can_edit": True, "tag_error": error,
        "tag_kinds": TagKind.choices, "oob_form": None if error else fresh,
    }, status=400 if error else 200)
