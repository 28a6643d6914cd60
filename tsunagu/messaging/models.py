from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from tsunagu.companies.models import Company
from tsunagu.talent.stages import Stage


class MessageKind(models.TextChoices):
    REJECTION = "rejection", _("不採用通知")
    FOLLOW_UP = "follow_up", _("フォローアップ")
    INVITATION = "invitation", _("新しい求人のご案内")
    WELCOME_BACK = "welcome_back", _("再応募のお礼")
    VERIFICATION = "verification", _("登録確認")
    # To the company's admins (e.g. mail that failed): its subject and text are fixed when it is planned.
    ALERT = "alert", _("管理者への通知")
    # What needs someone's action in the relay (a slot earned, a referral request filed, an introduction
    # received), to a company's admins or the operator's staff: fixed when planned, like an alert.
    NOTICE = "notice", _("お知らせ")
    # The operator asks a registrant to consent to being introduced to one company: fixed when planned.
    CONSENT_REQUEST = "consent_request", _("推薦の同意のお願い")
    # About the person's own data (a deletion to confirm, a request to stay in the pool): fixed when planned.
    PRIVACY = "privacy", _("個人情報に関するご連絡")


# Kinds whose subject and text are written when they are planned (no template; see compose.build_email).
FIXED_CONTENT_KINDS = frozenset({MessageKind.ALERT, MessageKind.NOTICE, MessageKind.CONSENT_REQUEST,
                                 MessageKind.PRIVACY})

# The relay operator's mail to registrants: planned only for the operator's party (Company.is_operator), never
# listed, shown or counted for a company (rows of a company from before issue 10 included).
OPERATOR_KINDS = frozenset({MessageKind.VERIFICATION, MessageKind.CONSENT_REQUEST})


class MessageStatus(models.TextChoices):
    SCHEDULED = "scheduled", _("送信予定")
    SENDING = "sending", _("送信中")
    SENT = "sent", _("送信済み")
    FAILED = "failed", _("送信失敗")
    CANCELLED = "cancelled", _("取り消し")
    # Not sent because the address is on the company's suppression list (status_reason says why).
    SUPPRESSED = "suppressed", _("配信停止")


class MessageTemplate(models.Model):
    """One saved version of a company's template. Versions are never edited, only added.

    A template is chosen by its slot: kind, and optionally job category, stage and rejection reason
    (blank / 0 = any), and for follow-ups the step number. The most specific slot that matches a
    message wins, down to the default (kind alone). Within a slot, each A/B variant has its own versions;
    a version marked retired removes its variant (or slot) from use.
    """

    company = models.ForeignKey(Company, on_delete=models.CASCADE, related_name="templates")
    kind = models.CharField(max_length=32, choices=MessageKind.choices)
    job_category = models.CharField(_("職種カテゴリ"), max_length=100, blank=True)
    stage = models.PositiveSmallIntegerField(_("選考ステップ"), choices=Stage.choices, default=Stage.UNKNOWN)
    rejection_reason = models.CharField(_("不採用理由"), max_length=300, blank=True)
    step = models.PositiveSmallIntegerField(_("フォローアップの回"), default=0)
    variant = models.CharField(_("パターン"), max_length=20, blank=True)
    retired = models.BooleanField(default=False)
    version = models.PositiveIntegerField()
    subject = models.CharField(_("件名"), max_length=300)
    body_text = models.TextField(_("本文"))
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["company", "kind", "-version"]
        constraints = [
            models.UniqueConstraint(
                fields=["company", "kind", "job_category", "stage", "rejection_reason", "step", "variant", "version"],
                name="template_unique_version"),
        ]

    def __str__(self):
        return f"{self.company.slug}/{self.kind} v{self.version}"


