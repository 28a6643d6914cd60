"""The access log of personal data: each read or change of a person's data in the console, the API and the
operator's desk is one row (one INSERT); the admins' page and CSV show the company's own rows only; bad filters
are refused clearly; the purge takes only what is past the company's retention; and no URL can change the log."""

from __future__ import annotations

import copy
import re
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.db import connection, transaction
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import URLPattern, URLResolver, get_resolver
from django.utils import timezone

from tsunagu.companies import actions as company_actions
from tsunagu.companies.models import AccessLog, Role
from tsunagu.messaging.models import Message, MessageKind
from tsunagu.relay.tests.desk_factories import make_registration, operator_login
from tsunagu.relay.tests.referrals import rejected
from tsunagu.talent.models import MatchKind, Reapplication
from tsunagu.testing import login_with_second_factor

pytestmark = pytest.mark.django_db

NAME = "高橋 花子"
TABLE = AccessLog._meta.db_table


def rows(company=None) -> list[AccessLog]:
    found = AccessLog.objects.order_by("pk")
    return list(found.filter(company=company) if company is not None else found)


def only_row(company) -> AccessLog:
    found = rows(company)
    assert len(found) == 1, [str(row) for row in found]
    return found[0]


def log_writes(queries) -> list[str]:
    return [q["sql"] for q in queries if TABLE in q["sql"]]


@pytest.fixture
def person(make_company):
    company, key = make_company()
    application = rejected(company, email="hanako@example.jp", name=NAME, external_id="A-77")
    return company, key, application


# --- recording -------------------------------------------------------------------------------------

def test_record_access_is_one_insert_and_keeps_only_the_keys_prefix(company, django_assert_num_queries):
    with django_assert_num_queries(1):
        row = company_actions.record_access(company, api_key="tsu_ab12cd34_the-secret-part", channel="api",
                                            action="view", subject_kind="candidate", subject_id=7)
    assert row.actor == "API key ab12cd34" and row.user is None
    assert "the-secret-part" not in str(AccessLog.objects.filter(pk=row.pk).values().get())


def test_the_log_is_append_only(company):
    row = company_actions.record_access(company, channel="system", action="delete", subject_kind="candidate",
                                        subject_id=1)
    with pytest.raises(TypeError):
        AccessLog.objects.filter(pk=row.pk).update(actor="someone else")
    with pytest.raises(TypeError):
        AccessLog.objects.filter(pk=row.pk).delete()
    with pytest.raises(TypeError):
        row.delete()
    assert AccessLog.objects.get(pk=row.pk).actor == ""


def test_a_candidates_page_makes_one_row_in_one_insert_and_no_other_read_of_the_log(person, login):
    company, _key, application = person
    client = login(company, Role.VIEWER)
    with CaptureQueriesContext(connection) as queries:
        assert client.get(f"/console/candidates/{application.candidate_id}/").status_code == 200
    assert len(log_writes(queries)) == 1 and log_writes(queries)[0].lstrip().upper().startswith("INSERT")
    row = only_row(company)
    assert (row.actor, row.channel, row.action, row.subject_kind, row.subject_id) == (
        "viewer@acme.example", "console", "view", "candidate", application.candidate_id)
    assert row.user.email == "viewer@acme.example"


def test_a_pool_search_records_the_filters_used_never_the_words(person, login):
    company, _key, _application = person
    client = login(company, Role.VIEWER)
    assert client.get("/console/candidates/", {"q": "高橋", "contactable": "1"}).status_code == 200
    row = only_row(company)
    assert (row.action, row.subject_kind, row.subject_id, row.subject_count) == ("search", "candidate", None, 1)
    assert set(row.detail.split(",")) == {"q", "contactable"}
    values = AccessLog.objects.filter(pk=row.pk).values().get()
    assert not any("高橋" in str(value) or "髙橋" in str(value) for value in values.values())
    # A refused search shows nobody and records nothing.
    assert client.get("/console/candidates/", {"rejected_from": "not a day"}).status_code == 400
    assert len(rows(company)) == 1


