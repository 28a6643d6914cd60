"""The relay: the operator's registrants, their registrations through companies' referral links, the ledger of
credits and slots, the operator's contract with each company, and referral requests with their introductions.

The relay operator is a licensed recruitment agency (有料職業紹介事業者): registrants are its candidates,
companies its clients. A company sees what the consent text promises it: counts, and per candidate that a
registration happened; a registrant's profile only through an introduction the registrant consented to.
"""

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from tsunagu.companies.models import Company


class Click(models.Model):
    """A candidate opened their personal /r/ link."""

    company = models.ForeignKey(Company, on_delete=models.CASCADE, related_name="clicks")
    message = models.ForeignKey("messaging.Message", on_delete=models.CASCADE, related_name="clicks")
    user_agent = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        # The dashboard's refresh finds new clicks by time (analytics/actions/rollup.py).
        indexes = [models.Index(fields=["company", "created_at"], name="click_created_idx")]


class Contract(models.Model):
    """The operator's contract with a client company: what earns a free referral slot, and what a referral
    would have cost (for "cost saved"). Set by operator staff; the company sees it read-only."""

    company = models.OneToOneField(Company, on_delete=models.CASCADE, related_name="relay_contract")
    ratio = models.PositiveSmallIntegerField(
        _("無料紹介枠1つに必要な登録数"), default=10, validators=[MinValueValidator(1), MaxValueValidator(1000)])
    fee_yen = models.PositiveIntegerField(_("紹介手数料(円)"), default=0,
                                          validators=[MaxValueValidator(100_000_000)])
    starts_on = models.DateField(_("契約開始日"), null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("契約")
        verbose_name_plural = _("契約")


class RegistrantStatus(models.TextChoices):
    NEW = "new", _("新規")
    SCHEDULING = "scheduling", _("面談調整中")
    INTERVIEWED = "interviewed", _("面談済")
    INTRODUCING = "introducing", _("紹介中")
    OFFERED = "offered", _("内定")
    JOINED = "joined", _("入社")
    PAUSED = "paused", _("休止")
    WITHDRAWN = "withdrawn", _("退会")


class Registrant(models.Model):
    """One person across the whole relay (by normalised e-mail; phone too where given): however many links
    of however many companies they register through, they are one registrant and earn at most one credit."""

    email_key = models.CharField(max_length=254, unique=True, editable=False)
    email = models.CharField(_("メールアドレス"), max_length=254)
    name = models.CharField(_("氏名"), max_length=100)
    name_kana = models.CharField(_("フリガナ"), max_length=100, blank=True)
    name_key = models.CharField(max_length=100, blank=True, db_index=True, editable=False)
    kana_key = models.CharField(max_length=100, blank=True, editable=False)
    phone = models.CharField(_("電話番号"), max_length=30, blank=True)
    phone_e164 = models.CharField(max_length=20, blank=True, db_index=True, editable=False)
    desired_job = models.CharField(_("希望職種"), max_length=100, blank=True)
    desired_region = models.CharField(_("希望勤務地"), max_length=50, blank=True)
    status = models.CharField(_("状態"), max_length=16, choices=RegistrantStatus.choices,
                              default=RegistrantStatus.NEW)
    # Whether the operator may propose them to a company that once rejected them (asked when they consent).
    open_to_former_companies = models.BooleanField(_("過去に応募した企業への紹介も可"), default=False)
    # The company whose link brought them first: the one credited (see relay.actions.registration).
    first_company = models.ForeignKey(Company, null=True, blank=True, on_delete=models.SET_NULL,
                                      related_name="first_registrants")
    created_at = models.DateTimeField(_("登録日時"), auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("登録者")
        verbose_name_plural = _("登録者")
        ordering = ["-created_at", "-pk"]

    def __str__(self):
        return f"{self.name} <{self.email}>"


class RegistrantNote(models.Model):
    """An advisor's note on a registrant (the operator's CRM)."""

    registrant = models.ForeignKey(Registrant, on_delete=models.CASCADE, related_name="notes")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL)
    text = models.TextField(_("メモ"), max_length=5000)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-pk"]


class RegistrantDetails(models.Model):
    """What the candidate entered on the registration form, and the consent they gave."""

    name = models.CharField(_("氏名"), max_length=200)
    email = models.CharField(_("メールアドレス"), max_length=254)
    desired_job = models.CharField(_("希望職種"), max_length=200, blank=True)
    desired_region = models.CharField(_("希望勤務地"), max_length=100, blank=True)
    phone = models.CharField(_("電話番号"), max_length=30, blank=True)
    consent_version = models.CharField(max_length=32)
    consented_at = models.DateTimeField()

    class Meta:
        abstract = True

    DETAIL_FIELDS = ("name", "email", "desired_job", "desired_region", "phone", "consent_version", "consented_at")

    def details(self) -> dict:
        return {field: getattr(self, field) for field in self.DETAIL_FIELDS}


class RegistrationRequest(RegistrantDetails):
    """A filled-in registration form, waiting for its e-mail address to be verified (double opt-in)."""

    company = models.ForeignKey(Company, on_delete=models.CASCADE, related_name="registration_requests")
    message = models.ForeignKey("messaging.Message", on_delete=models.CASCADE, related_name="registration_requests")
    candidate = models.ForeignKey("talent.Candidate", on_delete=models.CASCADE, related_name="registration_requests")
    # Keyed hashes (never the raw values) of the network and browser the form came from: fraud signals.
    network_hash = models.CharField(max_length=32, blank=True, db_index=True)
    browser_hash = models.CharField(max_length=32, blank=True, db_index=True)
    # The consent texts exactly as the form showed them ({"purpose": ..., "provision": ...}: the page posts
    # their digest) and the keyed hash of the address that sent the form: what the ConsentRecords keep on
    # verification. Empty for forms from before issue 13 (their texts are rebuilt then).
    consent_texts = models.JSONField(default=dict, blank=True)
    ip_hash = models.CharField(max_length=32, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    verified_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["company", "created_at"], name="regrequest_created_idx")]


