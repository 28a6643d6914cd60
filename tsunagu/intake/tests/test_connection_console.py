"""The ATS connection pages in the console, as HR uses them."""

import pytest

from tsunagu.companies.models import Role
from tsunagu.intake.actions import connections
from tsunagu.intake.models import AtsConnection
from tsunagu.intake.tests import webhook_samples as samples

pytestmark = pytest.mark.django_db
SECRET = "a-shared-secret-1234"


def test_admin_adds_a_connection_and_sees_url_warning_and_test_event(login, make_company):
    company, _key = make_company()
    client = login(company)
    response = client.post("/console/connections/", {"kind": "greenhouse", "secret": SECRET}, follow=True)
    page = response.content.decode()
    connection = AtsConnection.objects.get(company=company)
    assert connection.webhook_url in page
    assert 'id="double-mail-warning"' in page
    page = client.post(f"/console/connections/{connection.pk}/test/", follow=True).content.decode()
    assert "署名を確認できました" in page
    assert "ping" in page  # the test delivery is in the log


def test_mappings_are_edited_as_lines_and_bad_stages_refused(login, make_company):
    company, _key = make_company()
    connection = connections.add_connection(company, kind="ashby", secret=SECRET)
    client = login(company)
    url = f"/console/connections/{connection.pk}/"
    client.post(url, {"stage_mapping": "Onsite = 二次面接\nExec = 最終面接", "reason_mapping": "Not a fit = スキル不一致"})
    connection.refresh_from_db()
    assert connection.stage_mapping == {"Onsite": 30, "Exec": 40}
    assert connection.reason_mapping == {"Not a fit": "スキル不一致"}
    page = client.post(url, {"stage_mapping": "Onsite = 謎", "reason_mapping": ""}).content.decode()
    assert "1行目" in page
    connection.refresh_from_db()
    assert connection.stage_mapping == {"Onsite": 30, "Exec": 40}


def test_refused_signatures_are_counted_not_stored(client, login, make_company):
    company, _key = make_company()
    connection = connections.add_connection(company, kind="greenhouse", secret=SECRET)
    body, _headers = samples.greenhouse_request(SECRET, samples.greenhouse())
    client.post(connection.webhook_path, data=body, content_type="application/json", HTTP_SIGNATURE="sha256 00")
    connection.refresh_from_db()
    assert connection.refused_signatures == 1 and connection.deliveries.count() == 0
    page = login(company).get(f"/console/connections/{connection.pk}/").content.decode()
    assert 'id="refused">1' in page


def test_other_companies_and_non_admins_cannot_see_connections(login, make_company, client):
    mine, _ = make_company(slug="mine")
    theirs, _ = make_company(slug="theirs")
    their_connection = connections.add_connection(theirs, kind="greenhouse", secret=SECRET)
    login(mine)
    assert client.get(f"/console/connections/{their_connection.pk}/").status_code == 404
    assert client.post(f"/console/connections/{their_connection.pk}/test/").status_code == 404
    assert their_connection.webhook_url not in client.get("/console/connections/").content.decode()
    client.logout()
    login(mine, role=Role.RECRUITER, email_address="rec@mine.example")
    assert client.post("/console/connections/", {"kind": "greenhouse", "secret": SECRET}).status_code == 403
