"""CSV import as HR does it: Excel exports (CP932 or UTF-8), from the command line and the action."""

import json
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from tsunagu.intake.actions import imports
from tsunagu.intake.csv_import import CsvFileError
from tsunagu.messaging.models import Message
from tsunagu.talent.models import Application, ApplicationEvent, Candidate, Job
from tsunagu.testing import base_env, run_cli

TOKYO = ZoneInfo("Asia/Tokyo")

HEADER = "応募ID,氏名,フリガナ,メールアドレス,電話番号,応募職種,選考ステップ,選考結果,不採用理由,不採用日"
# Line numbers as the file has them: the header is line 1, A-1 spans lines 2-3 (a quoted newline),
# line 4 is blank, A-2 (a bad address) is line 5, A-3 (an unknown status) line 6.
EXPORT = f"""{HEADER}
A-1,髙橋 﨑子,タカハシ サキコ,saki@example.jp,０９０-１２３４-５６７８,エンジニア①,一次面接,不採用,"スキル不一致
(面接官コメントあり)",２０２６/１１/２１

A-2,山田 花子,ヤマダ ハナコ,hanako-at-example.jp,,エンジニア①,書類選考,見送り,,2026年11月21日
A-3,佐藤 一郎,サトウ イチロウ,ichiro@example.jp,,営業,書類選考,保留,,
A-4,鈴木 次郎,スズキ ジロウ,jiro@example.jp,03-1234-5678,営業,二次面接,選考中,,
"""


def write(tmp_path, text, encoding="cp932", name="export.csv", newline="\r\n"):
    path = tmp_path / name
    path.write_bytes(text.replace("\n", newline).encode(encoding))
    return path


def test_a_cp932_excel_export_imports_good_rows_and_reports_bad_ones_by_line(company, tmp_path):
    path = write(tmp_path, EXPORT)
    result = imports.import_csv(company, path, dry_run=False)

    assert result.encoding == "cp932"
    assert (result.imported, result.updated, result.skipped) == (2, 0, 0)
    assert result.errors == [
        {"line": 5, "message": "メールアドレス「hanako-at-example.jp」の形式が正しくありません"},
        {"line": 6, "message": "選考結果「保留」を解釈できません(不採用・選考中・内定・辞退 のいずれか)"},
    ]
    saki = Application.objects.select_related("candidate", "job").get(company=company, external_id="A-1")
    assert saki.candidate.name == "髙橋 﨑子"
    assert saki.candidate.name_kana == "タカハシ サキコ"
    assert saki.candidate.phone == "090-1234-5678"
    assert saki.candidate.phone_e164 == "+819012345678"
    assert saki.job.title == "エンジニア①"
    assert saki.status == "rejected"
    assert saki.stage_raw == "一次面接"
    assert saki.rejection_reason == "スキル不一致 (面接官コメントあり)"
    assert saki.rejected_at == datetime(2026, 11, 21, tzinfo=TOKYO)
    assert Application.objects.get(company=company, external_id="A-4").status == "active"
    assert not Application.objects.filter(external_id__in=["A-2", "A-3"]).exists()


def test_historic_rejections_send_no_notice_unless_asked(company, make_company, tmp_path):
    path = write(tmp_path, EXPORT)
    imports.import_csv(company, path, dry_run=False)
    assert not Message.objects.filter(company=company).exists()
    assert ApplicationEvent.objects.get(application__external_id="A-1").outcome == "recorded without notice"

    other, _key = make_company(slug="other")
    imports.import_csv(other, path, dry_run=False, send_notices=True)
    notice = Message.objects.get(company=other)
    assert notice.to_email == "saki@example.jp"
    assert notice.application.external_id == "A-1"


def test_a_dry_run_reports_everything_and_changes_nothing(company, tmp_path):
    path = write(tmp_path, EXPORT)
    result = imports.import_csv(company, path, dry_run=True, send_notices=True)
    assert (result.imported, result.updated, result.skipped) == (2, 0, 0)
    assert [error["line"] for error in result.errors] == [5, 6]
    assert not Application.objects.exists()
    assert not Candidate.objects.exists()
    assert not Job.objects.exists()
    assert not Message.objects.exists()