class Message(models.Model):
    """The outbox row: the single truth about one mail, from plan to delivery."""

    company = models.ForeignKey(Company, on_delete=models.CASCADE, related_name="messages")
    kind = models.CharField(_("種類"), max_length=32, choices=MessageKind.choices)
    # One mail per key and company (e.g. "rejection:<application id>"): repeats and races cannot make a second.
    key = models.CharField(max_length=200)
    application = models.ForeignKey(
        "talent.Application", null=True, blank=True, on_delete=models.CASCADE, related_name="messages"
    )
    to_email = models.CharField(_("宛先"), max_length=254)
    to_name = models.CharField(_("宛名"), max_length=200)
    context = models.JSONField(default=dict, blank=True)
    template = models.ForeignKey(MessageTemplate, null=True, blank=True, on_delete=models.PROTECT)
    variant = models.CharField(_("パターン"), max_length=20, blank=True)
    # Follow-ups: which step of the company's sequence this is (0 for other kinds).
    step = models.PositiveSmallIntegerField(default=0)
    status = models.CharField(_("状態"), max_length=16, choices=MessageStatus.choices, default=MessageStatus.SCHEDULED)
    # Why it is suppressed (or another status needing a reason the console shows).
    status_reason = models.CharField(_("理由"), max_length=300, blank=True)
    send_at = models.DateTimeField(_("送信予定日時"))
    sent_at = models.DateTimeField(_("送信日時"), null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(_("エラー"), blank=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    claim_token = models.CharField(max_length=32, blank=True, db_index=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    cancel_reason = models.CharField(max_length=200, blank=True)
    subject = models.CharField(_("件名"), max_length=300, blank=True)
    # What was sent (the HTML part is derived from this text).
    body_text = models.TextField(blank=True)
    message_id = models.CharField(max_length=255, blank=True)
    # The re-contact campaign that planned this mail (key "campaign:<campaign id>:<candidate id>").
    campaign = models.ForeignKey("Campaign", null=True, blank=True, on_delete=models.SET_NULL,
                                 related_name="campaign_messages")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("メール")
        verbose_name_plural = _("メール")
        ordering = ["-created_at", "-pk"]
        constraints = [models.UniqueConstraint(fields=["company", "key"], name="message_unique_key")]
        indexes = [
            models.Index(fields=["status", "send_at"]),
            models.Index(fields=["company", "status"]),
            # The dashboard's counts (analytics/daily.py, analytics/actions/rollup.py).
            models.Index(fields=["company", "sent_at"], name="message_sent_idx"),
            models.Index(fields=["company", "updated_at"], name="message_updated_idx"),
            models.Index(fields=["company", "send_at"], condition=models.Q(step__gt=0), name="message_follow_up_idx"),
        ]

    def __str__(self):
        return f"{self.kind} → {self.to_email} ({self.status})"

    @property
    def is_pending(self) -> bool:
        return self.status == MessageStatus.SCHEDULED


class CapturedMail(models.Model):
    """Mail the capture:// transport kept instead of sending (development and demos)."""

    message_id = models.CharField(max_length=255, db_index=True)
    to = models.TextField()
    subject = models.TextField()
    raw = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-pk"]


class SuppressionReason(models.TextChoices):
    UNSUBSCRIBED = "unsubscribed", _("配信停止の申し出")
    HARD_BOUNCE = "hard_bounce", _("宛先不明(ハードバウンス)")
    COMPLAINT = "complaint", _("迷惑メール報告")
    MANUAL = "manual", _("管理者による停止")
    # The person's data was erased and they asked not to be mailed again: only a keyed hash of the address is
    # kept (messaging.selectors.erased_address_key), never the address.
    ERASED = "erased", _("削除の依頼(アドレスはハッシュのみ保存)")


class Suppression(models.Model):
    """An address the company must not mail again. Checked when a message is about to be sent."""

    company = models.ForeignKey(Company, on_delete=models.CASCADE, related_name="suppressions")
    # Normalised address (see talent.normalize.email_key): one row per person however the case is written.
    email_key = models.CharField(max_length=254)
    email = models.CharField(_("メールアドレス"), max_length=254)
    reason = models.CharField(_("理由"), max_length=20, choices=SuppressionReason.choices)
    message = models.ForeignKey(Message, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    detail = models.CharField(_("詳細"), max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("配信停止")
        verbose_name_plural = _("配信停止")
        ordering = ["-created_at"]
        constraints = [models.UniqueConstraint(fields=["company", "email_key"], name="suppression_unique_address")]


class EventKind(models.TextChoices):
    DELIVERED = "delivered", _("配達")
    DEFERRED = "deferred", _("配達遅延")
    BOUNCED = "bounced", _("不達")
    COMPLAINED = "complained", _("迷惑メール報告")
    OPENED = "opened", _("開封")
    CLICKED = "clicked", _("クリック")
    UNSUBSCRIBED = "unsubscribed", _("配信停止")
    REJECTED = "rejected", _("配信拒否")
    FAILED = "failed", _("失敗")


class MessageEvent(models.Model):
    """Something that happened to a sent message: provider webhooks, opens, clicks, unsubscribes."""

    company = models.ForeignKey(Company, on_delete=models.CASCADE, related_name="message_events")
    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(_("種類"), max_length=20, choices=EventKind.choices)
    occurred_at = models.DateTimeField(_("日時"))
    recorded_at = models.DateTimeField(auto_now_add=True)
    # Where it came from ("tracking", "smtp", or the provider's name) and its id there, for de-duplication.
    source = models.CharField(max_length=30, blank=True)
    source_event_id = models.CharField(max_length=200, blank=True)
    url = models.URLField(max_length=2000, blank=True)
    user_agent = models.CharField(max_length=500, blank=True)
    # Probably not a person (mail scanner, prefetch, HEAD request): recorded, but not counted as one.
    machine = models.BooleanField(default=False)
    machine_reason = models.CharField(max_length=100, blank=True)
    detail = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["occurred_at", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["source", "source_event_id"], condition=~models.Q(source_event_id=""),
                                    name="message_event_unique_source_id"),
        ]
        indexes = [models.Index(fields=["company", "kind", "occurred_at"]),
                   models.Index(fields=["company", "recorded_at"], name="message_event_recorded_idx")]


class FollowUpStep(models.Model):
    """One step of a company's follow-up sequence: a message `delay_days` after the rejection, to
    candidates who meet its conditions. The step's wording is the follow-up template for its number."""

    company = models.ForeignKey(Company, on_delete=models.CASCADE, related_name="follow_up_steps")
    step = models.PositiveSmallIntegerField(_("回"))
    kind = models.CharField(_("種類"), max_length=32, choices=MessageKind.choices, default=MessageKind.FOLLOW_UP)
    delay_days = models.PositiveIntegerField(_("不採用からの日数"))
    min_stage = models.PositiveSmallIntegerField(_("到達した選考ステップ(以上)"), choices=Stage.choices,
                                                 default=Stage.UNKNOWN)
    # Empty lists mean "no condition"; otherwise the application needs one of the tags / one of the reasons.
    tags = models.JSONField(_("タグ"), default=list, blank=True)
    rejection_reasons = models.JSONField(_("連絡してよい不採用理由"), default=list, blank=True)
    active = models.BooleanField(_("有効"), default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("フォローアップ")
        verbose_name_plural = _("フォローアップ")
        ordering = ["company", "step"]
        constraints = [models.UniqueConstraint(fields=["company", "step"], name="follow_up_unique_step")]


class CampaignStatus(models.TextChoices):
    DRAFT = "draft", _("下書き")
    SCHEDULED = "scheduled", _("送信予定")
    SENDING = "sending", _("送信中")
    DONE = "done", _("完了")
    CANCELLED = "cancelled", _("取り消し")


# The template kinds a campaign can send (the company's templates of that kind, chosen per person by slot).
CAMPAIGN_KINDS = (MessageKind.INVITATION, MessageKind.FOLLOW_UP)


class Campaign(models.Model):
    """HR's re-contact mail to a chosen group of past candidates: a pool search (its PoolQuery parameters) or
    people ticked by hand (candidate ids, e.g. a job's shortlist). Planned in batches from `send_at` on, one
    keyed message per person, throttled to `per_hour` (see messaging/actions/campaigns.py)."""

    company = models.ForeignKey(Company, on_delete=models.CASCADE, related_name="campaigns")
    name = models.CharField(_("キャンペーン名"), max_length=200)
    kind = models.CharField(_("テンプレートの種類"), max_length=32, choices=MessageKind.choices,
                            default=MessageKind.INVITATION)
    # The new position an invitation is about (its title is the templates' `new_job_title`).
    job = models.ForeignKey("talent.Job", null=True, blank=True, on_delete=models.SET_NULL, related_name="campaigns",
                            verbose_name=_("求人"))
    # The audience: a pool search (talent.search.PoolQuery.to_params()) unless candidate_ids is set.
    audience_params = models.JSONField(default=dict, blank=True)
    candidate_ids = models.JSONField(default=list, blank=True)
    # What the audience was when HR scheduled it: people to mail, and those left out by reason.
    audience_size = models.PositiveIntegerField(_("対象者数"), default=0)
    excluded = models.JSONField(default=dict, blank=True)
    status = models.CharField(_("状態"), max_length=16, choices=CampaignStatus.choices,
                              default=CampaignStatus.SCHEDULED)
    send_at = models.DateTimeField(_("送信開始日時"))
    per_hour = models.PositiveIntegerField(_("1時間あたりの送信数の上限"), default=200)
    # Planning progress: candidates are planned in id order; the last id planned, and when the last batch was.
    planned_through = models.BigIntegerField(default=0)
    planned_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    cancel_reason = models.CharField(max_length=200, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("キャンペーン")
        verbose_name_plural = _("キャンペーン")
        ordering = ["-created_at", "-pk"]
        indexes = [
            models.Index(fields=["status", "send_at"], name="campaign_due_idx"),
            models.Index(fields=["company", "-created_at"], name="campaign_recent_idx"),
        ]

    def __str__(self):
        return self.name

    @property
    def is_open(self) -> bool:
        """Still planning or sending: it can be cancelled."""
        return self.status in (CampaignStatus.DRAFT, CampaignStatus.SCHEDULED, CampaignStatus.SENDING)
