import re
import unicodedata
from datetime import date
from zoneinfo import available_timezones

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from tsunagu.lib.encryption import EncryptedTextField


def validate_time_zone(value: str) -> None:
    if value not in available_timezones():
        raise ValidationError(_("不明なタイムゾーンです: %(value)s"), params={"value": value})


_DAY = r"(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})"
_CLOSED_DAY_LINE = re.compile(_DAY + r"(?:\s*[~〜ー−\-–]\s*" + _DAY + r")?")
MAX_CLOSED_SPAN_DAYS = 62


def parse_closed_days(text: str) -> list[tuple[date, date]]:
    """The company's own closing days, one per line: `2026-08-13` or a range `2026-08-13〜2026-08-16`
    (`#` starts a comment). Raises ValidationError naming the first bad line."""
    spans = []
    for number, raw in enumerate((text or "").splitlines(), start=1):
        line = unicodedata.normalize("NFKC", raw.split("#", 1)[0]).strip()  # full-width digits too
        if not line:
            continue
        match = _CLOSED_DAY_LINE.fullmatch(line)
        try:
            if match is None:
                raise ValueError
            first = date(int(match[1]), int(match[2]), int(match[3]))
            last = date(int(match[4]), int(match[5]), int(match[6])) if match[4] else first
        except ValueError:
            raise ValidationError(_("%(line)d行目: 日付は「2026-08-13」か「2026-08-13〜2026-08-16」の形で書いてください。"),
                                  params={"line": number}) from None
        if last < first or (last - first).days > MAX_CLOSED_SPAN_DAYS:
            raise ValidationError(_("%(line)d行目: 期間は開始日から%(days)d日以内の終了日までにしてください。"),
                                  params={"line": number, "days": MAX_CLOSED_SPAN_DAYS})
        spans.append((first, last))
    return spans


def validate_closed_days(value: str) -> None:
    parse_closed_days(value)


def is_year_end_holiday(day: date) -> bool:
    """年末年始: 29 December to 3 January, when Japanese companies (and their candidates' inboxes) rest."""
    return (day.month == 12 and day.day >= 29) or (day.month == 1 and day.day <= 3)


class SendWindow(models.TextChoices):
    BUSINESS = "business", _("営業時間内(平日。祝日・年末年始・休業日を除く)")
    ALWAYS = "always", _("いつでも")


class CompanyQuerySet(models.QuerySet):
    def tenants(self):
        """The hiring companies, without the relay operator's own sending party (see Company.is_operator)."""
        return self.filter(is_operator=False)


