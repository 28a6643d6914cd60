from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from tsunagu.companies.models import Company


class Click(models.Model):
    """A candidate opened their personal /r/ link."""

    company = models.ForeignKey(Company, on_delete=models.CASCADE, related_name="clicks")
    message = models.ForeignKey("messaging.Message", on_delete=models.CASCADE, related_name="clicks")
    user_agent = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)


class RegistrantDetails(models.Model):
    """What the candidate entered on the registration form, and the consent they gave."""

    name = models.CharField(_("氏名"), max_length=200)
    email = models.CharField(_("メールアドレス"), max_length=254)
    desired_job = models.CharField(_("希望職種"), max_length=200, blank=True)
    desired_region = models.CharField(_("希望勤務地"), max_length=100, blank=True)
    consent_version = models.CharField(max_length=32)
    consented_at = models.DateTimeField()

    class Meta:
        abstract = True

    DETAIL_FIELDS = ("name", "email", "desired_job", "desired_region", "consent_version", "consented_at")

    def details(self) -> dict:
        return {field: getattr(self, field) for field in self.DETAIL_FIELDS}


class RegistrationRequest(RegistrantDetails):
    """A filled-in registration form, waiting for its e-mail address to be verified (double opt-in)."""

    company = models.ForeignKey(Company, on_delete=models.CASCADE, related_name="registration_requests")
    message = models.ForeignKey("messaging.Message", on_delete=models.CASCADE, related_name="registration_requests")
    candidate = models.ForeignKey("talent.Candidate", on_delete=models.CASCADE, related_name="registration_requests")
    created_at = models.DateTimeField(auto_now_add=True)
    verified_at = models.DateTimeField(null=True, blank=True)


class Registration(RegistrantDetails):
    """A verified registration with the career-support service: one per candidate and company."""

    company = models.ForeignKey(Company, on_delete=models.CASCADE, related_name="registrations")
    candidate = models.ForeignKey("talent.Candidate", on_delete=models.CASCADE, related_name="registrations")
    request = models.OneToOneField(RegistrationRequest, on_delete=models.PROTECT, related_name="registration")
    created_at = models.DateTimeField(_("登録日時"), auto_now_add=True)

    class Meta:
        verbose_name = _("登録")
        verbose_name_plural = _("登録")
        ordering = ["-created_at"]
        constraints = [models.UniqueConstraint(fields=["company", "candidate"], name="registration_unique_candidate")]


class LedgerKind(models.TextChoices):
    CREDIT = "credit", _("登録クレジット")
    SLOT_EARNED = "slot_earned", _("無料紹介枠の獲得")
    SLOT_REDEEMED = "slot_redeemed", _("無料紹介枠の利用")


class LedgerEntry(models.Model):
    """Append-only: the truth about credits and slots. Numbers run 1, 2, 3... per company and kind."""

    company = models.ForeignKey(Company, on_delete=models.CASCADE, related_name="ledger_entries")
    kind = models.CharField(max_length=16, choices=LedgerKind.choices)
    number = models.PositiveIntegerField()
    # For credits: credits counted toward the next slot after this entry (0 when this one earned a slot).
    progress_after = models.PositiveIntegerField(default=0)
    registration = models.ForeignKey(Registration, null=True, blank=True, on_delete=models.PROTECT,
                                     related_name="ledger_entries")
    note = models.CharField(max_length=300, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.UniqueConstraint(fields=["company", "kind", "number"], name="ledger_unique_number"),
            models.UniqueConstraint(
                fields=["registration"], condition=models.Q(kind="credit"), name="ledger_one_credit_per_registration"
            ),
        ]
