import secrets

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from tsunagu.companies.models import Company
from tsunagu.intake import adapters
from tsunagu.intake.adapters.base import Adapter
from tsunagu.lib.encryption import EncryptedCharField


def new_webhook_token() -> str:
    return secrets.token_urlsafe(24)


class AtsConnection(models.Model):
    """A company's link to one ATS: where its webhooks arrive, how they are verified, how names map."""

    company = models.ForeignKey(Company, on_delete=models.CASCADE, related_name="ats_connections")
    # One of the ATS adapters (intake/adapters/): the choices are read from them, so a new ATS needs no
    # migration.
    kind = models.CharField(_("種類"), max_length=16, choices=adapters.kind_choices)
    # Part of the webhook URL: unguessable, so a URL alone cannot be used to probe other companies.
    token = models.CharField(max_length=64, unique=True, default=new_webhook_token, editable=False)
    # The shared signing secret. Kept as given (verifying an HMAC needs the secret itself) but encrypted at
    # rest, like the vendor's API key (lib/encryption.py): the database holds a token, Python the plaintext.
    secret = EncryptedCharField(_("署名シークレット"), max_length=500, blank=True)
    api_key = EncryptedCharField(_("APIキー"), max_length=500, blank=True)
    api_base_url = models.URLField(_("APIのベースURL"), blank=True)
    # The ATS's own names for stages and rejection reasons -> Tsunagu's (see talent.stages.Stage).
    stage_mapping = models.JSONField(default=dict, blank=True)
    reason_mapping = models.JSONField(default=dict, blank=True)
    active = models.BooleanField(default=True)
    # Requests refused for a bad signature are not stored; only counted, so HR can see a misconfigured secret.
    refused_signatures = models.PositiveIntegerField(default=0)
    last_refused_at = models.DateTimeField(null=True, blank=True)
    # Polling ATSs without webhooks (HERP Hire, see intake/actions/polling.py): where the sweep stands,
    # when the last round ended and what went wrong in it (empty when it went well), when the vendor asked
    # us to come back (HTTP 429), and a short lease so two pollers never work on one connection at once.
    poll_cursor = models.CharField(max_length=200, blank=True)
    last_polled_at = models.DateTimeField(null=True, blank=True)
    last_poll_error = models.TextField(blank=True)
    poll_not_before = models.DateTimeField(null=True, blank=True)
    poll_lease_until = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("ATS連携")
        verbose_name_plural = _("ATS連携")

    def __str__(self):
        return f"{self.company.slug}/{self.kind}"

    @property
    def adapter(self) -> Adapter:
        return adapters.adapter_for(self.kind)

    @property
    def webhook_path(self) -> str:
        return f"/hooks/{self.kind}/{self.token}"

    @property
    def webhook_url(self) -> str:
        return settings.BASE_URL + self.webhook_path


class DeliveryStatus(models.TextChoices):
    QUEUED = "queued", _("処理待ち")
    PROCESSING = "processing", _("処理中")
    PROCESSED = "processed", _("処理済み")
    IGNORED = "ignored", _("対象外")
    FAILED = "failed", _("失敗")


class WebhookDelivery(models.Model):
    """One verified request from an ATS, kept until processed, and the log HR sees."""

    connection = models.ForeignKey(AtsConnection, on_delete=models.CASCADE, related_name="deliveries")
    event_id = models.CharField(max_length=200, blank=True)
    action = models.CharField(max_length=100, blank=True)
    payload = models.JSONField(default=dict)
    status = models.CharField(max_length=16, choices=DeliveryStatus.choices, default=DeliveryStatus.QUEUED)
    outcome = models.CharField(max_length=300, blank=True)
    application_external_id = models.CharField(max_length=200, blank=True)
    message = models.ForeignKey("messaging.Message", null=True, blank=True, on_delete=models.SET_NULL)
    received_at = models.DateTimeField(auto_now_add=True)
    # When a worker took it (status processing); a claim older than the lease is given back by the sweep.
    claimed_at = models.DateTimeField(null=True, blank=True)
    processed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-received_at", "-pk"]
        constraints = [
            models.UniqueConstraint(fields=["connection", "event_id"], condition=~models.Q(event_id=""),
                                    name="delivery_unique_event"),
        ]
        # The worker's drain reads the oldest queued deliveries.
        indexes = [models.Index(fields=["status", "id"], name="delivery_status_idx")]


class ImportStatus(models.TextChoices):
    QUEUED = "queued", _("処理待ち")
    RUNNING = "running", _("処理中")
    DONE = "done", _("完了")
    FAILED = "failed", _("失敗")


class ImportJob(models.Model):
    """A CSV import, run in the background; its counters are the live progress the console shows."""

    company = models.ForeignKey(Company, on_delete=models.CASCADE, related_name="import_jobs")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    filename = models.CharField(max_length=300)
    file_path = models.CharField(max_length=500)
    dry_run = models.BooleanField(default=False)
    send_notices = models.BooleanField(default=False)
    mapping = models.JSONField(default=dict, blank=True)
    status = models.CharField(max_length=16, choices=ImportStatus.choices, default=ImportStatus.QUEUED)
    encoding = models.CharField(max_length=32, blank=True)
    total_rows = models.PositiveIntegerField(default=0)
    processed_rows = models.PositiveIntegerField(default=0)
    imported = models.PositiveIntegerField(default=0)
    updated = models.PositiveIntegerField(default=0)
    skipped = models.PositiveIntegerField(default=0)
    errors = models.JSONField(default=list, blank=True)
    failure = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