class Company(models.Model):
    """A hiring company: the tenant. Every other row belongs to exactly one.

    One row is not a hiring company but the relay operator (is_operator): the party that sends the mail to
    registrants (the verification mail, the consent requests) under its own name, address and licence. Its
    mail is that row's, so the company filter that keeps companies apart keeps it from every company too.
    Lists of companies use `Company.objects.tenants()`.
    """

    slug = models.SlugField(_("スラッグ"), max_length=50, unique=True)
    name = models.CharField(_("会社名(正式名称)"), max_length=200, help_text=_("メールに表示されます。例: 株式会社つなぐ"))
    sender_name = models.CharField(_("差出人名"), max_length=200, blank=True, help_text=_("空欄なら「会社名 採用担当」"))
    sender_email = models.EmailField(_("差出人アドレス"), blank=True)
    reply_to = models.EmailField(_("返信先アドレス"), blank=True)
    signature = models.TextField(_("署名"), blank=True, help_text=_("通知の末尾に入ります。空欄なら「会社名 採用担当」"))
    time_zone = models.CharField(_("タイムゾーン"), max_length=64, default="Asia/Tokyo",
                                 validators=[validate_time_zone])
    delay_minutes = models.PositiveIntegerField(
        _("送信までの待ち時間(分)"), default=24 * 60, validators=[MaxValueValidator(60 * 24 * 30)]
    )
    send_window = models.CharField(_("送信時間帯"), max_length=16, choices=SendWindow.choices, default=SendWindow.BUSINESS)
    business_hour_start = models.PositiveSmallIntegerField(
        _("営業開始(時)"), default=9, validators=[MaxValueValidator(23)]
    )
    business_hour_end = models.PositiveSmallIntegerField(
        _("営業終了(時)"), default=18, validators=[MinValueValidator(1), MaxValueValidator(24)]
    )
    closed_year_end = models.BooleanField(_("年末年始(12月29日〜1月3日)は送らない"), default=True)
    closed_days = models.TextField(
        _("休業日"), blank=True, validators=[validate_closed_days],
        help_text=_("この日は送りません。1行に1つ、「2026-08-13」か「2026-08-13〜2026-08-16」の形で書きます。"))
    combine_rejections_minutes = models.PositiveIntegerField(
        _("同じ人の不採用をまとめる時間(分)"), default=60, validators=[MaxValueValidator(60 * 24 * 7)],
        help_text=_("この時間内に同じ人を複数の求人で不採用にしたとき、通知を1通にまとめて職種を並べます。0でまとめません。"),
    )
    # 特定電子メール法: mail that advertises anything names the sender and gives its address.
    postal_address = models.CharField(_("差出人の住所"), max_length=300, blank=True,
                                      help_text=_("メール本文の末尾に表示されます(特定電子メール法)。"))
    frequency_cap_days = models.PositiveSmallIntegerField(
        _("同じ人へのメールの最短間隔(日)"), default=30, validators=[MaxValueValidator(365)],
        help_text=_("フォローアップや求人のご案内は、前のメールからこの日数が過ぎるまで送りません。"))
    failure_alerts = models.BooleanField(_("送信失敗を管理者にメールで知らせる"), default=False)
    # The month's figures by mail to the admins (analytics.actions.monthly_summary), from the month after the
    # one it was turned on in: `monthly_summary_since` is when it was last turned on.
    monthly_summary_mail = models.BooleanField(_("毎月の成果サマリーを管理者にメールで送る"), default=False)
    monthly_summary_since = models.DateTimeField(null=True, blank=True, editable=False)
    # Re-applications (talent.Reapplication): the thank-you mail to the person, and a chat channel for HR.
    welcome_back_mail = models.BooleanField(_("再応募した方にお礼のメールを送る"), default=False)
    # A Slack or Microsoft Teams incoming-webhook URL (a secret: anyone holding it can post to the channel).
    chat_webhook_url = EncryptedTextField(
        _("再応募の通知先(Slack / Microsoft Teams の Incoming Webhook URL)"), blank=True)
    # Optional DKIM signing with the sender address's domain (a PEM private key and its DNS selector).
    dkim_selector = models.CharField(_("DKIMセレクタ"), max_length=63, blank=True)
    # Encrypted at rest (lib/encryption.py): the database holds a token, Python the PEM.
    dkim_private_key = EncryptedTextField(_("DKIM秘密鍵(PEM)"), blank=True)
    privacy_policy = models.TextField(_("プライバシーポリシー(本文またはURL)"), blank=True)
    retention_days = models.PositiveIntegerField(
        _("個人情報の保存期間(日)"), default=365 * 3, validators=[MinValueValidator(1), MaxValueValidator(365 * 20)]
    )
    # Shorter, if HR so decides, for people who never agreed to stay in the pool (None: retention_days).
    retention_days_without_consent = models.PositiveIntegerField(
        _("プールへの同意がない方の保存期間(日)"), null=True, blank=True,
        validators=[MinValueValidator(1), MaxValueValidator(365 * 20)],
        help_text=_("空欄なら上の保存期間と同じです。"))
    # How long the record of who read or changed personal data (AccessLog) is kept: 5 years by default.
    access_log_retention_days = models.PositiveIntegerField(
        _("アクセス記録の保存期間(日)"), default=365 * 5,
        validators=[MinValueValidator(365), MaxValueValidator(365 * 10)],
        help_text=_("個人情報を閲覧・検索・出力・変更・削除した記録を残す日数です(365〜3650日)。"))
    # The relay operator's party only: the licensed recruitment agency behind the career-support service.
    is_operator = models.BooleanField(default=False, editable=False)
    service_name = models.CharField(_("サービス名"), max_length=100, blank=True)
    licence_number = models.CharField(_("有料職業紹介事業 許可番号"), max_length=50, blank=True,
                                      help_text=_("例: 13-ユ-300000"))
    created_at = models.DateTimeField(auto_now_add=True)

    objects = CompanyQuerySet.as_manager()

    class Meta:
        verbose_name = _("企業")
        verbose_name_plural = _("企業")
        constraints = [models.UniqueConstraint(fields=["is_operator"], condition=models.Q(is_operator=True),
                                               name="company_one_operator")]

    def __str__(self):
        return self.name

    def closed_on(self, day: date) -> bool:
        """Whether the company does not send on this (local) day, besides weekends and public holidays."""
        if self.closed_year_end and is_year_end_holiday(day):
            return True
        spans = getattr(self, "_closed_spans", None)
        if spans is None or spans[0] != self.closed_days:
            spans = (self.closed_days, parse_closed_days(self.closed_days))
            self._closed_spans = spans
        return any(first <= day <= last for first, last in spans[1])

    @property
    def display_sender_name(self) -> str:
        return self.sender_name or f"{self.name} 採用担当"

    @property
    def display_signature(self) -> str:
        return self.signature or f"{self.name}\n採用担当"

    @property
    def from_email(self) -> str:
        return self.sender_email or settings.DEFAULT_FROM_EMAIL


