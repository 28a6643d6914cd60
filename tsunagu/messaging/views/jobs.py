"""The console's jobs: the list (open/closed, counts, "求人を追加"), and a job's page with its details, edit form,
open/close, follow, and the rediscovery shortlist HR ticks people on to invite them (helper pages of the
campaign: console:campaign_new previews and sends, respecting the frequency cap, send window and unsubscribe).

Every write goes through talent.actions.jobs; the ranking is messaging.rediscovery."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db.models import Count
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from tsunagu.companies.console import company_view, has_role
from tsunagu.companies.models import Role
from tsunagu.messaging.rediscovery import rank_for_job
from tsunagu.talent.actions import jobs as job_actions
from tsunagu.talent.models import Job, JobStatus

SHORTLIST_SIZE = 50


class JobForm(forms.Form):
    title = forms.CharField(label=gettext_lazy("職種名"), max_length=job_actions.MAX_LENGTHS["title"])
    category = forms.CharField(label=gettext_lazy("職種カテゴリ"), required=False,
                               max_length=job_actions.MAX_LENGTHS["category"])
    location = forms.CharField(label=gettext_lazy("勤務地"), required=False,
                               max_length=job_actions.MAX_LENGTHS["location"])
    requirements = forms.CharField(label=gettext_lazy("応募資格・求めるスキル"), required=False,
                                   max_length=job_actions.MAX_LENGTHS["requirements"],
                                   widget=forms.Textarea(attrs={"rows": 3}))
    description = forms.CharField(label=gettext_lazy("仕事内容"), required=False,
                                  max_length=job_actions.MAX_LENGTHS["description"],
                                  widget=forms.Textarea(attrs={"rows": 5}))
    status = forms.ChoiceField(label=gettext_lazy("募集状況"), choices=JobStatus.choices, initial=JobStatus.OPEN)


def _apply_errors(form: forms.Form, exc: ValidationError) -> None:
    for field, errors in exc.message_dict.items():
        form.add_error(field if field in form.fields else None, errors)


def _company_job(request, job_id: int) -> Job:
    return get_object_or_404(Job.objects.select_related("company"), pk=job_id, company=request.company)


@company_view(see=Role.VIEWER, do=Role.RECRUITER)
def jobs(request):
    form = JobForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            job, _created, _opened = job_actions.save_job(request.company, external_id="", **form.cleaned_data)
        except ValidationError as exc:
            _apply_errors(form, exc)
        else:
            messages.success(request, _("求人「%(title)s」を追加しました。") % {"title": job.title})
            return redirect("console:job", job_id=job.pk)
    status = request.GET.get("status", "")
    rows = Job.objects.filter(company=request.company).annotate(application_count=Count("applications"))
    if status in JobStatus.values:
        rows = rows.filter(status=status)
    rows = rows.order_by("status", "-opened_at", "-created_at", "-pk")
    counts = dict(Job.objects.filter(company=request.company).values_list("status").annotate(n=Count("pk"))
                  .order_by())
    return render(request, "messaging/jobs.html", {
        "page": Paginator(rows, 50).get_page(request.GET.get("page")), "form": form, "status": status,
        "statuses": JobStatus.choices, "counts": counts,
        "can_act": has_role(request.membership, Role.RECRUITER), "adding": request.method == "POST",
    })


@company_view(see=Role.VIEWER, do=Role.RECRUITER)
def job_detail(request, job_id: int):
    job = _company_job(request, job_id)
    initial = {field: getattr(job, field) for field in ("title", "category", "location", "requirements",
                                                         "description", "status")}
    form = JobForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            job, opened = job_actions.update_job(request.company, job, **form.cleaned_data)
        except ValidationError as exc:
            _apply_errors(form, exc)
        else:
            messages.success(request, _("募集を開始しました。下の候補者リストを確認してください。") if opened
                             else _("求人を保存しました。"))
            return redirect("console:job", job_id=job.pk)
    shortlist = rank_for_job(job, limit=SHORTLIST_SIZE)
    return render(request, "messaging/job_detail.html", {
        "job": job, "form": form, "shortlist": shortlist,
        "following": job.followers.filter(pk=request.user.pk).exists(),
        "followers": job.followers.count(),
        "application_count": job.applications.count(),
        "can_act": has_role(request.membership, Role.RECRUITER), "editing": request.method == "POST",
    })


@company_view(do=Role.RECRUITER)
def job_status(request, job_id: int):
    job = _company_job(request, job_id)
    status = request.POST.get("status", "")
    try:
        opened = job_actions.set_job_status(request.company, job, status)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        if opened:
            messages.success(request, _("募集を開始しました。下の候補者リストを確認してください。"))
        elif status == JobStatus.CLOSED:
            messages.success(request, _("募集を終了しました。"))
    return redirect("console:job", job_id=job.pk)


@company_view(do=Role.RECRUITER)
def job_follow(request, job_id: int):
    job = _company_job(request, job_id)
    if request.POST.get("follow") == "0":
        job_actions.unfollow_job(request.company, job, request.user)
        messages.success(request, _("この求人の再応募通知を受け取らないようにしました。"))
    else:
        job_actions.follow_job(request.company, job, request.user)
        messages.success(request, _("この求人への再応募をメールで通知します。"))
    return redirect("console:job", job_id=job.pk)
