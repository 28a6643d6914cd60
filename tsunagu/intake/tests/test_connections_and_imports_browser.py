"""HR connects an ATS and imports a CSV in a real Chromium: the connection page (URL, secret, test event,
name mappings, the delivery log) and the CSV import page (dry run, real run, live progress)."""

import pytest
import requests

from tsunagu.companies import actions as companies
from tsunagu.companies.models import Role
from tsunagu.intake.actions import connections, deliveries
from tsunagu.intake.actions import imports as intake
from tsunagu.intake.models import AtsConnection, ImportJob
from tsunagu.intake.tests import webhook_samples as samples
from tsunagu.lib import queue
from tsunagu.messaging.models import Message
from tsunagu.talent.models import Application
from tsunagu.testing import PHONE

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SECRET = "whsec-greenhouse-4f1e9a"
PASSWORD = "a-long-password"

# As ジョブカン / Excel write it: CP932, CRLF. Line 4 is bad (no @ in the address).
EXPORT = (
    "応募ID,氏名,フリガナ,メールアドレス,応募職種,選考ステップ,選考結果,不採用理由,不採用日\r\n"
    "JK-1,髙橋 﨑子,タカハシ サキコ,saki@example.jp,エンジニア①,一次面接,不採用,スキル不一致,2026/11/21\r\n"
    "JK-2,山﨑 太郎,ヤマザキ タロウ,taro@example.jp,営業②,書類選考,見送り,,2026年11月20日\r\n"
    "JK-3,佐藤 花子,サトウ ハナコ,hanako-at-example.jp,エンジニア①,最終面接,不採用,,2026/11/19\r\n"
    "JK-4,髙木 一郎,タカギ イチロウ,ichiro@example.jp,営業②,一次面接,選考中,,\r\n"
).encode("cp932")


@pytest.fixture
def admin(make_company):
    company, _key = make_company()
    companies.create_user(email="hr@acme.example", password=PASSWORD, company=company, role=Role.ADMIN)
    return company


def log_in(page, live_server, path="/console/"):
    page.goto(live_server.url + path)
    page.fill("#id_username", "hr@acme.example")
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_selector("nav.topbar")