def test_importing_the_same_file_twice_creates_nothing_new_and_a_changed_row_updates(company, tmp_path):
    path = write(tmp_path, EXPORT)
    imports.import_csv(company, path, dry_run=False)
    counts = (Application.objects.count(), Candidate.objects.count(), Job.objects.count(),
              ApplicationEvent.objects.count())

    again = imports.import_csv(company, path, dry_run=False)
    assert (again.imported, again.updated, again.skipped) == (0, 0, 2)
    assert (Application.objects.count(), Candidate.objects.count(), Job.objects.count(),
            ApplicationEvent.objects.count()) == counts
    assert imports.import_csv(company, path, dry_run=True).skipped == 2

    changed = write(tmp_path, EXPORT.replace("二次面接,選考中", "最終面接,不採用"), name="changed.csv")
    result = imports.import_csv(company, changed, dry_run=False)
    assert (result.imported, result.updated, result.skipped) == (0, 1, 1)
    assert Application.objects.get(external_id="A-4").status == "rejected"
    assert not Message.objects.exists()


def test_utf8_with_bom_english_headers_and_no_application_id(company, tmp_path):
    text = """name,kana,email,phone,job,category,stage,status,reason,rejected_at,applied_at,source,evaluation,tags
髙橋 﨑子,たかはし さきこ,SAKI@Example.jp,,Backend Engineer,Engineering,Final interview,rejected,Skills,2026-11-21 18:30,2026-10-01,Referral,B,"python,go"
Jiro Suzuki,,jiro@example.jp,,Backend Engineer,,,hired,,,,,,
"""
    path = write(tmp_path, text, encoding="utf-8-sig", newline="\n")
    result = imports.import_csv(company, path, dry_run=False)
    assert result.encoding == "utf-8-sig"
    assert (result.imported, result.errors) == (2, [])
    saki = Application.objects.get(candidate__email_key="saki@example.jp")
    assert saki.external_id.startswith("csv:")
    assert saki.rejected_at == datetime(2026, 11, 21, 18, 30, tzinfo=TOKYO)
    assert saki.job.category == "Engineering"

    # Without 応募ID the same person and job title is the same application, in any later export.
    again = write(tmp_path, text.replace("Skills", "Culture fit"), encoding="utf-8", newline="\n", name="b.csv")
    result = imports.import_csv(company, again, dry_run=False)
    assert (result.imported, result.updated, result.skipped) == (0, 1, 1)
    saki.refresh_from_db()
    assert saki.rejection_reason == "Culture fit"


def test_dates_in_every_excel_form_and_bad_dates(company, tmp_path):
    text = """氏名,メールアドレス,職種,ステータス,不採用日
一,a@example.jp,営業,不採用,2026/11/21
二,b@example.jp,営業,お見送り,2026年11月21日
三,c@example.jp,営業,不採用,２０２６年１１月２１日　１０：３０
四,d@example.jp,営業,不採用,2026-11-21T09:05
五,e@example.jp,営業,不採用,2026/02/30
六,f@example.jp,営業,不採用,来週
"""
    path = write(tmp_path, text)
    result = imports.import_csv(company, path, dry_run=False)
    assert result.imported == 4
    rejected = sorted(Application.objects.values_list("rejected_at", flat=True))
    assert rejected == [datetime(2026, 11, 21, tzinfo=TOKYO)] * 2 + [
        datetime(2026, 11, 21, 9, 5, tzinfo=TOKYO), datetime(2026, 11, 21, 10, 30, tzinfo=TOKYO)]
    assert result.errors == [
        {"line": 6, "message": "不採用日「2026/02/30」は日付として読めません(例: 2026/11/21、2026年11月21日)"},
        {"line": 7, "message": "不採用日「来週」は日付として読めません(例: 2026/11/21、2026年11月21日)"},
    ]


def test_rows_missing_required_values_are_reported_together(company, tmp_path):
    text = f"{HEADER}\nA-9,,,,,,,,,\n,,,,,,,,,\n"
    result = imports.import_csv(company, write(tmp_path, text), dry_run=True)
    # The row of empty cells Excel leaves at the end is skipped like a blank line.
    assert result.errors == [{"line": 2, "message": "氏名が空です、メールアドレスが空です、応募職種が空です、選考結果が空です"}]


def test_a_missing_required_column_is_a_file_error_naming_it(company, tmp_path):
    path = write(tmp_path, "氏名,フリガナ,選考結果\n髙橋,タカハシ,不採用\n")
    with pytest.raises(CsvFileError) as raised:
        imports.import_csv(company, path, dry_run=False)
    assert "メールアドレス(email)" in raised.value.message
    assert "応募職種(job)" in raised.value.message
    assert not Application.objects.exists()


