from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from tsunagu.companies.models import Company


class MessageKind(models.TextChoices):
    REJECTION = "rejection", _("不採用通知")
    VERIFICATION = "verification", _("登録確認")


class MessageStatus(models.TextChoices):
    SCHEDULED = "scheduled", _("送信予定")
    SENDING = "sending", _("送信中")
    SENT = "sent", _("送信済み")
    FAILED = "failed", _("送信失敗")
    CANCELLED = "cancelled", _("取り消し")


class MessageTemplate(models.Model):
    """One saved version of a company's template for a kind. Versions are never edited, only added."""

    company = models.ForeignKey(Company, on_delete=models.CASCADE, related_name="templates")
    kind = models.CharField(max_length=32, choices=MessageKind.choices)
    version = models.PositiveIntegerField()
    subject = models.CharField(_("件名"), max_length=300)
    body_text = models.TextField(_("本文"))
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["company", "kind", "-version"]
        constraints = [
            models.UniqueConstraint(fields=["company", "kind", "version"], name="template_unique_version"),
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
    status = models.CharField(_("状態"), max_length=16, choices=MessageStatus.choices, default=MessageStatus.SCHEDULED)
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
