"""Privacy records. None holds personal data of its own: a request points at its person while they exist, an
erasure keeps only what happened and, where the person chose it, a keyed hash of the address."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from tsunagu.companies.models import Company


class RequestKind(models.TextChoices):
    EXPORT = "export", _("開示(データのダウンロード)")
    CORRECT = "correct", _("訂正")
    STOP = "stop", _("利用停止")
    DELETE = "delete", _("削除")


class RequestChannel(models.TextChoices):
    WEB = "web", _("本人のページから")
    PHONE = "phone", _("電話")
    LETTER = "letter", _("書面")
    MAIL = "mail", _("メール")
    API = "api", _("API")
    ATS = "ats", _("連携元のATS")


class RequestStatus(models.TextChoices):
    AWAITING_CONFIRMATION = "awaiting", _("本人の確認待ち")
    OPEN = "open", _("対応待ち")
    DONE = "done", _("対応済み")
    CANCELLED = "cancelled", _("取り下げ")


class PrivacyRequest(models.Model):
    """A person's request about their data (開示・訂正・利用停止・削除), filed by them on their page or by staff for
    someone who asked by phone or letter, with the date it is due (the law asks for an answer without delay).

    `company` is the party that must answer: a hiring company for its candidates, the relay operator's party
    for its registrants. The subject is a candidate or a registrant while they exist (SET_NULL after)."""

    company = models.ForeignKey(Company, on_delete=models.CASCADE, related_name="privacy_requests")
    candidate = models.ForeignKey("talent.Candidate", null=True, blank=True, on_delete=models.SET_NULL,
                                  related_name="privacy_requests")
    registrant = models.ForeignKey("relay.Registrant", null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="privacy_requests")
    kind = models.CharField(_("種類"), max_length=16, choices=RequestKind.choices)
    channel = models.CharField(_("受付方法"), max_length=16, choices=RequestChannel.choices)
    status = models.CharField(_("状態"), max_length=16, choices=RequestStatus.choices, default=RequestStatus.OPEN)
    # Deletion only: whether the address may never be mailed again (kept as a keyed hash).
    suppress_mail = models.BooleanField(_("今後メールを送らない"), default=True)
    # Deletion asked on a company's page by someone who also registered with the relay through its link: the
    # operator's record of them goes too (the person asked both parties at once).
    include_relay = models.BooleanField(_("キャリア支援サービスの登録も削除"), default=False)
    # Staff's words about the request (what was asked, how it was answered). Cleared when the person is erased.
    note = models.TextField(_("メモ"), max_length=2000, blank=True)
    received_at = models.DateTimeField(_("受付日時"))
    due_on = models.DateField(_("対応期限"))
    confirmed_at = models.DateTimeField(null=True, blank=True)
    done_at = models.DateTimeField(_("対応日時"), null=True, blank=True)
    filed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                 related_name="+")
    handled_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    handled_by_label = models.CharField(max_length=254, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("個人情報の請求")
        verbose_name_plural = _("個人情報の請求")
        ordering = ["status", "due_on", "-pk"]
        indexes = [models.Index(fields=["company", "status", "due_on"], name="privacy_request_due_idx")]

    def __str__(self):
        return f"{self.get_kind_display()} #{self.pk}"


class ErasureReason(models.TextChoices):
    REQUEST = "request", _("本人の削除依頼")
    STAFF = "staff", _("担当者による削除(本人からの依頼)")
    API = "api", _("APIからの削除")
    ATS = "ats", _("連携元のATSでの削除")
    RETENTION = "retention", _("保存期間の満了")


class Erasure(models.Model):
    """That one person's data was erased, when, why and by whom, and how many rows it touched: the proof an
    auditor asks for, without the data. `subject_id` is the anonymised row's id (a candidate or registrant)."""

    company = models.ForeignKey(Company, on_delete=models.CASCADE, related_name="erasures")
    subject_kind = models.CharField(max_length=16)  # "candidate" or "registrant"
    subject_id = models.BigIntegerField()
    reason = models.CharField(_("理由"), max_length=16, choices=ErasureReason.choices)
    request = models.ForeignKey(PrivacyRequest, null=True, blank=True, on_delete=models.SET_NULL,
                                related_name="erasures")
    actor = models.CharField(_("実行者"), max_length=254, blank=True)
    # Rows changed per table, e.g. {"talent.candidate": 1, "messaging.message": 3}.
    counts = models.JSONField(default=dict)
    suppressed = models.BooleanField(default=False)
    created_at = models.DateTimeField(_("日時"), auto_now_add=True)

    class Meta:
        verbose_name = _("削除の記録")
        verbose_name_plural = _("削除の記録")
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["company", "-created_at"], name="erasure_recent_idx")]


class ConsentPurpose(models.TextChoices):
    POOL = "pool", _("タレントプールに残り、新しい求人の案内を受け取る")


class PoolConsent(models.Model):
    """A person's consent to stay in one company's talent pool (the re-consent mail's one click), word for word:
    the text shown, its hash and version, the purpose, when, a keyed hash of the network, and its withdrawal.
    The text is a snapshot: a later change of the company's name or retention leaves it as it was shown."""

    company = models.ForeignKey(Company, on_delete=models.CASCADE, related_name="pool_consents")
    candidate = models.ForeignKey("talent.Candidate", on_delete=models.CASCADE, related_name="pool_consents")
    purpose = models.CharField(_("利用目的"), max_length=16, choices=ConsentPurpose.choices,
                               default=ConsentPurpose.POOL)
    version = models.CharField(_("版"), max_length=32)
    text = models.TextField(_("同意した文言"))
    text_hash = models.CharField(max_length=64)
    ip_hash = models.CharField(max_length=32, blank=True)
    given_at = models.DateTimeField(_("同意日時"))
    withdrawn_at = models.DateTimeField(_("撤回日時"), null=True, blank=True)
    withdrawn_via = models.CharField(max_length=32, blank=True)

    class Meta:
        verbose_name = _("プールへの同意")
        verbose_name_plural = _("プールへの同意")
        ordering = ["-given_at", "-pk"]