def test_edits_of_a_candidate_are_recorded_as_changes(person, login):
    company, _key, application = person
    client = login(company, Role.RECRUITER)
    candidate_id = application.candidate_id
    page = f"/console/candidates/{candidate_id}/"
    assert client.post(page + "edit/", {"note": "面接で高評価", "contact_allowed": "on"}).status_code == 302
    assert client.post(page + "tags/", {"action": "add", "label": "Python", "kind": "skill"}).status_code == 302
    assert client.post("/console/candidates/tags/", {"candidate": [candidate_id], "action": "add",
                                                      "label": "要連絡", "kind": "tag"}).status_code == 302
    assert [(r.action, r.subject_id, r.detail) for r in rows(company)] == [
        ("change", candidate_id, ""), ("change", candidate_id, "skills"), ("change", candidate_id, "tags")]
    assert "面接" not in str(list(AccessLog.objects.values()))


def test_the_outbox_message_and_a_reapplication_page_are_recorded(person, login):
    company, _key, application = person
    message = Message.objects.get(application=application, kind=MessageKind.REJECTION)
    reapplication = Reapplication.objects.create(company=company, application=application,
                                                 candidate=application.candidate, previous=application.candidate,
                                                 match=MatchKind.EXACT)
    client = login(company, Role.VIEWER)
    assert client.get(f"/console/outbox/{message.pk}/").status_code == 200
    assert client.get(f"/console/reapplications/{reapplication.pk}/").status_code == 200
    assert [(r.action, r.subject_kind, r.subject_id) for r in rows(company)] == [
        ("view", "message", message.pk), ("view", "reapplication", reapplication.pk)]


def test_the_api_records_searches_reads_and_edits_under_the_keys_prefix(person):
    company, key, application = person
    prefix = key.split("_")[1]
    client, auth = Client(), {"Authorization": f"Bearer {key}"}
    candidate_id = application.candidate_id
    assert client.get("/api/v1/candidates", {"q": "高橋", "limit": 5}, headers=auth).status_code == 200
    assert client.get(f"/api/v1/candidates/{candidate_id}", headers=auth).status_code == 200
    assert client.patch(f"/api/v1/candidates/{candidate_id}", {"note": "API から", "tags": ["要連絡"]},
                        content_type="application/json", headers=auth).status_code == 200
    assert client.get("/api/v1/applications/A-77", headers=auth).status_code == 200
    assert client.get("/api/v1/candidates/999999999", headers=auth).status_code == 404  # nothing read
    got = [(r.actor, r.channel, r.action, r.subject_kind, r.subject_id, r.subject_count) for r in rows(company)]
    actor = f"API key {prefix}"
    assert got == [(actor, "api", "search", "candidate", None, 1), (actor, "api", "view", "candidate", candidate_id, None),
                   (actor, "api", "change", "candidate", candidate_id, None),
                   (actor, "api", "view", "application", application.pk, None)]
    assert rows(company)[0].detail == "q" and set(rows(company)[2].detail.split(",")) == {"note", "tags"}
    assert key.split("_", 2)[2] not in str(list(AccessLog.objects.values()))


def test_the_operators_desk_records_into_the_operators_own_log(make_company, client):
    company, _key = make_company()
    registration = make_registration(company, email="taro@example.jp", name="山田 太郎")
    operator_login(client)
    person = registration.registrant_id
    assert client.get(f"/console/operator/registrants/{person}/").status_code == 200
    assert client.get("/console/operator/registrants/", {"q": "山田"}).status_code == 200
    assert client.get("/console/operator/registrants.csv", {"purpose": "月次の確認"}).status_code == 200
    assert client.post(f"/console/operator/registrants/{person}/notes/", {"text": "電話済み"}).status_code == 302
    party = company_actions.operator_party()
    assert not rows(company)
    got = [(r.actor, r.channel, r.action, r.subject_kind, r.subject_id, r.purpose) for r in rows(party)]
    staff = "advisor@relay.example"
    assert got == [(staff, "operator", "view", "registrant", person, ""),
                   (staff, "operator", "search", "registrant", None, ""),
                   (staff, "operator", "export", "registrant", None, "月次の確認"),
                   (staff, "operator", "change", "registrant", person, "")]
    assert rows(party)[1].subject_count == 1 and rows(party)[1].detail == "q"
    assert "山田" not in str(list(AccessLog.objects.values()))


