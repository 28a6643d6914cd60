"""The CSV import's batch write path leaves exactly what recording the rows one by one leaves.

Two companies get the same files: one through the batch path, one through record_application_event per row
(the reference, `_write_chunk_row_by_row`). Jobs, candidates, applications, events, notices and the counters
must be the same, for files that mix new rows, updates, exact repeats, stale rows and bad rows, across many
chunks, with and without notices, and when a concurrent writer makes a chunk fail.
"""

from __future__ import annotations

import json
import re
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from tsunagu.intake.actions import events, imports
from tsunagu.intake.events import IncomingApplicationEvent
from tsunagu.lib import bulk
from tsunagu.messaging.models import Message
from tsunagu.talent import actions as talent
from tsunagu.talent.data import CandidateData, JobData
from tsunagu.talent.models import Application, ApplicationEvent, Candidate, Job
from tsunagu.testing import base_env, run_cli

TOKYO = ZoneInfo("Asia/Tokyo")
HEADER = ("応募ID,氏名,フリガナ,メールアドレス,電話番号,応募職種,職種カテゴリ,選考ステップ,選考結果,不採用理由,"
          "不採用日,応募日,応募経路,評価,タグ")
FAMILY = ("髙橋", "山﨑", "佐藤", "鈴木", "田中", "渡辺", "伊藤", "中村")
GIVEN = ("太郎", "花子", "翔太", "美咲", "健", "陽菜")
STAGES = ("書類選考", "一次面接", "二次面接", "最終面接", "")
STATUSES = ("不採用", "不採用", "選考中", "内定", "辞退", "見送り")
PHONES = ("090-{n:04d}-5678", "03-{n:04d}-1111", "+81 80 {n:04d} 2222", "０８０({n:04d})３３３３", "")
TAGS = ("Python、Go", "営業／リーダー経験", "", "UI,UX,UI", "")
# The generated export: ROWS rows about PEOPLE people, whose 応募ID repeat after APPLICATION_IDS rows (so
# later rows update earlier applications). Large enough for several chunks of small_chunks; kept at the size
# that still mixes every case in every chunk (the comparison with row-by-row is the slowest test on PostgreSQL).
ROWS = 600
PEOPLE = 175
APPLICATION_IDS = 375


def row(n: int, *, status: str | None = None, day: int | None = None, name: str | None = None,
        email: str | None = None, external_id: str | None = None, job: int | None = None) -> list[str]:
    """One record of the generated export; people (by e-mail) recur on several rows and jobs."""
    person = n % PEOPLE
    status = status or STATUSES[n % len(STATUSES)]
    day = day or 1 + n % 28
    job = n % 30 if job is None else job
    # Every third row has no 応募ID: it is identified by e-mail and job title.
    external_id = external_id if external_id is not None else ("" if n % 3 == 0 else f"A-{n % APPLICATION_IDS}")
    return [
        external_id,
        name or f"{FAMILY[person % 8]} {GIVEN[(n // PEOPLE) % 6]}",  # the same person's name changes between rows
        "" if n % 5 == 0 else "タカハシ タロウ",
        email or (f"P{person}@Example.jp" if n % 11 == 0 else f"p{person}@example.jp"),
        PHONES[n % len(PHONES)].format(n=person),
        f"エンジニア①-{job}",
        "" if n % 7 == 0 else f"カテゴリ{n % 4}",
        STAGES[n % len(STAGES)],
        status,
        "スキル不一致" if status in ("不採用", "見送り") and n % 2 else "",
        f"2026/10/{day:02d}" if status in ("不採用", "見送り") and n % 4 else "",
        f"2026年9月{day}日",
        ("自社サイト", "リファラル", "")[n % 3],
        ("A", "B", "")[n % 3],
        TAGS[n % len(TAGS)],
    ]


def bad_row(n: int) -> list[str]:
    record = row(n)
    kind = n % 3
    if kind == 0:
        record[3] = f"p{n}-at-example.jp"
    elif kind == 1:
        record[8] = "保留"
    else:
        record[11] = "2026/02/30"
    return record


def first_file() -> list[list[str]]:
    records = []
    for n in range(ROWS):
        if n % 97 == 0:
            records.append(bad_row(n))
        elif n % 37 == 0 and records:
            records.append(list(records[-1]))  # the same row twice: skipped
        elif n % 41 == 0:
            # A later row about an earlier application: newer (applied) or older (stale) than what the file said.
            earlier = row(n - 20)
            records.append(row(n - 20, status="内定" if n % 2 else "選考中", day=28 if n % 3 else 1,
                               external_id=earlier[0]))
        else:
            records.append(row(n))
    return records


