"""Re-contact campaigns, the reads: who a campaign's audience is (a pool search or people ticked by hand) and
who is left out and why, and a few of its mails rendered as they would go out (what followed is in
campaign_stats.py). Reads only; every write is in actions/campaigns.py.

Who is left out (EXCLUSIONS, checked in this order, each person counted under the first that holds):
merged into another record, no e-mail address, hired, in selection (an application still open), HR's "do
not contact" (contact_allowed False), on the company's suppression list (unsubscribed, bounced, complained,
stopped by HR), no rejected application (a campaign mail is about a past rejection: its variables such as
job_title and the referral link come from the latest one), past the company's retention period (the latest
rejection more than retention_days ago). A candidate id of another company is never looked at: it is
counted as "not found" and nothing else is said about it.

Re-applications (campaign_stats.py): an application of a person the campaign mailed, that Tsunagu learnt
of after the mail was sent and within REAPPLY_WINDOW_DAYS (an application the ATS dates more than a day
before the mail is old history arriving late, not a re-application; is_new_application). It is attributed "by the link" when the person
clicked a link in the campaign mail (a click a person made, not a mail scanner's) before applying, otherwise
"same person, within the window".
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from urllib.parse import urlencode

from django.core.exceptions import ValidationError
from django.db.models import (
    Case,
    CharField,
    Count,
    Exists,
    F,
    OuterRef,
    QuerySet,
    Subquery,
    Value,
    When,
)
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from tsunagu.companies.models import Company
from tsunagu.messaging import rendering
from tsunagu.messaging.compose import message_context, policy_url
from tsunagu.messaging.models import (
    CAMPAIGN_KINDS,
    Campaign,
    Message,
    MessageKind,
    Suppression,
)
from tsunagu.messaging.redaction import placeholder_url
from tsunagu.messaging.template_sets import Slot, template_set
from tsunagu.talent.models import Application, ApplicationStatus, Candidate, Job, PoolState
from tsunagu.talent.stages import Stage

# Ticked people in one campaign at most (a job's shortlist, a hand-made list): more is a search.
MAX_CANDIDATE_IDS = 5000
# People one campaign mails at most: a larger audience is a search to narrow.
MAX_AUDIENCE = 50_000
SAMPLE_COUNT = 3
REAPPLY_WINDOW_DAYS = 180
# The seeds' figure: 「過去3年分の不採用者データを再整理し、再応募メールを配信…約5%が再応募」.
BENCHMARK_RATE = 0.05
# Query parameters of the campaign page itself (not the pool search's).
OWN_PARAMETERS = ("candidate", "job", "kind")

MERGED, NO_EMAIL, HIRED, IN_SELECTION, NO_CONTACT = "merged", "no_email", "hired", "in_selection", "no_contact"
SUPPRESSED, NO_REJECTION, RETENTION, NOT_FOUND = "suppressed", "no_rejection", "retention", "not_found"

EXCLUSIONS = {
    MERGED: gettext_lazy("別の記録に統合済み"),
    NO_EMAIL: gettext_lazy("メールアドレスがない"),
    HIRED: gettext_lazy("採用済み"),
    IN_SELECTION: gettext_lazy("選考中の応募がある"),
    NO_CONTACT: gettext_lazy("再連絡しない設定"),
    SUPPRESSED: gettext_lazy("配信停止リストにある"),
    NO_REJECTION: gettext_lazy("不採用の応募がない"),
    RETENTION: gettext_lazy("個人情報の保存期間を過ぎている"),
    NOT_FOUND: gettext_lazy("この会社の候補者ではない・見つからない"),
}


# --- the audience ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class Audience:
    """Who a campaign is for: a pool search (its PoolQuery parameters) or people ticked by hand (ids)."""

    params: Mapping = field(default_factory=dict)
    candidate_ids: tuple[int, ...] | None = None

    @property
    def is_search(self) -> bool:
        return self.candidate_ids is None

    @classmethod
    def of(cls, campaign: Campaign) -> Audience:
        if campaign.candidate_ids:
            return cls(candidate_ids=tuple(campaign.candidate_ids))
        return cls(params=campaign.audience_params or {})


@dataclass(frozen=True)
class CampaignRequest:
    """What the campaign page's query string asks for: the audience, the template kind and the job."""

    audience: Audience
    kind: str
    job: Job | None