class CreditStatus(models.TextChoices):
    CREDITED = "credited", _("クレジット付与")
    HELD = "held", _("確認待ち")
    VOIDED = "voided", _("無効")
    DUPLICATE = "duplicate", _("登録済みの方")


class Registration(RegistrantDetails):
    """A verified registration through one company's link: one per candidate and company. Whether it earns
    the company a credit is `credit_status`: at once, held for the operator's review (with the reasons), void,
    or a repeat of a registrant already known to the relay (never a second credit)."""

    company = models.ForeignKey(Company, on_delete=models.CASCADE, related_name="registrations")
    candidate = models.ForeignKey("talent.Candidate", on_delete=models.CASCADE, related_name="registrations")
    request = models.OneToOneField(RegistrationRequest, on_delete=models.PROTECT, related_name="registration")
    registrant = models.ForeignKey(Registrant, on_delete=models.PROTECT, related_name="registrations")
    credit_status = models.CharField(_("クレジット"), max_length=16, choices=CreditStatus.choices)
    # Why it is held (or was voided): fraud-signal codes (relay.fraud.SIGNALS) and the reviewer's words.
    reasons = models.JSONField(default=list, blank=True)
    reviewed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                    related_name="+")
    reviewed_at = models.DateTimeField(null=True, blank=True)
    review_note = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(_("登録日時"), auto_now_add=True)

    class Meta:
        verbose_name = _("登録")
        verbose_name_plural = _("登録")
        ordering = ["-created_at"]
        constraints = [models.UniqueConstraint(fields=["company", "candidate"], name="registration_unique_candidate")]
        indexes = [models.Index(fields=["credit_status", "created_at"]),
                   models.Index(fields=["company", "created_at"], name="registration_created_idx")]


class ConsentKind(models.TextChoices):
    PURPOSE = "purpose", _("利用目的への同意")
    PROVISION = "provision", _("提携先への情報提供への同意")
    INTRODUCTION = "introduction", _("推薦(第三者提供)への同意")