def test_admin_connects_an_ats_tests_it_and_maps_its_names(admin, live_server, new_page):
    page = new_page()
    log_in(page, live_server)
    page.click("nav.topbar >> text=ATS連携")
    page.wait_for_selector("h1:has-text('ATS連携')")
    assert "まだ連携はありません。" in page.text_content("table")

    # Add a connection through the form.
    page.select_option("#id_kind", "greenhouse")
    page.fill("#id_secret", SECRET)
    page.get_by_role("button", name="追加", exact=True).click()
    page.wait_for_selector("text=連携を追加しました")
    connection = AtsConnection.objects.get(company=admin)
    assert page.text_content("h1") == "Greenhouse"
    assert page.is_visible("#double-mail-warning")  # Greenhouse can send its own rejection mail

    # The URL to paste into Greenhouse, and the secret behind a click.
    assert page.text_content("#webhook-url") == connection.webhook_url
    assert connection.webhook_url.endswith(f"/hooks/greenhouse/{connection.token}")
    secret = page.locator("dd details code")
    assert not secret.is_visible()
    page.click("dd details summary")
    assert secret.is_visible() and secret.text_content() == SECRET

    # "Send a test event" goes through the real signature check and shows in the log.
    assert "まだ受信していません。" in page.text_content("#deliveries")
    page.get_by_role("button", name="テストイベントを送信").click()
    page.wait_for_selector("text=テストイベントを受信し、署名を確認できました。")
    [test_row] = page.locator("#deliveries tr").all()[1:]
    assert "ping" in test_row.text_content() and "対象外" in test_row.text_content()

    # Map Greenhouse's names onto Tsunagu's.
    page.fill("#id_stage_mapping", "Face to Face = 最終面接\nPhone Screen = 一次面接")
    page.fill("#id_reason_mapping", "Too Junior = 経験不足")
    page.get_by_role("button", name="保存", exact=True).click()
    page.wait_for_selector("text=対応表を保存しました。")
    assert page.input_value("#id_stage_mapping") == "Face to Face = 最終面接\nPhone Screen = 一次面接"
    assert page.input_value("#id_reason_mapping") == "Too Junior = 経験不足"
    saved = {"Face to Face": 40, "Phone Screen": 20}
    connection.refresh_from_db()
    assert (connection.stage_mapping, connection.reason_mapping) == (saved, {"Too Junior": "経験不足"})

    # A stage Tsunagu does not know: a clear error naming the line, and nothing changes.
    page.fill("#id_stage_mapping", "Face to Face = 一次面接\nOnsite = 謎の面接")
    page.fill("#id_reason_mapping", "")
    page.get_by_role("button", name="保存", exact=True).click()
    page.wait_for_selector(".errorlist")
    assert page.text_content(".errorlist").strip() == "2行目: 不明な選考ステップです: 謎の面接"
    assert page.locator(".flash.success").count() == 0
    # A line that is not "name = name".
    page.fill("#id_stage_mapping", "Face to Face 最終面接")
    page.get_by_role("button", name="保存", exact=True).click()
    page.wait_for_selector(".errorlist:has-text('1行目')")
    assert "「連携元の名前 = Tsunaguの名前」の形で書いてください" in page.text_content(".errorlist")
    connection.refresh_from_db()
    assert (connection.stage_mapping, connection.reason_mapping) == (saved, {"Too Junior": "経験不足"})
    page.goto(live_server.url + f"/console/connections/{connection.pk}/")
    assert page.input_value("#id_stage_mapping") == "Face to Face = 最終面接\nPhone Screen = 一次面接"

    # A real, signed rejection from Greenhouse appears in the log with the notice it planned, mapped.
    body, headers = samples.greenhouse_request(SECRET, samples.greenhouse(reason="Too Junior"))
    response = requests.post(live_server.url + connection.webhook_path, data=body, timeout=10, headers={
        "Content-Type": "application/json", "Signature": headers["HTTP_SIGNATURE"],
        "Greenhouse-Event-ID": headers["HTTP_GREENHOUSE_EVENT_ID"]})
    assert response.status_code == 200, response.text
    page.reload()
    rejection_row = page.locator("#deliveries tr", has_text="reject_candidate")
    assert "71980812" in rejection_row.text_content() and "処理済み" in rejection_row.text_content()
    assert rejection_row.locator("a[href*='/console/outbox/']").count() == 1
    application = Application.objects.get(company=admin, external_id="71980812")
    assert (application.stage, application.rejection_reason) == (40, "経験不足")
    assert Message.objects.get(application=application).to_email == "hanako.sato@example.jp"


@pytest.fixture
def held_imports(monkeypatch):
    """The queue's part of an upload, held: the test plays the worker, so the page can be watched while
    the import is waiting, running and done."""
    held = []
    real_enqueue = queue.enqueue

    def enqueue(name, *args, **options):
        if name == "tsunagu.intake.tasks.run_import_job_task":
            held.extend(args)
        else:
            real_enqueue(name, *args, **options)

    monkeypatch.setattr(queue, "enqueue", enqueue)
    return held


def run_the_worker_while_watching(page, job_id, monkeypatch):
    """Run the queued import as the worker does; when it has counted the rows but processed none, the open
    page (which polls on its own) must show it running at 0 %."""
    real_import_csv = intake.import_csv

    def import_csv(*args, progress, **options):
        def report(result):
            progress(result)
            if result.processed_rows == 0:
                page.wait_for_selector("#import-progress .status-running")
                assert f"0 / {result.total_rows} 行(0%)" in page.text_content("#import-progress")

        return real_import_csv(*args, progress=report, **options)

    with monkeypatch.context() as patched:
        patched.setattr(intake, "import_csv", import_csv)
        intake.run_import_job(job_id)


def upload(page, *, dry_run):
    page.set_input_files("#id_file", files=[{"name": "ジョブカン_応募者.csv", "mimeType": "text/csv",
                                              "buffer": EXPORT}])
    if dry_run:
        page.check("#id_dry_run")
    page.get_by_role("button", name="取り込みを開始").click()
    page.wait_for_selector("h1:has-text('取り込み: ジョブカン_応募者.csv')")


def counts(page) -> dict:
    return {name: int(page.text_content(f"[data-count={name}]"))
            for name in ("imported", "updated", "skipped", "errors")}