def second_file(first: list[list[str]]) -> list[list[str]]:
    records = [list(record) for record in first[::5]]  # imported before: skipped
    for n in range(0, ROWS, 7):
        # Changed statuses and dates for known applications: updates, some stale against the first import.
        records.append(row(n, status=STATUSES[(n + 2) % len(STATUSES)], day=1 + (n * 7) % 28))
    for n in range(3000, 3000 + ROWS // 6):
        # New applications (some of people known from the first file), and a few bad rows.
        records.append(bad_row(n) if n % 53 == 0 else row(n, external_id="" if n % 3 == 0 else f"B-{n}"))
    return records


def csv_text(records: list[list[str]]) -> str:
    return HEADER + "\n" + "\n".join(",".join(record) for record in records) + "\n"


def write(tmp_path, name: str, records: list[list[str]]):
    path = tmp_path / name
    path.write_bytes(csv_text(records).replace("\n", "\r\n").encode("cp932"))
    return path


def snapshot(company) -> dict:
    """The company's data without primary keys or write times, related rows named by their natural keys."""
    applications = {a.pk: a for a in Application.objects.filter(company=company).select_related("candidate", "job")}
    external = {pk: a.external_id for pk, a in applications.items()}
    messages = list(Message.objects.filter(company=company).order_by("pk"))
    message_names = {m.pk: external.get(m.application_id) for m in messages}

    def cancel_reason(text: str) -> str:
        return re.sub(r"#(\d+)", lambda match: f"#{message_names[int(match.group(1))]}", text)

    return {
        "jobs": sorted((j.external_id, j.title, j.category) for j in Job.objects.filter(company=company)),
        "candidates": sorted(
            (c.email_key, c.name, c.name_kana, c.email, c.phone, c.name_key, c.kana_key, c.phone_e164)
            for c in Candidate.objects.filter(company=company)
        ),
        "applications": sorted(
            (a.external_id, a.candidate.email_key, a.job.title, a.status, a.stage, a.stage_raw, a.stage_reached,
             a.rejection_reason, a.source, a.status_changed_at, a.rejected_at, a.applied_at, a.channel,
             a.evaluation, a.tags)
            for a in applications.values()
        ),
        "events": [
            (external[e.application_id], e.source, e.event_id, e.status, e.stage_raw, e.rejection_reason,
             e.occurred_at, e.applied, e.outcome)
            for e in ApplicationEvent.objects.filter(company=company).order_by("pk")
        ],
        "messages": [
            (m.kind, m.key.split(":")[0], external.get(m.application_id), m.status, m.to_email, m.to_name,
             cancel_reason(m.cancel_reason),
             sorted(external[pk] for pk in m.context.get("combined_applications", [])))
            for m in messages
        ],
    }


@pytest.fixture
def small_chunks(monkeypatch):
    # 600 rows in 10 chunks: repeats, updates and stale rows fall in the same and in later chunks.
    monkeypatch.setattr(imports, "IMPORT_CHUNK", 60)


@pytest.fixture
def two_companies(make_company):
    batch, _key = make_company(slug="batch")
    reference, _key = make_company(slug="reference")
    return batch, reference


def import_row_by_row(monkeypatch, company, path, **options):
    with monkeypatch.context() as patch:
        patch.setattr(imports, "_write_chunk", imports._write_chunk_row_by_row)
        return imports.import_csv(company, path, dry_run=False, **options)


def api_rejection(company, external_id: str, email: str, job: int, day: int = 5):
    """An application the API reported rejected (a notice is scheduled), which the CSV then says is active."""
    return events.record_application_event(company, IncomingApplicationEvent(
        external_id=external_id, candidate=CandidateData(name="髙橋 太郎", email=email),
        job=JobData(title=f"エンジニア①-{job}"), status="rejected", stage="一次面接",
        occurred_at=datetime(2026, 9, day, tzinfo=TOKYO), source="api", event_id=f"api-{external_id}",
    ))


def test_batch_import_equals_row_by_row_with_updates_repeats_stale_and_bad_rows(two_companies, small_chunks,
                                                                               monkeypatch, tmp_path):
    batch, reference = two_companies
    first = first_file()
    files = [write(tmp_path, "first.csv", first), write(tmp_path, "second.csv", second_file(first))]
    for company in (batch, reference):
        # Scheduled notices that rows of the files cancel (A-2 is 選考中 on row 2, two days later) or not.
        api_rejection(company, "A-2", "p2@example.jp", 2, day=1)
        api_rejection(company, "A-3", "p3@example.jp", 3)

    results = {"batch": [], "reference": []}
    for path in files:
        results["batch"].append(imports.import_csv(batch, path, dry_run=False).as_dict())
        results["reference"].append(import_row_by_row(monkeypatch, reference, path).as_dict())

    assert results["batch"] == results["reference"]
    first_result, second_result = results["batch"]
    # The files do exercise every kind of row.
    assert first_result["imported"] > 400 and first_result["updated"] > 125 and first_result["skipped"] > 12
    assert len(first_result["errors"]) >= 6
    assert second_result["skipped"] > 110 and second_result["updated"] > 75 and second_result["imported"] > 60
    assert second_result["errors"] and all(error["line"] > 1 for error in second_result["errors"])

    expected = snapshot(reference)
    assert snapshot(batch) == expected
    outcomes = {event[-1] for event in expected["events"]}
    assert {"stale: a newer event already set the status", "recorded without notice", "cancelled 1 notice(s)",
            ""} <= outcomes
    assert "cancelled" in [m[3] for m in expected["messages"]]

    # A third time: nothing new anywhere.
    counts = {name: len(rows) for name, rows in expected.items()}
    again = imports.import_csv(batch, files[1], dry_run=False)
    assert (again.imported, again.updated) == (0, 0)
    assert {name: len(rows) for name, rows in snapshot(batch).items()} == counts


def test_send_notices_plans_each_notice_once_as_row_by_row_does(two_companies, small_chunks, monkeypatch,
                                                                 tmp_path):
    batch, reference = two_companies
    first = first_file()
    files = [write(tmp_path, "first.csv", first), write(tmp_path, "second.csv", second_file(first))]
    for company in (batch, reference):
        api_rejection(company, "A-2", "p2@example.jp", 2)

    for path in files:
        assert (imports.import_csv(batch, path, dry_run=False, send_notices=True).as_dict()
                == import_row_by_row(monkeypatch, reference, path, send_notices=True).as_dict())

    expected = snapshot(reference)
    assert snapshot(batch) == expected
    outcomes = {event[-1] for event in expected["events"]}
    assert {"notice scheduled", "already rejected", "no notice"} <= outcomes
    # At most one notice per application however often the files reject it (none while the person holds an
    # offer or was hired: "no notice").
    notices = Message.objects.filter(company=batch, kind="rejection")
    assert notices.count() > ROWS // 5
    assert notices.values("application").distinct().count() == notices.count()

    before = snapshot(batch)["messages"]
    for path in files:
        again = imports.import_csv(batch, path, dry_run=False, send_notices=True)
        assert (again.imported, again.updated) == (0, 0)
    assert snapshot(batch)["messages"] == before


def test_a_chunk_that_meets_a_concurrent_write_is_written_row_by_row(two_companies, small_chunks, monkeypatch,
                                                                      tmp_path):
    """Another writer (the API) creates a candidate between the chunk's read and its insert: the insert fails
    on the unique key, the chunk is rolled back and written row by row, and nothing is lost or doubled."""
    batch, reference = two_companies
    path = write(tmp_path, "first.csv", first_file())
    for company in (batch, reference):
        api_rejection(company, "X-1", "p5@example.jp", 5)

    real_load = talent.TalentBatch.load
    fallbacks = []

    def load_missing_one(self, events):
        real_load(self, events)
        if "p5@example.jp" in self.candidates:
            self.candidates["p5@example.jp"] = None  # as if read before the API's insert

    real_row_by_row = imports._write_chunk_row_by_row

    def row_by_row(company, rows):
        fallbacks.append(rows[0].line)
        return real_row_by_row(company, rows)

    with monkeypatch.context() as patch:
        patch.setattr(talent.TalentBatch, "load", load_missing_one)
        patch.setattr(imports, "_write_chunk_row_by_row", row_by_row)
        result = imports.import_csv(batch, path, dry_run=False)
    assert fallbacks  # the chunks with p5 went row by row ...
    assert len(fallbacks) < 10  # ... the others did not
    assert result.as_dict() == import_row_by_row(monkeypatch, reference, path).as_dict()
    assert snapshot(batch) == snapshot(reference)


def test_channel_evaluation_tags_and_application_date_are_stored_and_shown(company, login, client, tmp_path):
    text = ("応募ID,氏名,メールアドレス,応募職種,選考結果,応募日,応募経路,評価,タグ\n"
            "A-1,髙橋 﨑子,saki@example.jp,営業,不採用,2026年9月1日,ビズリーチ,Ｂ＋,"
            "\"Python、Go／リーダー経験, python ,\"\n"
            "A-2,山田 花子,hanako@example.jp,営業,選考中,,,,\n")
    path = tmp_path / "details.csv"
    path.write_text(text, encoding="utf-8")
    result = imports.import_csv(company, path, dry_run=False)
    assert (result.imported, result.errors) == (2, [])
    saki = Application.objects.get(company=company, external_id="A-1")
    assert saki.applied_at == datetime(2026, 9, 1, tzinfo=TOKYO)
    assert (saki.channel, saki.evaluation, saki.tags) == ("ビズリーチ", "Ｂ＋", ["Python", "Go", "リーダー経験"])
    hanako = Application.objects.get(company=company, external_id="A-2")
    assert (hanako.applied_at, hanako.channel, hanako.evaluation, hanako.tags) == (None, "", "", [])

    # A later export that leaves the columns empty keeps what was stored; one that fills them replaces it.
    later = tmp_path / "later.csv"
    later.write_text("応募ID,氏名,メールアドレス,応募職種,選考結果,不採用日,評価,タグ\n"
                     "A-1,髙橋 﨑子,saki@example.jp,営業,不採用,2026/10/01,,\n"
                     "A-2,山田 花子,hanako@example.jp,営業,選考中,,A,新卒\n", encoding="utf-8")
    assert imports.import_csv(company, later, dry_run=False).updated == 2
    saki.refresh_from_db()
    hanako.refresh_from_db()
    assert (saki.channel, saki.evaluation, saki.tags) == ("ビズリーチ", "Ｂ＋", ["Python", "Go", "リーダー経験"])
    assert (hanako.evaluation, hanako.tags) == ("A", ["新卒"])

    login(company)
    page = client.get(f"/console/candidates/{saki.candidate_id}/").content.decode()
    assert "2026-09-01" in page and "ビズリーチ" in page and "Ｂ＋" in page
    assert '<span class="status">リーダー経験</span>' in page


def test_too_long_details_are_row_errors(company, tmp_path):
    path = tmp_path / "long.csv"
    path.write_text("氏名,メールアドレス,応募職種,選考結果,評価\n髙橋,a@example.jp,営業,不採用," + "A" * 101 + "\n",
                    encoding="utf-8")
    result = imports.import_csv(company, path, dry_run=False)
    assert result.errors == [{"line": 2, "message": "評価が長すぎます(100 文字まで)"}]


def test_in_lists_stay_below_the_sqlite_variable_limit():
    parts = list(bulk.in_lists(range(2000)))
    assert [len(part) for part in parts] == [900, 900, 200]
    assert list(bulk.in_lists(["a", "b", "a"])) == [["a", "b"]]


@pytest.mark.slow
@pytest.mark.sqlite_data_dir
def test_the_command_line_shows_progress_while_it_imports(tmp_path):
    env = base_env(str(tmp_path / "data"))
    assert run_cli(["company", "create", "--name", "株式会社つなぐ", "--slug", "acme"], env).returncode == 0
    path = tmp_path / "big.csv"
    path.write_text("氏名,メールアドレス,応募職種,選考結果\n"
                    + "".join(f"髙橋 {n},c{n}@example.jp,エンジニア,不採用\n" for n in range(4500)), encoding="utf-8")
    result = run_cli(["import-csv", "--company", "acme", str(path), "--json"], env)
    assert result.returncode == 0, result.stderr
    # Not a terminal: a line per 10% reached, after each committed chunk of IMPORT_CHUNK rows.
    assert "2,000/4,500 (40%)" in result.stderr and "4,000/4,500 (80%)" in result.stderr
    assert "4,500/4,500 (100%)" in result.stderr
    assert json.loads(result.stdout.strip().splitlines()[-1])["imported"] == 4500


def test_without_returning_inserts_every_chunk_goes_row_by_row(two_companies, small_chunks, monkeypatch, tmp_path):
    """SQLite before 3.35 gives no ids back from a multi-row INSERT: the import still works, row by row."""
    batch, reference = two_companies
    path = write(tmp_path, "first.csv", first_file()[:600])
    with monkeypatch.context() as patch:
        patch.setattr(talent, "batch_writes_supported", lambda: False)
        patch.setattr(talent.TalentBatch, "flush", lambda self: pytest.fail("the batch path was used"))
        result = imports.import_csv(batch, path, dry_run=False)
    assert result.as_dict() == import_row_by_row(monkeypatch, reference, path).as_dict()
    assert snapshot(batch) == snapshot(reference)
