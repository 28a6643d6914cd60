from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from tsunagu.companies.models import Company
from tsunagu.talent.stages import Stage


class JobStatus(models.TextChoices):
    OPEN = "open", _("募集中")
    CLOSED = "closed", _("募集終了")


class Job(models.Model):
    company = models.ForeignKey(Company, on_delete=models.CASCADE, related_name="jobs")
    external_id = models.CharField(_("外部ID"), max_length=200, blank=True)
    title = models.CharField(_("職種"), max_length=300)
    category = models.CharField(_("職種カテゴリ"), max_length=200, blank=True)
    # Defaults in the database too: rows written by bulk statements that name only the older columns stay valid.
    status = models.CharField(_("募集状況"), max_length=16, choices=JobStatus.choices, default=JobStatus.OPEN,
                              db_default=JobStatus.OPEN)
    description = models.TextField(_("仕事内容"), blank=True, default="", db_default="")
    location = models.CharField(_("勤務地"), max_length=200, blank=True, default="", db_default="")
    requirements = models.TextField(_("応募資格・求めるスキル"), blank=True, default="", db_default="")
    # When the job last went from closed (or unknown) to open: the moment rediscovery looks for past candidates.
    opened_at = models.DateTimeField(_("募集開始日時"), null=True, blank=True)
    # Tokens of title, category, description and requirements (talent.search_index), written with the job.
    search_tokens = models.TextField(blank=True, editable=False, default="", db_default="")
    # Recruiters who want re-application alerts for this job (besides those who get them company-wide).
    followers = models.ManyToManyField(settings.AUTH_USER_MODEL, blank=True, related_name="followed_jobs")
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


class PoolState(models.TextChoices):
    """Where a person stands with the company now, from all their applications (the most binding wins)."""

    HIRED = "hired", _("採用")
    IN_SELECTION = "active", _("選考中")
    REJECTED = "rejected", _("不採用")
    WITHDRAWN = "withdrawn", _("辞退")


