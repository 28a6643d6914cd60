"""talent.actions' one-row writes: jobs, candidates and applications as one event at a time leaves them."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from tsunagu.talent import actions as talent
from tsunagu.talent.data import CandidateData, JobData
from tsunagu.talent.models import Application, ApplicationStatus, Candidate, Job
from tsunagu.talent.stages import Stage, map_stage

TOKYO = ZoneInfo("Asia/Tokyo")
T0 = datetime(2026, 10, 1, 10, 0, tzinfo=TOKYO)

YOSHIKO = CandidateData(name="髙橋 𠮷子", email="Yoshiko.Takahashi@Example.JP", name_kana="タカハシ ヨシコ",
                        phone="090-1234-5678")
BACKEND = JobData(title="バックエンドエンジニア", external_id="J-1", category="エンジニア")


def record(company, external_id="A-1", *, candidate=YOSHIKO, job=BACKEND, status=ApplicationStatus.ACTIVE,
           occurred_at=T0, stage="", reason="", source="api", **facts) -> Application:
    """One event written as intake writes it (upsert the job and the person, lock or create, apply)."""
    job_row = talent.upsert_job(company, job)
    candidate_row = talent.upsert_candidate(company, candidate)
    application, _created = talent.lock_or_create_application(
        company, external_id=external_id, candidate=candidate_row, job=job_row, source=source)
    talent.apply_status(application, status=status, stage=map_stage(stage), stage_raw=stage, rejection_reason=reason,
                        occurred_at=occurred_at, candidate=candidate_row, job=job_row, **facts)
    return Application.objects.get(pk=application.pk)


# --- jobs ------------------------------------------------------------------------------------------

def test_a_job_with_an_external_id_is_found_by_it_and_takes_the_new_title(company):
    first = talent.upsert_job(company, BACKEND)
    renamed = talent.upsert_job(company, JobData(title=" バックエンドエンジニア（Go）\u3000", external_id=" J-1 "))

    assert renamed.pk == first.pk
    stored = Job.objects.get(company=company)
    assert (stored.external_id, stored.title, stored.category) == ("J-1", "バックエンドエンジニア（Go）", "エンジニア")

    talent.upsert_job(company, JobData(title="バックエンドエンジニア（Go）", external_id="J-1", category="開発"))
    assert Job.objects.get(pk=first.pk).category == "開発"
    assert Job.objects.filter(company=company).count() == 1


def test_a_job_without_an_external_id_is_found_by_its_cleaned_title(company):
    sales = talent.upsert_job(company, JobData(title="  営業\u3000\u3000マネージャー ", category="営業"))
    assert sales.title == "営業 マネージャー"

    again = talent.upsert_job(company, JobData(title="営業 マネージャー"))
    recategorised = talent.upsert_job(company, JobData(title="営業 マネージャー", category="営業・企画"))
    assert again.pk == recategorised.pk == sales.pk
    assert Job.objects.get(pk=sales.pk).category == "営業・企画"

    # A job the ATS identifies by id is another job, even with the same title; so is another title.
    with_id = talent.upsert_job(company, JobData(title="営業 マネージャー", external_id="J-9"))
    other = talent.upsert_job(company, JobData(title="営業 メンバー"))
    assert len({sales.pk, with_id.pk, other.pk}) == 3
    assert talent.upsert_job(company, JobData(title="営業 マネージャー")).pk == sales.pk


def test_of_several_jobs_with_the_same_title_the_oldest_is_taken(company):
    oldest = Job.objects.create(company=company, title="デザイナー", category="UI")
    Job.objects.create(company=company, title="デザイナー", category="UX")

    assert talent.upsert_job(company, JobData(title="デザイナー")).pk == oldest.pk


def test_an_unchanged_job_is_read_and_not_written(company, django_assert_num_queries):
    job = talent.upsert_job(company, BACKEND)
    titled = talent.upsert_job(company, JobData(title="人事", category="管理部門"))
    before = {row.pk: row.updated_at for row in Job.objects.all()}

    with django_assert_num_queries(2):
        talent.upsert_job(company, BACKEND)
        talent.upsert_job(company, JobData(title="人事"))  # a blank category keeps the old one: no change

    assert {row.pk: row.updated_at for row in Job.objects.all()} == before
    assert Job.objects.get(pk=titled.pk).category == "管理部門"
    assert Job.objects.get(pk=job.pk).category == "エンジニア"


# --- candidates ------------------------------------------------------------------------------------

def test_a_new_candidate_gets_its_normalised_keys(company):
    candidate = talent.upsert_candidate(company, CandidateData(
        name=" 髙橋\u3000𠮷子 ", email=" Yoshiko.Takahashi@Example.JP ", name_kana="たかはし　よしこ",
        phone="０９０-１２３４-５６７８"))

    stored = Candidate.objects.get(pk=candidate.pk)
    assert (stored.name, stored.name_kana, stored.email, stored.phone) == (
        "髙橋 𠮷子", "たかはし よしこ", "Yoshiko.Takahashi@Example.JP", "０９０-１２３４-５６７８")
    assert (stored.name_key, stored.kana_key, stored.email_key, stored.phone_e164) == (
        "髙橋𠮷子", "タカハシヨシコ", "yoshiko.takahashi@example.jp", "+819012345678")


def test_the_same_person_is_found_again_by_the_normalised_email(company):
    first = talent.upsert_candidate(company, YOSHIKO)
    for email in ("ｙｏｓｈｉｋｏ．ｔａｋａｈａｓｈｉ＠ｅｘａｍｐｌｅ．ｊｐ", "yoshiko.takahashi@example.jp",
                  " YOSHIKO.TAKAHASHI@EXAMPLE.JP "):
        assert talent.upsert_candidate(company, CandidateData(name="髙橋 𠮷子", email=email)).pk == first.pk
    assert Candidate.objects.filter(company=company).count() == 1
    # The address as the source last wrote it; the key it is matched by stays the same.
    stored = Candidate.objects.get(pk=first.pk)
    assert stored.email == "YOSHIKO.TAKAHASHI@EXAMPLE.JP"
    assert stored.email_key == "yoshiko.takahashi@example.jp"

    other = talent.upsert_candidate(company, CandidateData(name="髙橋 𠮷子", email="yoshiko@example.jp"))
    assert other.pk != first.pk


def test_name_is_always_refreshed_kana_and_phone_only_when_given(company):
    first = talent.upsert_candidate(company, YOSHIKO)

    # Married: a new family name, and nothing said about the reading or the phone.
    talent.upsert_candidate(company, CandidateData(name="山﨑 𠮷子", email="yoshiko.takahashi@example.jp"))
    stored = Candidate.objects.get(pk=first.pk)
    assert (stored.name, stored.name_key) == ("山﨑 𠮷子", "山﨑𠮷子")
    assert (stored.name_kana, stored.kana_key) == ("タカハシ ヨシコ", "タカハシヨシコ")
    assert (stored.phone, stored.phone_e164) == ("090-1234-5678", "+819012345678")

    talent.upsert_candidate(company, CandidateData(name="山﨑 𠮷子", email="yoshiko.takahashi@example.jp",
                                                   name_kana="ﾔﾏｻﾞｷ ﾖｼｺ", phone="03-1234-5678"))
    stored = Candidate.objects.get(pk=first.pk)
    assert (stored.name_kana, stored.kana_key) == ("ﾔﾏｻﾞｷ ﾖｼｺ", "ヤマザキヨシコ")
    assert (stored.phone, stored.phone_e164) == ("03-1234-5678", "+81312345678")


def test_an_unchanged_candidate_is_read_and_not_written(company, django_assert_num_queries):
    first = talent.upsert_candidate(company, YOSHIKO)
    updated_at = Candidate.objects.get(pk=first.pk).updated_at

    with django_assert_num_queries(1):
        # The same name (spaces aside) and address; reading and phone not given, so not changed either.
        talent.upsert_candidate(company, CandidateData(name="髙橋　𠮷子", email=" Yoshiko.Takahashi@Example.JP"))

    assert Candidate.objects.get(pk=first.pk).updated_at == updated_at


# --- applications ----------------------------------------------------------------------------------

def test_lock_or_create_application_creates_once_and_then_returns_the_row_as_it_is(company):
    job = talent.upsert_job(company, BACKEND)
    candidate = talent.upsert_candidate(company, YOSHIKO)
    application, created = talent.lock_or_create_application(
        company, external_id="A-1", candidate=candidate, job=job, source="csv")
    assert created
    stored = Application.objects.get(pk=application.pk)
    assert (stored.company_id, stored.candidate_id, stored.job_id, stored.source) == (
        company.pk, candidate.pk, job.pk, "csv")
    assert (stored.status, stored.stage, stored.stage_reached, stored.tags) == (
        ApplicationStatus.ACTIVE, Stage.UNKNOWN, Stage.UNKNOWN, [])
    assert stored.status_changed_at is None and stored.rejected_at is None

    # Found by external id: another person, job or source does not change it (apply_status does).
    other_job = talent.upsert_job(company, JobData(title="人事"))
    other = talent.upsert_candidate(company, CandidateData(name="山﨑 健太", email="kenta@example.jp"))
    again, created = talent.lock_or_create_application(
        company, external_id="A-1", candidate=other, job=other_job, source="api")
    assert not created
    assert again.pk == application.pk
    assert (again.candidate_id, again.job_id, again.source) == (candidate.pk, job.pk, "csv")
    assert Application.objects.filter(company=company).count() == 1


def test_the_stage_reached_only_grows(company):
    assert record(company, stage="一次面接").stage_reached == Stage.FIRST_INTERVIEW
    final = record(company, stage="最終面接", occurred_at=T0 + timedelta(days=1))
    assert (final.stage, final.stage_reached) == (Stage.FINAL_INTERVIEW, Stage.FINAL_INTERVIEW)

    # Sent back to a second interview: where it is now changes, how far it got does not.
    back = record(company, stage="２次面接", occurred_at=T0 + timedelta(days=2))
    assert (back.stage, back.stage_raw, back.stage_reached) == (
        Stage.SECOND_INTERVIEW, "２次面接", Stage.FINAL_INTERVIEW)

    # No stage given: the current one is kept.
    kept = record(company, status=ApplicationStatus.REJECTED, occurred_at=T0 + timedelta(days=3))
    assert (kept.stage, kept.stage_raw, kept.stage_reached) == (
        Stage.SECOND_INTERVIEW, "２次面接", Stage.FINAL_INTERVIEW)


def test_the_rejection_date_is_set_once_and_the_reason_kept_when_a_repeat_gives_none(company):
    rejected = record(company, status=ApplicationStatus.REJECTED, reason=" スキル\u3000不一致 ", stage="書類選考")
    assert (rejected.status, rejected.rejected_at, rejected.rejection_reason) == (
        ApplicationStatus.REJECTED, T0, "スキル 不一致")

    repeat = record(company, status=ApplicationStatus.REJECTED, occurred_at=T0 + timedelta(days=2))
    assert (repeat.rejected_at, repeat.rejection_reason) == (T0, "スキル 不一致")
    assert repeat.status_changed_at == T0 + timedelta(days=2)

    reasoned = record(company, status=ApplicationStatus.REJECTED, reason="経験不足", occurred_at=T0 + timedelta(days=3))
    assert (reasoned.rejected_at, reasoned.rejection_reason) == (T0, "経験不足")


def test_a_reopened_application_rejected_again_gets_the_new_rejection_date(company):
    record(company, status=ApplicationStatus.REJECTED, reason="スキル不一致")
    reopened = record(company, status=ApplicationStatus.ACTIVE, stage="二次面接", occurred_at=T0 + timedelta(days=5))
    assert reopened.status == ApplicationStatus.ACTIVE

    again = record(company, status=ApplicationStatus.REJECTED, occurred_at=T0 + timedelta(days=9))
    assert (again.status, again.rejected_at) == (ApplicationStatus.REJECTED, T0 + timedelta(days=9))


def test_apply_status_applies_the_event_it_is_given_and_the_caller_judges_its_age(company):
    # The newest event wins by its own clock: apply_status records that clock in status_changed_at, which the
    # caller compares an incoming event's occurred_at with (intake skips older ones).
    newer = record(company, status=ApplicationStatus.HIRED, occurred_at=T0 + timedelta(days=3))
    assert newer.status_changed_at == T0 + timedelta(days=3)

    older = record(company, status=ApplicationStatus.WITHDRAWN, occurred_at=T0)
    assert (older.status, older.status_changed_at) == (ApplicationStatus.WITHDRAWN, T0)


def test_facts_about_the_application_are_kept_unless_given_and_tags_replaced_when_given(company):
    applied = datetime(2026, 9, 3, tzinfo=TOKYO)
    first = record(company, applied_at=applied, channel=" 自社サイト\u3000", evaluation="Ａ", tags=["Python", "Go"])
    assert (first.applied_at, first.channel, first.evaluation, first.tags) == (
        applied, "自社サイト", "Ａ", ["Python", "Go"])

    silent = record(company, status=ApplicationStatus.REJECTED, occurred_at=T0 + timedelta(days=1))
    assert (silent.applied_at, silent.channel, silent.evaluation, silent.tags) == (
        applied, "自社サイト", "Ａ", ["Python", "Go"])

    retagged = record(company, occurred_at=T0 + timedelta(days=2), channel="リファラル", tags=("リーダー経験",))
    assert (retagged.channel, retagged.evaluation, retagged.tags) == ("リファラル", "Ａ", ["リーダー経験"])
    assert record(company, occurred_at=T0 + timedelta(days=3), tags=()).tags == []


def test_apply_status_moves_the_application_to_the_person_and_job_the_event_names(company):
    first = record(company)
    kenta = CandidateData(name="山﨑 健太", email="kenta@example.jp")
    moved = record(company, candidate=kenta, job=JobData(title="データアナリスト"), occurred_at=T0 + timedelta(hours=1))

    assert moved.pk == first.pk
    assert (moved.candidate.email, moved.job.title) == ("kenta@example.jp", "データアナリスト")
    assert moved.source == "api"


def test_set_status_changes_the_application_in_memory_only(company):
    application = record(company, stage="一次面接")
    talent.set_status(application, status=ApplicationStatus.REJECTED, stage=Stage.FINAL_INTERVIEW, stage_raw="最終面接",
                      rejection_reason="社内事情", occurred_at=T0 + timedelta(days=1), candidate=application.candidate,
                      job=application.job)

    assert (application.status, application.stage_reached, application.rejection_reason) == (
        ApplicationStatus.REJECTED, Stage.FINAL_INTERVIEW, "社内事情")
    assert application.rejected_at == T0 + timedelta(days=1)
    stored = Application.objects.get(pk=application.pk)
    assert (stored.status, stored.stage_reached, stored.rejected_at) == (
        ApplicationStatus.ACTIVE, Stage.FIRST_INTERVIEW, None)


# --- tenants ---------------------------------------------------------------------------------------

def test_the_same_email_and_external_ids_in_two_companies_are_separate_rows(make_company):
    acme, _key = make_company("acme")
    globex, _key = make_company("globex", name="グローベックス株式会社")

    a = record(acme, status=ApplicationStatus.REJECTED, reason="スキル不一致")
    b = record(globex, candidate=CandidateData(name="髙橋 よしこ", email="yoshiko.takahashi@example.jp"),
               job=JobData(title="経理", external_id="J-1"))

    assert len({a.pk, b.pk}) == 2 and len({a.candidate_id, b.candidate_id}) == 2 and len({a.job_id, b.job_id}) == 2
    # Nothing written for globex changed acme's rows.
    a = Application.objects.select_related("candidate", "job").get(pk=a.pk)
    assert (a.company_id, a.candidate.company_id, a.job.company_id) == (acme.pk, acme.pk, acme.pk)
    assert (a.status, a.candidate.name, a.job.title) == (ApplicationStatus.REJECTED, "髙橋 𠮷子", "バックエンドエンジニア")
    b = Application.objects.select_related("candidate", "job").get(pk=b.pk)
    assert (b.company_id, b.candidate.company_id, b.job.company_id) == (globex.pk, globex.pk, globex.pk)
    assert (b.status, b.candidate.name, b.job.title) == (ApplicationStatus.ACTIVE, "髙橋 よしこ", "経理")

    application, created = talent.lock_or_create_application(
        globex, external_id="A-1", candidate=b.candidate, job=b.job, source="api")
    assert (application.pk, created) == (b.pk, False)


def test_a_job_looked_up_by_title_is_only_the_companys_own(make_company):
    acme, _key = make_company("acme")
    globex, _key = make_company("globex", name="グローベックス株式会社")
    mine = talent.upsert_job(acme, JobData(title="人事", category="管理部門"))
    theirs = talent.upsert_job(globex, JobData(title="人事", category="バックオフィス"))

    assert mine.pk != theirs.pk
    assert Job.objects.get(pk=mine.pk).category == "管理部門"
    assert talent.upsert_job(acme, JobData(title="人事")).pk == mine.pk
