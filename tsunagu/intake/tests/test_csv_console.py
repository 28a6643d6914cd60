"""The console's CSV upload: runs in the background, shows live progress, counts and the bad rows."""

from pathlib import Path

from django.core.files.uploadedfile import SimpleUploadedFile

from tsunagu.companies.models import Role
from tsunagu.intake.actions import imports
from tsunagu.intake.models import ImportJob
from tsunagu.messaging.models import Message
from tsunagu.talent.models import Application

EXPORT = """応募ID,氏名,メールアドレス,応募職種,選考結果,不採用日
A-1,髙橋 﨑子,saki@example.jp,エンジニア①,不採用,2026/11/21
A-2,山田 花子,hanako-at-example.jp,エンジニア①,不採用,2026年11月21日
"""


def upload(client, django_capture_on_commit_callbacks, *, dry_run=False, send_notices=False, text=EXPORT):
    data = {"file": SimpleUploadedFile("ジョブカン.csv", text.replace("\n", "\r\n").encode("cp932"), "text/csv")}
    if dry_run:
        data["dry_run"] = "on"
    if send_notices:
        data["send_notices"] = "on"
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/console/imports/", data)
    assert response.status_code == 302, response.content.decode()
    return response


def test_upload_runs_in_the_background_and_the_page_shows_counts_and_errors(company, login, client,
                                                                           django_capture_on_commit_callbacks):
    login(company)
    page = client.get("/console/imports/")
    assert "CSVの取り込み" in page.content.decode()
    assert "取り込みはまだありません" in page.content.decode()

    response = upload(client, django_capture_on_commit_callbacks)
    job = ImportJob.objects.get(company=company)
    assert response["Location"] == f"/console/imports/{job.pk}/"
    assert (job.status, job.encoding, job.total_rows, job.processed_rows) == ("done", "cp932", 2, 2)
    assert not Path(job.file_path).exists()  # the upload is deleted once imported

    detail = client.get(response["Location"]).content.decode()
    assert "ジョブカン.csv" in detail
    assert "完了" in detail
    assert 'data-count="imported">1<' in detail
    assert 'data-count="errors">1<' in detail
    assert "メールアドレス「hanako-at-example.jp」の形式が正しくありません" in detail
    assert "<td>3</td>" in detail  # the bad row's line
    assert "hx-trigger" not in detail  # finished: no more polling
    assert "不採用通知は送りません" in detail
    assert Application.objects.get(company=company, external_id="A-1").status == "rejected"
    assert not Message.objects.exists()

    listing = client.get("/console/imports/").content.decode()
    assert "ジョブカン.csv" in listing and "完了" in listing


def test_a_dry_run_upload_changes_nothing(company, login, client, django_capture_on_commit_callbacks):
    login(company)
    upload(client, django_capture_on_commit_callbacks, dry_run=True, send_notices=True)
    job = ImportJob.objects.get(company=company)
    assert (job.dry_run, job.imported, len(job.errors)) == (True, 1, 1)
    assert not Application.objects.exists() and not Message.objects.exists()
    assert "ドライラン" in client.get(f"/console/imports/{job.pk}/").content.decode()
    assert not Path(job.file_path).exists()  # personal data: the checked upload is not kept


def test_send_notices_plans_the_rejection_notice(company, login, client, django_capture_on_commit_callbacks):
    login(company)
    upload(client, django_capture_on_commit_callbacks, send_notices=True)
    assert Message.objects.get(company=company).to_email == "saki@example.jp"


def test_a_queued_or_running_import_polls_its_progress(company, login, client):
    login(company)
    job = ImportJob.objects.create(company=company, filename="big.csv", file_path="/nonexistent",
                                   status="running", total_rows=100_000, processed_rows=25_000, imported=24_990)
    detail = client.get(f"/console/imports/{job.pk}/").content.decode()
    assert f'hx-get="/console/imports/{job.pk}/progress/"' in detail
    assert 'hx-trigger="every 1s"' in detail
    partial = client.get(f"/console/imports/{job.pk}/progress/").content.decode()
    assert "処理中" in partial and "25000 / 100000 行(25%)" in partial
    assert "<html" not in partial


def test_a_file_error_is_shown_as_the_failure(company, login, client, django_capture_on_commit_callbacks):
    login(company)
    upload(client, django_capture_on_commit_callbacks, text="氏名,選考結果\n髙橋,不採用\n")
    job = ImportJob.objects.get(company=company)
    assert job.status == "failed"
    detail = client.get(f"/console/imports/{job.pk}/").content.decode()
    assert "必須の列がありません: メールアドレス(email)、応募職種(job)" in detail


def test_another_companys_import_is_404_and_viewers_cannot_upload(company, make_company, login, client,
                                                                    django_capture_on_commit_callbacks, tmp_path):
    other, _key = make_company(slug="other")
    path = tmp_path / "x.csv"
    path.write_bytes(EXPORT.encode("cp932"))
    theirs = ImportJob.objects.create(company=other, filename="theirs.csv", file_path=str(path))
    imports.run_import_job(theirs.pk)
    login(company, role=Role.VIEWER)
    assert client.get(f"/console/imports/{theirs.pk}/").status_code == 404
    assert client.get(f"/console/imports/{theirs.pk}/progress/").status_code == 404
    assert "theirs.csv" not in client.get("/console/imports/").content.decode()
    data = {"file": SimpleUploadedFile("a.csv", EXPORT.encode("cp932"))}
    assert client.post("/console/imports/", data).status_code == 403
    assert not ImportJob.objects.filter(company=company).exists()