class ConsentRecord(models.Model):
    """A consent, word for word as the person saw it, and when (個人情報保護法: 第三者提供の同意と記録): the text,
    its SHA-256, the version of its wording, what it was for (`purpose`: a stable code such as
    "career_support", "provision_to_partners" or "introduction:<company slug>", with a label as shown then),
    a keyed hash of the address it came from (never the address), and its withdrawal (relay.actions.consents).
    The text, its hash and the time are never changed once written."""

    registrant = models.ForeignKey(Registrant, on_delete=models.CASCADE, related_name="consents")
    kind = models.CharField(max_length=16, choices=ConsentKind.choices)
    version = models.CharField(max_length=32)
    text = models.TextField()
    text_hash = models.CharField(max_length=64, blank=True)
    purpose = models.CharField(max_length=100, blank=True)
    purpose_label = models.CharField(max_length=300, blank=True)
    company = models.ForeignKey(Company, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    introduction = models.ForeignKey("Introduction", null=True, blank=True, on_delete=models.SET_NULL,
                                     related_name="consents")
    ip_hash = models.CharField(max_length=32, blank=True)
    given_at = models.DateTimeField()
    withdrawn_at = models.DateTimeField(null=True, blank=True)
    # How it was withdrawn: the person's own page, or which staff member took it by phone or letter.
    withdrawn_via = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["-given_at", "-pk"]
        indexes = [models.Index(fields=["registrant", "withdrawn_at"])]


class EmploymentType(models.TextChoices):
    FULL_TIME = "full_time", _("正社員")
    CONTRACT = "contract", _("契約社員")
    PART_TIME = "part_time", _("パート・アルバイト")
    TEMPORARY = "temporary", _("派遣")
    FREELANCE = "freelance", _("業務委託")


class RequestStatus(models.TextChoices):
    OPEN = "open", _("募集中")
    FILLED = "filled", _("採用決定")
    CLOSED = "closed", _("終了(採用なし)")


class ReferralRequest(models.Model):
    """A company's request for a referral (紹介依頼, an agency's job order), paid with a free slot: the slot is
    reserved when it is filed, used by a hire, and released when it closes without one."""

    company = models.ForeignKey(Company, on_delete=models.CASCADE, related_name="referral_requests")
    title = models.CharField(_("職種"), max_length=200)
    description = models.TextField(_("仕事内容"), max_length=5000, blank=True)
    location = models.CharField(_("勤務地"), max_length=200, blank=True)
    salary_min = models.PositiveIntegerField(_("年収下限(円)"), null=True, blank=True)
    salary_max = models.PositiveIntegerField(_("年収上限(円)"), null=True, blank=True)
    employment_type = models.CharField(_("雇用形態"), max_length=16, choices=EmploymentType.choices,
                                       default=EmploymentType.FULL_TIME)
    headcount = models.PositiveSmallIntegerField(_("採用人数"), default=1,
                                                 validators=[MinValueValidator(1), MaxValueValidator(100)])
    deadline = models.DateField(_("期限"), null=True, blank=True)
    status = models.CharField(_("状態"), max_length=16, choices=RequestStatus.choices, default=RequestStatus.OPEN)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("紹介依頼")
        verbose_name_plural = _("紹介依頼")
        ordering = ["-created_at", "-pk"]


class IntroductionStatus(models.TextChoices):
    PROPOSED = "proposed", _("提案中")
    CONSENT_REQUESTED = "consent_requested", _("本人の同意待ち")
    INTRODUCED = "introduced", _("推薦済み")
    DECLINED = "declined", _("本人が辞退")
    WITHDRAWN = "withdrawn", _("取り下げ")


class Outcome(models.TextChoices):
    PENDING = "", _("未回答")
    DOCUMENT_PASSED = "document_passed", _("書類選考通過")
    INTERVIEW = "interview", _("面接")
    REJECTED = "rejected", _("見送り")
    OFFERED = "offered", _("内定")
    HIRED = "hired", _("入社")


class Introduction(models.Model):
    """A registrant proposed for a referral request (推薦, an agency's submission). The company sees the
    profile only once the registrant consented to this provision (status introduced), then answers with
    outcomes; 入社 uses the request's slot."""

    request = models.ForeignKey(ReferralRequest, on_delete=models.CASCADE, related_name="introductions")
    registrant = models.ForeignKey(Registrant, on_delete=models.PROTECT, related_name="introductions")
    status = models.CharField(_("状態"), max_length=20, choices=IntroductionStatus.choices,
                              default=IntroductionStatus.PROPOSED)
    outcome = models.CharField(_("選考結果"), max_length=16, choices=Outcome.choices, blank=True,
                               default=Outcome.PENDING)
    # What the operator tells the company about the person, shown with the profile once consented.
    recommendation = models.TextField(_("推薦文"), max_length=5000, blank=True)
    proposed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                    related_name="+")
    consented_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("推薦")
        verbose_name_plural = _("推薦")
        ordering = ["-created_at", "-pk"]
        constraints = [models.UniqueConstraint(fields=["request", "registrant"], name="introduction_unique")]


class RequestEvent(models.Model):
    """The history of a referral request and its introductions: who did what, when."""

    request = models.ForeignKey(ReferralRequest, on_delete=models.CASCADE, related_name="events")
    introduction = models.ForeignKey(Introduction, null=True, blank=True, on_delete=models.CASCADE,
                                     related_name="events")
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                              related_name="+")
    # Who acted when no console user did: "api" (the company's key), "registrant", "operator-api", "system".
    actor_label = models.CharField(max_length=30, blank=True)
    kind = models.CharField(max_length=40)
    detail = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "pk"]