class Role(models.TextChoices):
    ADMIN = "admin", _("管理者")
    RECRUITER = "recruiter", _("採用担当")
    VIEWER = "viewer", _("閲覧のみ")


class Membership(models.Model):
    """A console user's role in one company."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    company = models.ForeignKey(Company, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(_("権限"), max_length=16, choices=Role.choices, default=Role.RECRUITER)
    # Re-application alerts by e-mail: None follows the role (admins get them), True/False is the user's choice.
    reapplication_mail = models.BooleanField(_("再応募をメールで受け取る"), null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "company"], name="membership_unique_user_company")]

    def __str__(self):
        return f"{self.user} @ {self.company} ({self.role})"

    @property
    def can_edit(self) -> bool:
        return self.role in {Role.ADMIN, Role.RECRUITER}

    @property
    def is_admin(self) -> bool:
        return self.role == Role.ADMIN


class ApiKey(models.Model):
    """A company's API key. Only a SHA-256 of the secret is kept; the key is shown once."""

    company = models.ForeignKey(Company, on_delete=models.CASCADE, related_name="api_keys")
    prefix = models.CharField(max_length=16, unique=True)
    secret_hash = models.CharField(max_length=64)
    label = models.CharField(max_length=100, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    def __str__(self):
        return f"tsu_{self.prefix}_… ({self.company.slug})"


class OperatorProfile(models.Model):
    """Marks a user as staff of the relay operator (sees registrants across companies)."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="operator_profile")
    created_at = models.DateTimeField(auto_now_add=True)


class AuditEventQuerySet(models.QuerySet):
    """Append-only: rows are added through companies.actions.record_event and never changed or removed here."""

    def update(self, **kwargs):
        raise TypeError("audit events are append-only")

    def delete(self):
        raise TypeError("audit events are append-only")


class AuditEvent(models.Model):
    """Who did what, when, to which thing: a company's record of sensitive acts in the console (a secret
    revealed, an API key issued or revoked, an ATS connection added). It never holds a secret's value.

    `actor` keeps the user's address as it was, so the record still reads right after the user is gone.
    """

    company = models.ForeignKey(Company, on_delete=models.CASCADE, related_name="audit_events")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                             related_name="+")
    actor = models.CharField(_("操作した人"), max_length=254, blank=True)
    action = models.CharField(_("操作"), max_length=64)
    target = models.CharField(_("対象"), max_length=300, blank=True)
    created_at = models.DateTimeField(_("日時"), auto_now_add=True)

    objects = AuditEventQuerySet.as_manager()

    class Meta:
        verbose_name = _("監査記録")
        verbose_name_plural = _("監査記録")
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["company", "-created_at"], name="audit_company_time_idx")]

    def __str__(self):
        return f"{self.created_at:%Y-%m-%d %H:%M} {self.actor} {self.action} {self.target}"

    def delete(self, *args, **kwargs):
        raise TypeError("audit events are append-only")


class AccessChannel(models.TextChoices):
    CONSOLE = "console", _("管理画面")
    API = "api", _("API")
    OPERATOR = "operator", _("運営者の画面")
    SYSTEM = "system", _("システム")
    PERSON = "person", _("本人")


class AccessAction(models.TextChoices):
    VIEW = "view", _("閲覧")
    SEARCH = "search", _("検索")
    EXPORT = "export", _("出力")
    CHANGE = "change", _("変更")
    DELETE = "delete", _("削除")


# What a row of the log is about (AccessLog.subject_kind); a new kind is added here, so the log's page can filter it.
SUBJECT_KINDS = {
    "candidate": _("候補者"),
    "application": _("応募"),
    "message": _("メッセージ"),
    "reapplication": _("再応募"),
    "registrant": _("登録者"),
    "company": _("企業"),
    "access_log": _("アクセス記録"),
}


class AccessLogQuerySet(models.QuerySet):
    """Append-only: rows are added through companies.actions.record_access; only the purge past the company's
    retention (companies.actions.purge_access_log) removes any."""

    def update(self, **kwargs):
        raise TypeError("the access log is append-only")

    def delete(self):
        raise TypeError("the access log is append-only")


class AccessLog(models.Model):
    """One read or change of personal data: who (`actor`, kept as text so it reads right after the user is
    gone), through what (`channel`), did what (`action`) to whom (`subject_kind`, `subject_id`, or how many
    people for a search or an export), and why when they said (`purpose`).

    It holds no personal data itself: `detail` names only which filters a search used, never their values (a
    searched name is personal data, and must go when the person is erased)."""

    company = models.ForeignKey(Company, on_delete=models.CASCADE, related_name="access_log")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                             related_name="+")
    actor = models.CharField(_("操作した人"), max_length=254, blank=True)
    channel = models.CharField(_("経路"), max_length=16, choices=AccessChannel.choices)
    action = models.CharField(_("操作"), max_length=16, choices=AccessAction.choices)
    subject_kind = models.CharField(_("対象の種類"), max_length=32)
    subject_id = models.BigIntegerField(_("対象ID"), null=True, blank=True)
    subject_count = models.PositiveIntegerField(_("対象の人数"), null=True, blank=True)
    purpose = models.CharField(_("利用目的"), max_length=200, blank=True)
    detail = models.CharField(_("詳細"), max_length=200, blank=True)
    created_at = models.DateTimeField(_("日時"), auto_now_add=True)

    objects = AccessLogQuerySet.as_manager()

    class Meta:
        verbose_name = _("アクセス記録")
        verbose_name_plural = _("アクセス記録")
        ordering = ["-created_at", "-pk"]
        indexes = [
            models.Index(fields=["company", "-created_at"], name="access_company_time_idx"),
            models.Index(fields=["company", "subject_kind", "subject_id"], name="access_company_subject_idx"),
        ]

    def __str__(self):
        return f"{self.created_at:%Y-%m-%d %H:%M} {self.actor} {self.action} {self.subject_kind} {self.subject_id}"

    def get_subject_kind_display(self) -> str:
        return str(SUBJECT_KINDS.get(self.subject_kind, self.subject_kind))

    def delete(self, *args, **kwargs):
        raise TypeError("the access log is append-only")
