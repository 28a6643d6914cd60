"""ATS job events through the real webhook endpoint: Greenhouse's job and job-post webhooks store the job
(opened once, however often the event is repeated), and nothing is mailed when a job opens."""

from __future__ import annotations

import pytest

from tsunagu.intake.actions import connections
from tsunagu.intake.models import DeliveryStatus, WebhookDelivery
from tsunagu.intake.tests import webhook_samples as samples
from tsunagu.messaging.models import Message
from tsunagu.talent.models import Job, JobStatus

pytestmark = pytest.mark.django_db

SECRET = "a-shared-secret-1234"


def greenhouse_job(action="job_created", status="open", name="バックエンドエンジニア", job_id=4690):
    return {"action": action, "payload": {"job": {
        "id": job_id, "name": name, "requisition_id": "REQ-7", "status": status, "confidential": False,
        "notes": "<p>決済基盤の開発。</p><p>Python &amp; AWS の経験</p>",
        "departments": [{"id": 1, "name": "エンジニア"}],
        "offices": [{"id": 2, "name": "Tokyo", "location": {"name": "東京都"}}, {"id": 3, "name": "大阪", "location": None}],
    }}}


@pytest.fixture
def greenhouse(make_company):
    company, _key = make_company()
    return connections.add_connection(company, kind="greenhouse", secret=SECRET)


def deliver(client, connection, payload, capture, event_id=None):
    body, headers = samples.greenhouse_request(SECRET, payload, event_id=event_id)
    with capture(execute=True):
        return client.post(connection.webhook_path, data=body, content_type="application/json", **headers)


def test_job_created_opens_the_job_and_a_repeat_does_nothing_twice(client, greenhouse,
                                                                   django_capture_on_commit_callbacks):
    response = deliver(client, greenhouse, greenhouse_job(), django_capture_on_commit_callbacks, event_id="gh-1")
    assert response.status_code == 200
    job = Job.objects.get()
    assert (job.company, job.external_id, job.title, job.category, job.status) == (
        greenhouse.company, "4690", "バックエンドエンジニア", "エンジニア", JobStatus.OPEN)
    assert job.location == "東京都、大阪" and job.description == "決済基盤の開発。\nPython & AWS の経験"
    assert "python" in job.search_tokens.split()
    opened_at = job.opened_at
    assert opened_at is not None
    assert WebhookDelivery.objects.get().outcome == "job 4690 opened"

    # The same delivery again (same event id): stored once. Another delivery saying the same: no new opening.
    assert deliver(client, greenhouse, greenhouse_job(), django_capture_on_commit_callbacks,
                   event_id="gh-1").status_code == 200
    deliver(client, greenhouse, greenhouse_job("job_updated"), django_capture_on_commit_callbacks)
    assert Job.objects.count() == 1 and Job.objects.get().opened_at == opened_at
    assert WebhookDelivery.objects.count() == 2
    assert WebhookDelivery.objects.order_by("-pk").first().outcome == "job 4690 updated (open)"
    assert Message.objects.count() == 0


def test_closed_then_reopened_sets_opened_at_again_and_deleted_closes(client, greenhouse,
                                                                      django_capture_on_commit_callbacks):
    deliver(client, greenhouse, greenhouse_job(status="draft"), django_capture_on_commit_callbacks)
    job = Job.objects.get()
    assert job.status == JobStatus.CLOSED and job.opened_at is None
    deliver(client, greenhouse, greenhouse_job("job_updated", status="open"), django_capture_on_commit_callbacks)
    assert Job.objects.get().opened_at is not None
    deliver(client, greenhouse, {"action": "job_deleted", "payload": {"job": {"id": 4690}}},
            django_capture_on_commit_callbacks)
    job = Job.objects.get()
    assert job.status == JobStatus.CLOSED and job.title == "バックエンドエンジニア"


def test_a_job_post_fills_description_and_location_and_keeps_the_status(client, greenhouse,
                                                                         django_capture_on_commit_callbacks):
    deliver(client, greenhouse, greenhouse_job(status="closed"), django_capture_on_commit_callbacks)
    post = {"action": "job_post_updated", "payload": {"job_post": {
        "id": 99, "job_id": 4690, "title": "【急募】バックエンド", "content": "<h2>仕事内容</h2><ul><li>Go</li></ul>",
        "location": {"name": "リモート"}}}}
    deliver(client, greenhouse, post, django_capture_on_commit_callbacks)
    job = Job.objects.get()
    assert (job.title, job.status, job.location) == ("バックエンドエンジニア", JobStatus.CLOSED, "リモート")
    assert job.description == "仕事内容\nGo"
    # A post for a job not known yet creates it under the post's title.
    deliver(client, greenhouse, post | {"payload": {"job_post": post["payload"]["job_post"] | {"job_id": 5000}}},
            django_capture_on_commit_callbacks)
    assert Job.objects.get(external_id="5000").title == "【急募】バックエンド"


