"""`open_positions` in follow-ups and invitations: the jobs HR has not closed that opened or were applied to
recently; a closed job is never offered, however recent its applications."""

from datetime import timedelta

import pytest
from django.utils import timezone

from tsunagu.messaging.compose import open_positions
from tsunagu.talent.models import Application, Job, JobStatus
from tsunagu.testing import ApiClient, application_body

pytestmark = pytest.mark.django_db


def test_closed_jobs_are_left_out_and_jobs_opened_without_applications_are_listed(make_company):
    company, key = make_company()
    other, other_key = make_company("globex", name="グローベックス株式会社")
    api = ApiClient(key)
    for external_id, title in [("A-1", "バックエンドエンジニア"), ("A-2", "法人営業"), ("A-3", "経理")]:
        body = application_body(external_id=external_id, email_address=f"{external_id}@example.jp")
        body["job"] = {"title": title}
        assert api.post("/api/v1/applications", body).status_code == 201
    Job.objects.filter(company=company, title="法人営業").update(status=JobStatus.CLOSED)
    # 経理 was applied to long ago: not listed.
    Application.objects.filter(company=company, job__title="経理").update(
        created_at=timezone.now() - timedelta(days=200))
    now = timezone.now()
    Job.objects.create(company=company, title="データアナリスト", status=JobStatus.OPEN, opened_at=now)
    Job.objects.create(company=company, title="広報", status=JobStatus.OPEN, opened_at=now - timedelta(days=300))
    Job.objects.create(company=other, title="他社の求人", status=JobStatus.OPEN, opened_at=now)

    assert list(open_positions(company)) == ["データアナリスト", "バックエンドエンジニア"]