def test_csv_upload_dry_run_then_real_run_with_live_progress(admin, live_server, new_page, held_imports,
                                                             monkeypatch):
    page = new_page()
    log_in(page, live_server)
    page.click("nav.topbar >> text=取り込み")
    page.wait_for_selector("h1:has-text('CSVの取り込み')")
    assert "取り込みはまだありません。" in page.text_content("body")

    for dry_run in (True, False):
        upload(page, dry_run=dry_run)
        [job_id] = held_imports
        held_imports.clear()
        assert page.text_content("#import-progress .status").strip() == "処理待ち"
        assert "処理の開始を待っています" in page.text_content("#import-progress")
        page.evaluate("window.stillTheSamePage = true")

        run_the_worker_while_watching(page, job_id, monkeypatch)

        page.wait_for_selector("#import-progress .status-done")
        assert page.evaluate("window.stillTheSamePage === true")  # updated in place, never reloaded
        progress = page.text_content("#import-progress")
        assert "4 / 4 行(100%)" in progress and "cp932" in progress
        assert counts(page) == {"imported": 3, "updated": 0, "skipped": 0, "errors": 1}
        error_row = page.locator("#import-progress tr", has_text="hanako-at-example.jp")
        assert error_row.locator("td").first.text_content() == "4"
        assert "メールアドレス「hanako-at-example.jp」の形式が正しくありません" in error_row.text_content()
        assert ("ドライラン: 検証だけで、何も変更していません。" in progress) is dry_run
        assert page.text_content("[data-count=imported] >> xpath=../div[@class='label']") == (
            "新規(予定)" if dry_run else "新規")
        if dry_run:
            assert not Application.objects.filter(company=admin).exists()
            page.click("text=← 取り込みの一覧")
            page.wait_for_selector("h1:has-text('CSVの取り込み')")
            assert "(ドライラン)" in page.text_content("table")

    imported = {a.external_id: a for a in Application.objects.filter(company=admin)
                .select_related("candidate", "job")}
    assert sorted(imported) == ["JK-1", "JK-2", "JK-4"]
    saki = imported["JK-1"]
    assert (saki.candidate.name, saki.candidate.email, saki.job.title, saki.status) == (
        "髙橋 﨑子", "saki@example.jp", "エンジニア①", "rejected")
    assert (imported["JK-2"].candidate.name, imported["JK-2"].job.title, imported["JK-2"].status) == (
        "山﨑 太郎", "営業②", "rejected")
    assert (imported["JK-4"].candidate.name, imported["JK-4"].status) == ("髙木 一郎", "active")
    assert not Message.objects.filter(company=admin).exists()  # history, no notices unless asked
    jobs = list(ImportJob.objects.filter(company=admin).order_by("pk")
                .values_list("dry_run", "status", "imported"))
    assert jobs == [(True, "done", 3), (False, "done", 3)]


def test_intake_pages_fit_a_phone(admin, live_server, new_page, held_imports):
    """Nothing overflows sideways at 375 px: long webhook URLs, secrets and delivery ids wrap.

    (With a mobile viewport Chromium widens window.innerWidth to the content, so the page's width is
    compared with the layout viewport, documentElement.clientWidth.)"""
    detail_pages = []
    for kind in ("greenhouse", "workable"):  # Workable's delivery id is a 64-character digest
        connection = connections.add_connection(admin, kind=kind, secret="s3cret-" + "x" * 80)
        deliveries.send_test_event(connection)
        detail_pages.append(f"/console/connections/{connection.pk}/")
    page = new_page(PHONE)
    log_in(page, live_server, "/console/imports/")
    upload(page, dry_run=True)
    intake.run_import_job(held_imports.pop())
    import_page = f"/console/imports/{ImportJob.objects.get(company=admin).pk}/"

    for path in ["/console/connections/", *detail_pages, "/console/imports/", import_page]:
        page.goto(live_server.url + path)
        if path in detail_pages:
            page.click("#reveal-secrets")  # the URL and the secret, revealed (a recorded POST), on the next page
            page.wait_for_selector("#webhook-url")
            page.click("dd details summary")  # the secret, shown
        width, viewport = page.evaluate("[document.documentElement.scrollWidth, document.documentElement.clientWidth]")
        assert viewport == 375 and width <= viewport, (path, width)