# --- the page and the CSV ---------------------------------------------------------------------------

def seed(company, count=3, *, first=1000, action="view", subject_kind="candidate"):
    return [company_actions.record_access(company, channel="system", action=action, subject_kind=subject_kind,
                                          subject_id=first + n) for n in range(count)]


def test_admins_read_their_companys_log_newest_first_and_no_other(make_company, login):
    mine, _ = make_company()
    theirs, _ = make_company(slug="other", name="株式会社アザー")
    ours = seed(mine, 3)
    seed(theirs, 2, first=2000, subject_kind="message")
    page = login(mine).get("/console/access-log/").content.decode()
    table = page.split('id="access-log"')[1]
    assert [int(n) for n in re.findall(r"#(\d+)", table)] == [1002, 1001, 1000]
    assert "メッセージ" not in table
    other_admin = login(theirs, email_address="admin@other.example")
    other = other_admin.get("/console/access-log/", {"subject_id": ours[0].subject_id,
                                                     "subject_kind": "candidate"})
    assert other.status_code == 200 and "#1000" not in other.content.decode()
    csv_text = other_admin.get("/console/access-log.csv").getvalue().decode()
    assert ",2000," in csv_text and ",1000," not in csv_text and ",1001," not in csv_text


@pytest.mark.parametrize("role", [Role.VIEWER, Role.RECRUITER])
def test_below_admin_the_log_is_refused(company, login, role):
    seed(company)
    client = login(company, role)
    assert client.get("/console/access-log/").status_code == 403
    assert client.get("/console/access-log.csv").status_code == 403
    assert 'href="/console/access-log/"' not in client.get("/console/").content.decode()


def test_the_filters_narrow_by_day_actor_action_kind_and_id(company, login, monkeypatch):
    admin = login(company)
    yesterday = timezone.now() - timedelta(days=1)
    monkeypatch.setattr(timezone, "now", lambda: yesterday)
    company_actions.record_access(company, channel="system", action="delete", subject_kind="candidate", subject_id=5)
    monkeypatch.undo()
    company_actions.record_access(company, api_key="tsu_feedbeef_x", channel="api", action="view",
                                  subject_kind="application", subject_id=6)

    def shown(**params):
        response = admin.get("/console/access-log/", params)
        assert response.status_code == 200
        return [int(n) for n in re.findall(r"#(\d+)", response.content.decode().split('id="access-log"')[1])]

    today = timezone.localdate(timezone.now(), timezone=__import__("zoneinfo").ZoneInfo(company.time_zone))
    assert shown() == [6, 5]
    assert shown(date_from=today.isoformat()) == [6]
    assert shown(date_to=(today - timedelta(days=1)).isoformat()) == [5]
    assert shown(actor="feedbeef") == [6]
    assert shown(action="delete") == [5]
    assert shown(subject_kind="application") == [6]
    assert shown(subject_id="5") == [5]


@pytest.mark.parametrize("params", [
    {"date_from": "2026-13-45"}, {"date_to": "yesterday"}, {"date_from": "0001-01-01"}, {"date_to": "9999-12-31"},
    {"subject_id": "99999999999999999999999999"}, {"subject_id": "-3"}, {"subject_id": "abc"},
    {"actor": "x" * 10_000}, {"action": "erase"}, {"subject_kind": "x" * 10_000},
    {"date_from": "2026-05-02", "date_to": "2026-05-01"}, {"actor": "a\x00b"},
])
def test_bad_filters_are_refused_clearly(company, login, params):
    seed(company)
    admin = login(company)
    page = admin.get("/console/access-log/", params)
    assert page.status_code == 400
    assert 'id="access-log-errors"' in page.content.decode()
    download = admin.get("/console/access-log.csv", params)
    assert download.status_code == 400 and download.content.decode().strip()
    assert len(rows(company)) == 3  # a refused download is not recorded


