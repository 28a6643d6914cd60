"""The console's re-contact campaigns: the list, a new campaign (its audience from the query string: a pool
search or ticked candidates; the count after exclusions, a few rendered mails, and the form that schedules
it), a campaign's page with what followed, and cancelling. Writes go through actions/campaigns.py."""

from __future__ import annotations

from datetime import datetime
from urllib.parse import parse_qsl
from zoneinfo import ZoneInfo

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404, QueryDict
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _

from tsunagu.companies.console import company_view
from tsunagu.companies.models import Role
from tsunagu.messaging import campaign_stats
from tsunagu.messaging import campaigns as reads
from tsunagu.messaging.actions import campaigns as actions
from tsunagu.messaging.models import CAMPAIGN_KINDS, Campaign, MessageKind, MessageStatus
from tsunagu.talent.models import Job

DATETIME_FORMAT = "%Y-%m-%dT%H:%M"


@company_view(see=Role.VIEWER)
def campaigns(request):
    rows = Campaign.objects.filter(company=request.company).select_related("job")
    page = Paginator(rows, 50).get_page(request.GET.get("page"))
    counts = campaign_stats.counts_by_campaign(request.company, [campaign.pk for campaign in page])
    return render(request, "messaging/campaigns.html", {
        "page": page,
        "rows": [(campaign, counts.get(campaign.pk, {})) for campaign in page],
    })


@company_view(see=Role.VIEWER, do=Role.RECRUITER)
def campaign_new(request):
    company = request.company
    try:
        asked = reads.read_request(company, _query(request))
    except Job.DoesNotExist as exc:
        raise Http404 from exc
    except ValidationError as exc:
        return render(request, "messaging/campaign_new.html", {"request_errors": exc.messages}, status=400)
    errors: dict[str, list[str]] = {}
    if request.method == "POST":
        try:
            campaign = actions.create_campaign(
                company, name=request.POST.get("name", ""), kind=asked.kind, audience=asked.audience, job=asked.job,
                send_at=_send_at(request.POST, company.time_zone), per_hour=request.POST.get("per_hour"),
                created_by=request.user)
        except ValidationError as exc:
            errors = exc.message_dict if hasattr(exc, "error_dict") else {"__all__": exc.messages}
        else:
            messages.success(request, _("キャンペーン「%(name)s」を予約しました(%(count)s人)。")
                             % {"name": campaign.name, "count": f"{campaign.audience_size:,}"})
            return redirect("console:campaign", campaign_id=campaign.pk)
    summary = reads.summarize(company, asked.audience)
    samples = reads.sample_mails(company, asked.kind, asked.job, asked.audience) if summary.eligible else []
    return render(request, "messaging/campaign_new.html", {
        "asked": asked, "summary": summary, "samples": samples, "errors": errors,
        "description": reads.audience_description(company, asked.audience),
        "search_query": reads.search_query_string(asked.audience),
        "kinds": [(kind, MessageKind(kind).label, _kind_url(request, kind)) for kind in CAMPAIGN_KINDS],
        "form": {
            "name": request.POST.get("name", _default_name(asked)),
            "send": request.POST.get("send", "now"),
            "send_at": request.POST.get("send_at", ""),
            "per_hour": request.POST.get("per_hour", actions.DEFAULT_PER_HOUR),
        },
        "max_per_hour": actions.MAX_PER_HOUR, "max_audience": reads.MAX_AUDIENCE,
    }, status=400 if errors else 200)


def _query(request) -> QueryDict:
    """The query string, read with room for MAX_CANDIDATE_IDS ticked people (Django's request.GET stops at
    DATA_UPLOAD_MAX_NUMBER_FIELDS, 1,000, with a bare 400); beyond that a clear error."""
    try:
        pairs = parse_qsl(request.META.get("QUERY_STRING", ""), keep_blank_values=True,
                          max_num_fields=reads.MAX_CANDIDATE_IDS + len(reads.OWN_PARAMETERS) + 50)
    except ValueError:
        raise ValidationError({"candidate": [
            _("一度に選べるのは%(limit)s人までです。検索条件で絞り込んでください。")
            % {"limit": f"{reads.MAX_CANDIDATE_IDS:,}"}]}) from None
    params = QueryDict(mutable=True)
    for key, value in pairs:
        params.appendlist(key, value)
    return params


def _default_name(asked: reads.CampaignRequest) -> str:
    today = timezone.localdate().isoformat()
    if asked.job is not None:
        return _("%(job)sのご案内 %(date)s") % {"job": asked.job.title, "date": today}
    return _("再応募のご案内 %(date)s") % {"date": today}


def _kind_url(request, kind: str) -> str:
    """This page with another template kind (the query string otherwise as it is)."""
    params = _query(request)
    params["kind"] = kind
    return f"{request.path}?{params.urlencode()}"


def _send_at(data, time_zone: str) -> datetime | None:
    """None for "now", else the form's local date and time in the company's time zone."""
    if data.get("send", "now") == "now":
        return None
    value = (data.get("send_at") or "").strip()
    try:
        naive = datetime.strptime(value[:16], DATETIME_FORMAT)
    except ValueError:
        raise ValidationError({"send_at": [_("送信開始日時を 2026-04-01 10:00 の形で入力してください。")]}) from None
    return naive.replace(tzinfo=ZoneInfo(time_zone))


@company_view(see=Role.VIEWER)
def campaign_detail(request, campaign_id: int):
    campaign = get_object_or_404(Campaign.objects.select_related("job", "created_by", "company"),
                                 company=request.company, pk=campaign_id)
    stats = campaign_stats.campaign_stats(campaign)
    recent = (campaign.campaign_messages.filter(company=request.company).select_related("application")
              .order_by("send_at", "pk")[:50])
    excluded = reads.AudienceSummary(eligible=campaign.audience_size, excluded=campaign.excluded or {})
    return render(request, "messaging/campaign_detail.html", {
        "campaign": campaign, "stats": stats, "recent": recent, "excluded": excluded.excluded_rows(),
        "description": reads.audience_description(request.company, reads.Audience.of(campaign)),
        "window_days": reads.REAPPLY_WINDOW_DAYS, "statuses": MessageStatus,
    })


@company_view(do=Role.RECRUITER)
def campaign_cancel(request, campaign_id: int):
    try:
        count = actions.cancel_campaign(request.company, campaign_id, by=request.user.email)
    except Campaign.DoesNotExist as exc:
        raise Http404 from exc
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, _("キャンペーンを取り消しました(送信前の%(count)s通を取り消し)。") % {"count": count})
    return redirect("console:campaign", campaign_id=campaign_id)