class Candidate(models.Model):
    """A person as one company knows them. Matched across applications by normalised e-mail.

    Below the identity fields come the talent pool's: what HR edits (skills and tags in CandidateTag, region,
    desired job, note, contact_allowed) and what is derived from the applications whenever one changes
    (talent.actions.pool.refresh_pool_entries: stage reached, evaluation, channel, dates, state, tokens).
    """

    company = models.ForeignKey(Company, on_delete=models.CASCADE, related_name="candidates")
    name = models.CharField(_("氏名"), max_length=200)
    name_kana = models.CharField(_("フリガナ"), max_length=200, blank=True)
    email = models.CharField(_("メールアドレス"), max_length=254)
    phone = models.CharField(_("電話番号"), max_length=50, blank=True)
    name_key = models.CharField(max_length=200, db_index=True, editable=False)
    kana_key = models.CharField(max_length=200, blank=True, editable=False)
    email_key = models.CharField(max_length=254, editable=False)
    phone_e164 = models.CharField(max_length=20, blank=True, db_index=True, editable=False)
    # name_key and kana_key folded further for matching people: 異体字 (髙→高), readings (long vowels, small kana).
    name_fold = models.CharField(max_length=200, blank=True, editable=False)
    kana_fold = models.CharField(max_length=200, blank=True, editable=False)
    # JIS X 0401 prefecture code ("13" is 東京都), and free text for what a code cannot say (リモート, 海外).
    region_code = models.CharField(_("都道府県"), max_length=2, blank=True)
    region_text = models.CharField(_("地域(自由記述)"), max_length=100, blank=True)
    desired_job = models.CharField(_("希望職種"), max_length=200, blank=True)
    note = models.TextField(_("メモ"), blank=True)
    # HR's "do not contact": the person asked not to be approached again, whatever the channel.
    contact_allowed = models.BooleanField(_("再連絡してよい"), default=True)
    # Derived from the applications (refresh_pool_entries).
    stage_reached = models.PositiveSmallIntegerField(_("到達した選考ステップ"), choices=Stage.choices,
                                                     default=Stage.UNKNOWN, editable=False)
    evaluation = models.CharField(_("評価"), max_length=100, blank=True, editable=False)
    channel = models.CharField(_("応募経路"), max_length=200, blank=True, editable=False)
    pool_state = models.CharField(_("状態"), max_length=16, choices=PoolState.choices, blank=True, editable=False)
    last_applied_at = models.DateTimeField(_("最終応募日"), null=True, blank=True, editable=False)
    last_rejected_at = models.DateTimeField(_("最終不採用日"), null=True, blank=True, editable=False)
    # Name n-grams and SudachiPy forms of skills, tags, note, desired job and past jobs (talent.search_index):
    # what the full-text index (SQLite FTS5 / PostgreSQL GIN) holds for the person.
    search_tokens = models.TextField(blank=True, editable=False)
    # Set when HR merged this record into another (a confirmed duplicate): it is then hidden everywhere.
    merged_into = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="merged",
                                    editable=False)
    # The latest time the person agreed to stay in the pool (privacy.PoolConsent): retention counts from it.
    consented_at = models.DateTimeField(_("プールに残る同意"), null=True, blank=True, editable=False)
    # Set when the person's data was erased (on request, by the API or the ATS, or past retention): the row
    # stays, anonymised, so that counts stay true; it is hidden everywhere (tsunagu.privacy.actions.erasure).
    erased_at = models.DateTimeField(_("削除日時"), null=True, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("候補者")
        verbose_name_plural = _("候補者")
        constraints = [models.UniqueConstraint(fields=["company", "email_key"], name="candidate_unique_email")]
        indexes = [
            models.Index(fields=["company", "name_fold"], name="candidate_name_fold_idx"),
            models.Index(fields=["company", "kana_fold"], name="candidate_kana_fold_idx"),
            models.Index(fields=["company", "stage_reached"], name="candidate_stage_idx"),
            models.Index(fields=["company", "region_code"], name="candidate_region_idx"),
            models.Index(fields=["company", "-last_applied_at"], name="candidate_recent_idx"),
        ]

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
        indexes = [models.Index(fields=["company", "status", "rejected_at"]),
                   # The dashboard's counts (analytics/daily.py, analytics/actions/rollup.py).
                   models.Index(fields=["company", "applied_at"], name="application_applied_idx"),
                   models.Index(fields=["company", "updated_at"], name="application_updated_idx")]

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


class TagKind(models.TextChoices):
    SKILL = "skill", _("スキル")
    TAG = "tag", _("タグ")


class CandidateTag(models.Model):
    """One skill or tag of a candidate: typed by HR (or the API), or derived from what the ATS sent
    (`automatic`: job category, stage reached, rejection reason, channel, year; rewritten on every refresh)."""

    company = models.ForeignKey(Company, on_delete=models.CASCADE, related_name="candidate_tags")
    candidate = models.ForeignKey(Candidate, on_delete=models.CASCADE, related_name="tag_rows")
    kind = models.CharField(_("種類"), max_length=8, choices=TagKind.choices, default=TagKind.TAG)
    label = models.CharField(_("タグ"), max_length=50)
    # label folded (NFKC, case, 異体字): "python" and "Ｐｙｔｈｏｎ" are one tag.
    key = models.CharField(max_length=50, editable=False)
    automatic = models.BooleanField(_("自動"), default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("候補者のタグ")
        verbose_name_plural = _("候補者のタグ")
        ordering = ["kind", "automatic", "pk"]
        constraints = [models.UniqueConstraint(fields=["candidate", "kind", "key"], name="candidate_tag_unique")]
        indexes = [models.Index(fields=["company", "key"], name="candidate_tag_key_idx")]

    def __str__(self):
        return self.label


class SavedSearch(models.Model):
    """A pool search a console user kept under a name (its filters as the pool page's query parameters)."""

    company = models.ForeignKey(Company, on_delete=models.CASCADE, related_name="saved_searches")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                             related_name="+")
    name = models.CharField(_("名前"), max_length=100)
    params = models.JSONField(default=dict)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("保存した検索")
        verbose_name_plural = _("保存した検索")
        ordering = ["name", "pk"]

    def __str__(self):
        return self.name


class MatchKind(models.TextChoices):
    EXACT = "exact", _("同一人物(メールアドレスまたは電話番号が一致)")
    PROBABLE = "probable", _("同一人物の可能性(氏名とフリガナが一致)")


class ReviewStatus(models.TextChoices):
    OPEN = "open", _("未確認")
    CONFIRMED = "confirmed", _("同一人物")
    SEPARATE = "separate", _("別人")
    MERGED = "merged", _("統合済み")


class Reapplication(models.Model):
    """A new application by someone the company already knew: the alert HR gets, and for a probable match
    (same folded name and reading, another address) the question "the same person?" HR answers.

    One row per new application (unique), so however often the ATS repeats the event, HR is told once.
    """

    company = models.ForeignKey(Company, on_delete=models.CASCADE, related_name="reapplications")
    application = models.OneToOneField(Application, on_delete=models.CASCADE, related_name="reapplication")
    candidate = models.ForeignKey(Candidate, on_delete=models.CASCADE, related_name="reapplications")
    # The earlier record: the same candidate for an exact match, another candidate for a probable one.
    previous = models.ForeignKey(Candidate, on_delete=models.CASCADE, related_name="later_reapplications")
    match = models.CharField(_("一致"), max_length=16, choices=MatchKind.choices)
    match_detail = models.CharField(_("一致した項目"), max_length=200, blank=True)
    status = models.CharField(_("確認"), max_length=16, choices=ReviewStatus.choices, default=ReviewStatus.OPEN)
    reviewed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                    related_name="+")
    reviewed_at = models.DateTimeField(null=True, blank=True)
    seen_at = models.DateTimeField(_("既読"), null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("再応募")
        verbose_name_plural = _("再応募")
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["company", "-created_at"], name="reapplication_recent_idx")]

    def __str__(self):
        return f"{self.candidate} ({self.get_match_display()})"