@pytest.mark.parametrize("payload", [
    {"action": "job_created", "payload": {"job": {"id": 1, "name": 5}}},
    {"action": "job_created", "payload": {"job": "nope"}},
    {"action": "job_post_created", "payload": {"job_post": {"job_id": [1]}}},
])
def test_job_events_of_the_wrong_shape_are_400_and_store_nothing(client, greenhouse, payload,
                                                                 django_capture_on_commit_callbacks):
    assert deliver(client, greenhouse, payload, django_capture_on_commit_callbacks).status_code == 400
    assert Job.objects.count() == 0 and WebhookDelivery.objects.count() == 0


def test_a_job_event_without_a_job_id_is_ignored(client, greenhouse, django_capture_on_commit_callbacks):
    assert deliver(client, greenhouse, {"action": "job_created", "payload": {"job": {"name": "x"}}},
                   django_capture_on_commit_callbacks).status_code == 200
    assert WebhookDelivery.objects.get().status == DeliveryStatus.IGNORED and Job.objects.count() == 0


def test_a_job_of_another_company_with_the_same_id_is_untouched(client, greenhouse, make_company,
                                                                django_capture_on_commit_callbacks):
    other, _key = make_company(slug="other", name="株式会社アザー")
    Job.objects.create(company=other, external_id="4690", title="他社の求人", status=JobStatus.CLOSED)
    deliver(client, greenhouse, greenhouse_job(), django_capture_on_commit_callbacks)
    assert Job.objects.get(company=other).title == "他社の求人"
    assert Job.objects.get(company=greenhouse.company).status == JobStatus.OPEN


# --- Ashby ------------------------------------------------------------------------------------------

@pytest.fixture
def ashby(make_company):
    company, _key = make_company(slug="ashby-co", name="株式会社アシュビー")
    return connections.add_connection(company, kind="ashby", secret=SECRET)


def ashby_deliver(client, connection, payload, capture):
    body, headers = samples.ashby_request(SECRET, payload)
    with capture(execute=True):
        return client.post(connection.webhook_path, data=body, content_type="application/json", **headers)


def ashby_job(action="jobCreate", status="Open", action_id="act-1"):
    return {"action": action, "webhookActionId": action_id, "data": {"job": {
        "id": "5f1c-job", "title": "機械学習エンジニア", "status": status, "departmentName": "エンジニア",
        "locationName": "東京"}}}


def test_ashby_job_events_open_close_and_describe_the_job(client, ashby, django_capture_on_commit_callbacks):
    assert ashby_deliver(client, ashby, ashby_job(status="Draft"), django_capture_on_commit_callbacks).status_code == 200
    job = Job.objects.get()
    assert (job.external_id, job.title, job.category, job.location, job.status, job.opened_at) == (
        "5f1c-job", "機械学習エンジニア", "エンジニア", "東京", JobStatus.CLOSED, None)
    ashby_deliver(client, ashby, ashby_job("jobUpdate", "Open", "act-2"), django_capture_on_commit_callbacks)
    opened_at = Job.objects.get().opened_at
    assert opened_at is not None
    # The same action again (Ashby's retry keeps webhookActionId): stored once, opened once.
    ashby_deliver(client, ashby, ashby_job("jobUpdate", "Open", "act-2"), django_capture_on_commit_callbacks)
    assert WebhookDelivery.objects.count() == 2 and Job.objects.get().opened_at == opened_at
    posting = {"action": "jobPostingUpdate", "webhookActionId": "act-3", "data": {"jobPosting": {
        "id": "post-1", "jobId": "5f1c-job", "title": "【募集】MLエンジニア", "descriptionPlain": "推薦システムの開発",
        "locationName": "リモート"}}}
    ashby_deliver(client, ashby, posting, django_capture_on_commit_callbacks)
    job = Job.objects.get()
    assert (job.title, job.description, job.location, job.status) == (
        "機械学習エンジニア", "推薦システムの開発", "リモート", JobStatus.OPEN)
    ashby_deliver(client, ashby, ashby_job("jobUpdate", "Closed", "act-4"), django_capture_on_commit_callbacks)
    assert Job.objects.get().status == JobStatus.CLOSED
    assert Message.objects.count() == 0


def test_ashby_job_events_of_the_wrong_shape_are_400(client, ashby, django_capture_on_commit_callbacks):
    bad = {"action": "jobCreate", "webhookActionId": "x", "data": {"job": {"id": "j", "title": ["no"]}}}
    assert ashby_deliver(client, ashby, bad, django_capture_on_commit_callbacks).status_code == 400
    assert Job.objects.count() == 0