def test_a_column_mapping_overrides_detection(company, tmp_path):
    text = "候補者,連絡先,ポジション,結果,備考\n髙橋 﨑子,saki@example.jp,営業,不採用,メモ\n"
    path = write(tmp_path, text)
    with pytest.raises(CsvFileError):
        imports.import_csv(company, path, dry_run=False)
    mapping = {"候補者": "name", "連絡先": "email", "ポジション": "job", "結果": "status"}
    result = imports.import_csv(company, path, dry_run=False, mapping=mapping)
    assert (result.imported, result.errors) == (1, [])
    with pytest.raises(CsvFileError) as raised:
        imports.import_csv(company, path, dry_run=False, mapping={**mapping, "備考": "birthday"})
    assert "birthday" in raised.value.message


# --- the command line ------------------------------------------------------------------------------

@pytest.fixture
def cli_env(tmp_path):
    env = base_env(str(tmp_path / "data"))
    created = run_cli(["company", "create", "--name", "株式会社つなぐ", "--slug", "acme"], env)
    assert created.returncode == 0, created.stderr
    return env


def last_json(stdout: str) -> dict:
    return json.loads(stdout.strip().splitlines()[-1])


@pytest.mark.slow
@pytest.mark.sqlite_data_dir
def test_cli_prints_one_json_object_last_and_a_second_run_creates_nothing(cli_env, tmp_path):
    path = write(tmp_path, EXPORT)
    dry = run_cli(["import-csv", "--company", "acme", str(path), "--dry-run", "--json"], cli_env)
    assert dry.returncode == 0, dry.stderr
    assert last_json(dry.stdout) == {"imported": 2, "updated": 0, "skipped": 0, "errors": [
        {"line": 5, "message": "メールアドレス「hanako-at-example.jp」の形式が正しくありません"},
        {"line": 6, "message": "選考結果「保留」を解釈できません(不採用・選考中・内定・辞退 のいずれか)"},
    ]}

    first = run_cli(["import-csv", "--company", "acme", str(path), "--json"], cli_env)
    assert (last_json(first.stdout)["imported"], len(last_json(first.stdout)["errors"])) == (2, 2)
    second = run_cli(["import-csv", "--company", "acme", str(path), "--json"], cli_env)
    assert {k: v for k, v in last_json(second.stdout).items() if k != "errors"} == {
        "imported": 0, "updated": 0, "skipped": 2}

    human = run_cli(["import-csv", "--company", "acme", str(path)], cli_env)
    assert "変更なし 2 件" in human.stdout
    assert "5 行目: メールアドレス「hanako-at-example.jp」の形式が正しくありません" in human.stdout


@pytest.mark.slow
@pytest.mark.sqlite_data_dir
def test_cli_errors_exit_non_zero_and_write_nothing(cli_env, tmp_path):
    path = write(tmp_path, EXPORT)
    unknown = run_cli(["import-csv", "--company", "nope", str(path), "--json"], cli_env)
    assert unknown.returncode != 0 and "no company" in unknown.stderr
    missing = run_cli(["import-csv", "--company", "acme", str(tmp_path / "missing.csv")], cli_env)
    assert missing.returncode != 0 and "ファイルを読めません" in missing.stderr
    no_email = write(tmp_path, "氏名,応募職種,選考結果,連絡先\n髙橋,営業,不採用,not-an-address\n", name="no-email.csv")
    bad = run_cli(["import-csv", "--company", "acme", str(no_email), "--json"], cli_env)
    assert bad.returncode != 0
    assert "メールアドレス(email)" in last_json(bad.stdout)["errors"][0]["message"]

    mapped = run_cli(["import-csv", "--company", "acme", str(no_email), "--map", "連絡先=email", "--json"], cli_env)
    assert mapped.returncode == 0, mapped.stderr
    assert last_json(mapped.stdout)["errors"][0]["line"] == 2
    check = run_cli(["import-csv", "--company", "acme", str(path), "--dry-run", "--json"], cli_env)
    assert last_json(check.stdout)["imported"] == 2  # nothing above was written


@pytest.mark.slow
@pytest.mark.sqlite_data_dir
def test_cli_shows_progress_on_stderr_for_large_files(cli_env, tmp_path):
    rows = "\n".join(f"髙橋 {n},c{n}@example.jp,エンジニア,不採用" for n in range(1200))
    path = write(tmp_path, "氏名,メールアドレス,応募職種,選考結果\n" + rows + "\n")
    result = run_cli(["import-csv", "--company", "acme", str(path), "--dry-run", "--json"], cli_env)
    assert result.returncode == 0, result.stderr
    assert "1,200/1,200 (100%)" in result.stderr
    assert last_json(result.stdout)["imported"] == 1200
