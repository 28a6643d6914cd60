from django.db import models
from django.utils.translation import gettext_lazy as _

from tsunagu.companies.models import Company
from tsunagu.talent.stages import Stage


class Job(models.Model):
    company = models.ForeignKey(Company, on_delete=models.CASCADE, related_name="jobs")
    external_id = models.CharField(_("外部ID"), max_length=200, blank=True)
    title = models.CharField(_("職種"), max_length=300)
    category = models.CharField(_("職種カテゴリ"), max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("求人")
        verbose_name_plural = _("求人")
        constraints = [
            models.UniqueConstraint(
                fields=["company", "external_id"], condition=~models.Q(external_id=""), name="job_unique_external_id"
            ),
        ]

    def __str__(self):
        return self.title


class Candidate(models.Model):
    """A person as one company knows them. Matched across applications by normalised e-mail."""

    company = models.ForeignKey(Company, on_delete=models.CASCADE, related_name="candidates")
    name = models.CharField(_("氏名"), max_length=200)
    name_kana = models.CharField(_("フリガナ"), max_length=200, blank=True)
    email = models.CharField(_("メールアドレス"), max_length=254)
    phone = models.CharField(_("電話番号"), max_length=50, blank=True)
    name_key = models.CharField(max_length=200, db_index=True, editable=False)
    kana_key = models.CharField(max_length=200, blank=True, editable=False)
    email_key = models.CharField(max_length=254, editable=False)
    phone_e164 = models.CharField(max_length=20, blank=True, db_index=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("候補者")
        verbose_name_plural = _("候補者")
        constraints = [models.UniqueConstraint(fields=["company", "email_key"], name="candidate_unique_email")]

    def __str__(self):
        return self.name


class ApplicationStatus(models.TextChoices):
    ACTIVE = "active", _("選考中")
    REJECTED = "rejected", _("不採用")
    HIRED = "hired", _("採用")
    WITHDRAWN = "withdrawn", _("辞退")


class Application(models.Model):
    company = models.ForeignKey(Company, on_delete=models.CASCADE, related_name="applications")
    external_id = models.CharField(_("外部ID"), max_length=200)
    candidate = models.ForeignKey(Candidate, on_delete=models.CASCADE, related_name="applications")
    job = models.ForeignKey(Job, on_delete=models.PROTECT, related_name="applications")
    status = models.CharField(_("状態"), max_length=16, choices=ApplicationStatus.choices, default=ApplicationStatus.ACTIVE)
    stage = models.PositiveSmallIntegerField(_("選考ステップ"), choices=Stage.choices, default=Stage.UNKNOWN)
    stage_raw = models.CharField(_("選考ステップ(連携元の表記)"), max_length=200, blank=True)
    stage_reached = models.PositiveSmallIntegerField(_("到達した選考ステップ"), choices=Stage.choices, default=Stage.UNKNOWN)
    rejection_reason = models.CharField(_("不採用理由"), max_length=300, blank=True)
    source = models.CharField(_("連携元"), max_length=50, default="api")
    # occurred_at of the event that set the current status: older events cannot override it.
    status_changed_at = models.DateTimeField(null=True, blank=True)
    rejected_at = models.DateTimeField(null=True, blank=True)
    # What the source says about the application itself (CSV 応募日/応募経路/評価/タグ, the API's fields):
    # kept for HR and for searching the pool later. `channel` is where the person applied (a job board,
    # a referral, ...), unlike `source`, the integration the data came through.
    applied_at = models.DateTimeField(_("応募日"), null=True, blank=True)
    channel = models.CharField(_("応募経路"), max_length=200, blank=True)
    evaluation = models.CharField(_("評価"), max_length=100, blank=True)
    tags = models.JSONField(_("タグ"), default=list, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("応募")
        verbose_name_plural = _("応募")
        constraints = [models.UniqueConstraint(fields=["company", "external_id"], name="application_unique_external_id")]
        # Also serves the follow-up planner's "rejected between these dates" (messaging.actions.followups).
        indexes = [models.Index(fields=["company", "status", "rejected_at"])]

    def __str__(self):
        return f"{self.external_id} ({self.get_status_display()})"


class ApplicationEvent(models.Model):
    """What a source told us about an application, as received: the history and the de-duplication key."""

    company = models.ForeignKey(Company, on_delete=models.CASCADE, related_name="application_events")
    application = models.ForeignKey(Application, on_delete=models.CASCADE, related_name="events")
    source = models.CharField(max_length=50)
    event_id = models.CharField(max_length=200, blank=True)
    status = models.CharField(max_length=16, choices=ApplicationStatus.choices)
    stage_raw = models.CharField(max_length=200, blank=True)
    rejection_reason = models.CharField(max_length=300, blank=True)
    occurred_at = models.DateTimeField()
    received_at = models.DateTimeField(auto_now_add=True)
    applied = models.BooleanField(default=True, help_text="False when a newer event had already set the status.")
    outcome = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["occurred_at", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["company", "source", "event_id"], condition=~models.Q(event_id=""), name="event_unique_id"
            ),
        ]