def read_request(company: Company, params) -> CampaignRequest:
    """The campaign page's query string: `candidate=<id>` repeated (with `job` and `kind`), or a pool search's
    parameters. ValidationError (Japanese) on a malformed id, too many ids, or a bad search; Job.DoesNotExist
    when `job` names no job of the company."""
    kind = params.get("kind") or MessageKind.INVITATION
    if kind not in CAMPAIGN_KINDS:
        raise ValidationError({"kind": [_("テンプレートの種類は「新しい求人のご案内」か「フォローアップ」を選んでください。")]})
    job = None
    if params.get("job"):
        job_id = params.get("job")
        if not (job_id.isascii() and job_id.isdigit()) or len(job_id) > 18:
            raise ValidationError({"job": [_("求人の指定が正しくありません。")]})
        job = Job.objects.get(company=company, pk=int(job_id))
    if "candidate" in params:
        raw = params.getlist("candidate") if hasattr(params, "getlist") else list(params["candidate"])
        if len(raw) > MAX_CANDIDATE_IDS:
            raise ValidationError({"candidate": [
                _("一度に選べるのは%(limit)s人までです(%(count)s人が選ばれています)。検索条件で絞り込んでください。")
                % {"limit": f"{MAX_CANDIDATE_IDS:,}", "count": f"{len(raw):,}"}]})
        ids = []
        for value in raw:
            value = str(value).strip()
            if not (value.isascii() and value.isdigit()) or len(value) > 18:
                raise ValidationError({"candidate": [_("候補者の指定が正しくありません: %(value)s") % {"value": value[:30]}]})
            ids.append(int(value))
        return CampaignRequest(Audience(candidate_ids=tuple(sorted(set(ids)))), kind, job)
    from tsunagu.talent.search import PoolQuery  # see audience_candidates

    search = {key: params.getlist(key) if hasattr(params, "getlist") else params[key]
              for key in params if key not in OWN_PARAMETERS}
    if job is not None and not search:
        # A job's shortlist sent with nobody ticked: not "everyone in the pool".
        raise ValidationError({"candidate": [_("案内する候補者を選んでください(求人ページの候補者リストで選んでから進みます)。")]})
    query = PoolQuery.from_params(search)
    return CampaignRequest(Audience(params=query.to_params()), kind, job)


def audience_candidates(company: Company, audience: Audience) -> QuerySet[Candidate]:
    """The audience before exclusions, always within the company (ids of another company match nothing)."""
    candidates = Candidate.objects.filter(company=company)
    if not audience.is_search:
        return candidates.filter(pk__in=audience.candidate_ids)
    # Imported here: delivery imports this module (through the send-time stop rules) and has no use for the
    # search and its text processing.
    from tsunagu.talent.search import PoolQuery, search_pool

    found = search_pool(company, PoolQuery.from_params(audience.params)).order_by().values("pk")
    return candidates.filter(pk__in=found)


def with_exclusions(company: Company, candidates: QuerySet[Candidate], at: datetime) -> QuerySet[Candidate]:
    """The candidates annotated with `exclusion` (the first of EXCLUSIONS that holds, "" for none) and, for
    those to mail, `latest_rejection_id`: their latest rejected application, the one a campaign mail is about."""
    applications = Application.objects.filter(candidate_id=OuterRef("pk"))
    rejected = applications.filter(status=ApplicationStatus.REJECTED).order_by(
        F("rejected_at").desc(nulls_last=True), "-pk")
    cutoff = at - timedelta(days=company.retention_days)
    return candidates.annotate(
        is_hired=Exists(applications.filter(status=ApplicationStatus.HIRED)),
        in_selection=Exists(applications.filter(status=ApplicationStatus.ACTIVE)),
        is_suppressed=Exists(Suppression.objects.filter(company=company, email_key=OuterRef("email_key"))),
        latest_rejection_id=Subquery(rejected.values("pk")[:1]),
        latest_rejected_at=Subquery(rejected.values("rejected_at")[:1]),
    ).annotate(exclusion=Case(
        When(merged_into__isnull=False, then=Value(MERGED)),
        When(email="", then=Value(NO_EMAIL)),
        When(is_hired=True, then=Value(HIRED)),
        When(in_selection=True, then=Value(IN_SELECTION)),
        When(contact_allowed=False, then=Value(NO_CONTACT)),
        When(is_suppressed=True, then=Value(SUPPRESSED)),
        When(latest_rejection_id__isnull=True, then=Value(NO_REJECTION)),
        When(latest_rejected_at__lte=cutoff, then=Value(RETENTION)),
        default=Value(""), output_field=CharField(),
    ))


def eligible_candidates(company: Company, audience: Audience, at: datetime) -> QuerySet[Candidate]:
    """The people to mail, in id order (how the planner walks them)."""
    return with_exclusions(company, audience_candidates(company, audience), at).filter(exclusion="").order_by("pk")


@dataclass
class AudienceSummary:
    eligible: int
    excluded: dict[str, int]  # reason -> people, for the reasons that left someone out

    @property
    def excluded_total(self) -> int:
        return sum(self.excluded.values())

    @property
    def too_large(self) -> bool:
        return self.eligible > MAX_AUDIENCE

    def excluded_rows(self) -> list[tuple[str, str, int]]:
        """(reason, label, people) in the order of EXCLUSIONS."""
        return [(reason, str(label), self.excluded[reason]) for reason, label in EXCLUSIONS.items()
                if self.excluded.get(reason)]