def test_pages_follow_older_rows_without_counting_the_log(company, login):
    seed(company, 60)
    admin = login(company)
    first = admin.get("/console/access-log/").content.decode()
    shown = [int(n) for n in re.findall(r"#(\d+)", first.split('id="access-log"')[1])]
    assert shown == list(range(1059, 1009, -1))
    older = re.search(r'href="\?(before=\d+)" id="access-log-older"', first).group(1)
    second = admin.get(f"/console/access-log/?{older}").content.decode()
    assert [int(n) for n in re.findall(r"#(\d+)", second.split('id="access-log"')[1])] == list(range(1009, 999, -1))
    assert 'id="access-log-older"' not in second


def test_the_csv_is_utf8_with_a_bom_streamed_filtered_and_its_download_recorded(company, login):
    seed(company, 2)
    company_actions.record_access(company, channel="system", action="delete", subject_kind="registrant",
                                  subject_id=77, purpose="=HYPERLINK(\"x\")")
    admin = login(company)
    response = admin.get("/console/access-log.csv", {"subject_kind": "candidate", "purpose": "監査のため"})
    assert response.status_code == 200 and response.streaming
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    body = response.getvalue()
    assert body.startswith("\ufeff".encode())
    lines = body.decode("utf-8-sig").splitlines()
    assert lines[0].split(",")[0] == "日時" and len(lines) == 3
    assert all(",候補者,100" in line for line in lines[1:])
    export = rows(company)[-1]
    assert (export.actor, export.channel, export.action, export.subject_kind, export.purpose, export.detail) == (
        "admin@acme.example", "console", "export", "access_log", "監査のため", "subject_kind")
    everything = admin.get("/console/access-log.csv").getvalue().decode("utf-8-sig")
    assert "'=HYPERLINK" in everything  # a formula is written as text


def test_operator_staff_read_the_operators_party_log(make_company, client):
    company, _key = make_company()
    seed(company, 1)
    party = company_actions.operator_party()
    company_actions.record_access(party, channel="system", action="view", subject_kind="registrant", subject_id=4242)
    operator_login(client)
    page = client.get("/console/access-log/").content.decode()
    assert "#4242" in page and "#1000" not in page
    assert client.get("/console/access-log.csv").status_code == 200
    assert rows(party)[-1].channel == "operator" and rows(party)[-1].subject_kind == "access_log"


def test_the_company_sets_how_long_its_log_is_kept(company, login):
    admin = login(company)
    assert 'name="access_log_retention_days"' in admin.get("/console/settings/").content.decode()
    with pytest.raises(Exception):  # noqa: B017,PT011 - ValidationError for a period under a year
        company_actions.update_company_settings(company, access_log_retention_days=30)
    assert company_actions.update_company_settings(company, access_log_retention_days=730).access_log_retention_days == 730


# --- the purge ------------------------------------------------------------------------------------

def test_the_purge_takes_only_what_is_past_each_companys_retention(make_company, monkeypatch):
    short, _ = make_company()
    long, _ = make_company(slug="other", name="株式会社アザー")
    company_actions.update_company_settings(short, access_log_retention_days=365)
    start = timezone.now()

    def at(days):
        monkeypatch.setattr(timezone, "now", lambda: start + timedelta(days=days))

    at(0)
    old = seed(short, 2) + seed(long, 1)
    at(200)
    newer = seed(short, 1)
    monkeypatch.undo()
    assert company_actions.purge_access_log(start + timedelta(days=365, hours=1)) == 2
    assert {row.pk for row in rows()} == {old[2].pk, newer[0].pk}  # the other company keeps 5 years
    assert company_actions.purge_access_log(start + timedelta(days=565, hours=1)) == 1
    assert company_actions.purge_access_log(start + timedelta(days=1825, hours=1)) == 1
    assert not rows()