class LedgerKind(models.TextChoices):
    CREDIT = "credit", _("登録クレジット")
    CREDIT_REVERSED = "credit_reversed", _("クレジットの取り消し")
    SLOT_EARNED = "slot_earned", _("無料紹介枠の獲得")
    SLOT_REVOKED = "slot_revoked", _("無料紹介枠の取り消し")
    SLOT_RESERVED = "slot_reserved", _("無料紹介枠の確保(紹介依頼)")
    SLOT_RELEASED = "slot_released", _("無料紹介枠の返却")
    SLOT_REDEEMED = "slot_redeemed", _("無料紹介枠の利用")


class LedgerEntry(models.Model):
    """Append-only: the truth about credits and slots. Numbers run 1, 2, 3... per company and kind. Nothing
    is edited or deleted: a reversal is an entry of its own that names the entry it reverses."""

    company = models.ForeignKey(Company, on_delete=models.CASCADE, related_name="ledger_entries")
    kind = models.CharField(max_length=16, choices=LedgerKind.choices)
    number = models.PositiveIntegerField()
    # For credits and their reversals: credits counted toward the next slot after this entry.
    progress_after = models.PositiveIntegerField(default=0)
    registration = models.ForeignKey(Registration, null=True, blank=True, on_delete=models.PROTECT,
                                     related_name="ledger_entries")
    reverses = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT, related_name="reversals")
    request = models.ForeignKey(ReferralRequest, null=True, blank=True, on_delete=models.PROTECT,
                                related_name="ledger_entries")
    introduction = models.ForeignKey(Introduction, null=True, blank=True, on_delete=models.PROTECT,
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
            models.UniqueConstraint(fields=["reverses"], condition=models.Q(kind="credit_reversed"),
                                    name="ledger_one_reversal_per_credit"),
            models.UniqueConstraint(fields=["request"], condition=models.Q(kind="slot_reserved"),
                                    name="ledger_one_reservation_per_request"),
            models.UniqueConstraint(fields=["request"], condition=models.Q(kind="slot_released"),
                                    name="ledger_one_release_per_request"),
            models.UniqueConstraint(fields=["introduction"], condition=models.Q(kind="slot_redeemed"),
                                    name="ledger_one_use_per_introduction"),
        ]
        indexes = [models.Index(fields=["company", "created_at"], name="ledger_created_idx")]


# The names ProvisionRecord.items holds, and how they read.
PROVIDED_ITEM_LABELS = {
    "name": _("氏名"), "email": _("メールアドレス"), "phone": _("電話番号"), "desired_job": _("希望職種"),
    "desired_region": _("希望勤務地"), "recommendation": _("推薦文"),
}


class ProvisionRecord(models.Model):
    """The record of a provision to a third party (第三者提供の記録, 個人情報保護法 第29条): one per introduction the
    registrant consented to, written with the consent. Append-only: kept when the company, the registrant, the
    consent or the staff member is gone (names and e-mail kept as they were), never edited: only
    relay.actions.provisions writes it, no page or admin changes it, and deleting one refuses."""

    provided_at = models.DateTimeField(_("提供日時"))
    recipient = models.ForeignKey(Company, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    recipient_name = models.CharField(_("提供先"), max_length=200)
    registrant = models.ForeignKey(Registrant, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="provisions")
    introduction = models.ForeignKey(Introduction, null=True, blank=True, on_delete=models.SET_NULL,
                                     related_name="provisions")
    request_title = models.CharField(_("求人"), max_length=200, blank=True)
    # The registrant's fields provided (introduction_consent.PROFILE_FIELDS that held a value, and
    # "recommendation" when there was one): names of items, never their values.
    items = models.JSONField(default=list)
    consent = models.ForeignKey(ConsentRecord, null=True, blank=True, on_delete=models.SET_NULL,
                                related_name="provisions")
    staff = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                              related_name="+")
    staff_email = models.CharField(_("担当者"), max_length=254, blank=True)

    class Meta:
        verbose_name = _("第三者提供の記録")
        verbose_name_plural = _("第三者提供の記録")
        ordering = ["-provided_at", "-pk"]
        indexes = [models.Index(fields=["provided_at"]), models.Index(fields=["recipient", "provided_at"])]

    def delete(self, *args, **kwargs):
        raise ValueError("a provision record is never deleted")

    @property
    def item_labels(self) -> list[str]:
        return [str(PROVIDED_ITEM_LABELS.get(item, item)) for item in self.items]