def summarize(company: Company, audience: Audience, at: datetime | None = None) -> AudienceSummary:
    """How many people the campaign would mail now, and how many are left out by reason (one GROUP BY)."""
    at = at or timezone.now()
    candidates = audience_candidates(company, audience)
    counts = dict(with_exclusions(company, candidates, at).values("exclusion").annotate(n=Count("pk"))
                  .order_by().values_list("exclusion", "n"))
    eligible = counts.pop("", 0)
    if not audience.is_search:
        found = eligible + sum(counts.values())
        if len(audience.candidate_ids) > found:
            counts[NOT_FOUND] = len(audience.candidate_ids) - found
    return AudienceSummary(eligible=eligible, excluded={reason: n for reason, n in counts.items() if n})


# How the pool search's parameters read on the campaign pages.
PARAMETER_LABELS = {
    "q": gettext_lazy("キーワード"), "tag": gettext_lazy("タグ"), "stage_at_least": gettext_lazy("到達した選考ステップ"),
    "evaluation": gettext_lazy("評価"), "region": gettext_lazy("地域"), "job_category": gettext_lazy("職種カテゴリ"),
    "rejection_reason": gettext_lazy("不採用理由"), "state": gettext_lazy("状態"),
    "rejected_from": gettext_lazy("不採用日(から)"), "rejected_to": gettext_lazy("不採用日(まで)"),
    "applied_from": gettext_lazy("応募日(から)"), "applied_to": gettext_lazy("応募日(まで)"),
    "contactable": gettext_lazy("連絡できる"),
}


def audience_description(company: Company, audience: Audience) -> str:
    """The audience in a line: the search's conditions, or how many people were ticked."""
    if not audience.is_search:
        return _("選んだ候補者 %(count)s人") % {"count": f"{len(audience.candidate_ids):,}"}
    parts = []
    for key, value in audience.params.items():
        shown = "、".join(value) if isinstance(value, list) else str(value)
        if key == "stage_at_least" and shown.isdigit() and int(shown) in Stage.values:
            shown = str(Stage(int(shown)).label)
        elif key == "state" and shown in PoolState.values:
            shown = str(PoolState(shown).label)
        elif key == "contactable":
            shown = _("はい") if shown == "1" else _("いいえ")
        parts.append(f"{PARAMETER_LABELS.get(key, key)}: {shown}")
    return _("タレントプールの検索(%(conditions)s)") % {"conditions": " / ".join(parts) if parts else _("条件なし: 全員")}


def search_query_string(audience: Audience) -> str:
    """The pool page's query string for the audience's search ("" for ticked people)."""
    return urlencode(dict(audience.params), doseq=True) if audience.is_search else ""


# --- a campaign's mail -----------------------------------------------------------------------------

def campaign_context(kind: str, job: Job | None) -> dict:
    """What a campaign message stores in Message.context: the new position of an invitation."""
    if kind == MessageKind.INVITATION and job is not None:
        return {"new_job_title": job.title}
    return {}


@dataclass
class SampleMail:
    to_name: str
    subject: str = ""
    text: str = ""
    error: str = ""


def sample_mails(company: Company, kind: str, job: Job | None, audience: Audience,
                 count: int = SAMPLE_COUNT) -> list[SampleMail]:
    """A few of the campaign's mails rendered as they would go out (each person's template down the slot chain,
    in a render process, with the footer), the personal referral link shown as the console's placeholder."""
    now = timezone.now()
    people = list(eligible_candidates(company, audience, now).values("pk", "name", "email", "latest_rejection_id")
                  [:count])
    applications = Application.objects.select_related("job", "candidate").in_bulk(
        [person["latest_rejection_id"] for person in people])
    templates = template_set(company, kind)
    footer = rendering.make_footer(company_name=company.name, postal_address=company.postal_address,
                                   contact=company.reply_to or company.from_email, policy_url=policy_url(company))
    cache: dict = {}
    samples = []
    for person in people:
        draft = Message(company=company, kind=kind, application=applications[person["latest_rejection_id"]],
                        to_name=person["name"], to_email=person["email"], pk=0, step=0, created_at=now,
                        context=campaign_context(kind, job))
        sample = SampleMail(to_name=person["name"])
        template = templates.pick(Slot.for_message(draft), key=person["pk"])
        if template is None:
            sample.error = _("このテンプレートの既定の文面がありません。")
            samples.append(sample)
            continue
        context = message_context(draft, cache)
        context["referral_url"] = placeholder_url()  # a company never sees a personal link (redaction.py)
        try:
            rendered = rendering.render(template.subject, template.body_text, context, footer=footer)
        except rendering.RenderError as exc:
            sample.error = str(exc)
        else:
            sample.subject, sample.text = rendered.subject, rendered.text
        samples.append(sample)
    return samples


def is_new_application(row: Mapping, since: datetime) -> bool:
    """An application (its created_at and applied_at) made after `since`: Tsunagu learnt of it later, and the
    ATS does not date it more than a day before (old history imported late is not a new application)."""
    if row["created_at"] <= since:
        return False
    return not (row["applied_at"] and row["applied_at"] < since - timedelta(days=1))