def test_the_scheduler_has_a_worker_purge_the_log_once_a_day(company, monkeypatch):
    from tsunagu.core import runtime

    jobs = {name: (job, every) for name, job, every in runtime.scheduler_jobs()}
    assert jobs["access log purge"] == (company_actions.schedule_access_log_purge, 24 * 60 * 60)
    start = timezone.now()
    monkeypatch.setattr(timezone, "now", lambda: start - timedelta(days=1826))
    seed(company, 1)
    monkeypatch.undo()
    kept = seed(company, 1, first=2000)
    company_actions.schedule_access_log_purge()  # the test queue runs the task at once
    assert rows() == kept


# --- no URL changes the log ---------------------------------------------------------------------------

DUMMY = {"int": "1", "str": "x", "slug": "x", "path": "x", "uuid": "00000000-0000-0000-0000-000000000001"}


def every_path() -> list[str]:
    """A path for every URL pattern of the project, its parameters filled with dummy values."""
    found = []

    def text(pattern) -> str | None:
        route = getattr(pattern.pattern, "_route", None)
        if route is not None:
            return re.sub(r"<(?:(\w+):)?\w+>", lambda m: DUMMY.get(m.group(1) or "str", "1"), route)
        regex = pattern.pattern._regex.lstrip("^").rstrip("$").replace("\\Z", "")
        regex = re.sub(r"\(\?P<\w+>[^)]*\)", "1", regex).replace("\\.", ".").replace("\\/", "/")
        return None if re.search(r"[()\[\]*+?|\\]", regex) else regex

    def walk(patterns, prefix):
        for entry in patterns:
            part = text(entry)
            if part is None:
                continue
            if isinstance(entry, URLResolver):
                walk(entry.url_patterns, prefix + part)
            elif isinstance(entry, URLPattern):
                found.append("/" + prefix + part)

    walk(get_resolver().url_patterns, "")
    return sorted(set(found))


def snapshot() -> dict[int, dict]:
    return {row["id"]: row for row in AccessLog.objects.values()}


def test_no_url_edits_or_deletes_the_log(person, login, client):
    company, key, application = person
    party = company_actions.operator_party()
    for owner in (company, party):
        seed(owner, 3)
    operator_key = company_actions.issue_api_key(party, label="crm")
    admin = login(company)
    admin_client = Client(raise_request_exception=False, headers={"Authorization": f"Bearer {key}"})
    admin_client.cookies = copy.deepcopy(admin.cookies)
    client.cookies.clear()
    get_user_model().objects.create_superuser("root@operator.example", "root@operator.example", "a-long-password")
    login_with_second_factor(client, "root@operator.example", "a-long-password")
    root = Client(raise_request_exception=False, headers={"Authorization": f"Bearer {operator_key}"})
    root.cookies = copy.deepcopy(client.cookies)
    staff = Client(raise_request_exception=False)
    client.cookies.clear()
    operator_login(client)
    staff.cookies = copy.deepcopy(client.cookies)

    before = snapshot()
    paths = every_path()
    assert len(paths) > 150 and "/console/access-log/" in paths and "/admin/companies/accesslog/x/delete/" in paths
    ids = [str(pk) for pk in before]
    paths += [f"/admin/companies/accesslog/{pk}/{end}" for pk in ids for end in ("change/", "delete/")]
    changed, answered = [], 0
    for actor, who in ((admin_client, "admin"), (root, "superuser"), (staff, "operator staff")):
        for path in paths:
            for method in ("post", "put", "patch", "delete"):
                cookies = copy.deepcopy(actor.cookies)
                with transaction.atomic():
                    data = {"post": "yes", "id": ids[0], "pk": ids[0], "action": "delete_selected",
                            "_selected_action": ids}
                    response = getattr(actor, method)(path, data) if method == "post" else getattr(actor, method)(
                        path, "{}", content_type="application/json")
                    answered += response.status_code < 500
                    after = snapshot()
                    if any(after.get(pk) != row for pk, row in before.items()):
                        changed.append(f"{method.upper()} {path} as {who}: {response.status_code}")
                    transaction.set_rollback(True)
                actor.cookies = cookies
    assert not changed, "\n".join(changed)
    assert answered > len(paths) * 6
    assert snapshot() == before
