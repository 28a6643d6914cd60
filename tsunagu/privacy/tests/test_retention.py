"""Retention on a simulated clock: nothing goes before the deadline, everything personal goes after it, the
dashboards' numbers stay; HR sees the next 30 days and can ask people to stay, and one click moves the deadline."""

from __future__ import annotations

import io
import json
import re
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.test import Client
from django.utils import timezone

from tsunagu.analytics.selectors import loop_counts
from tsunagu.companies.actions import operator_party, update_company_settings
from tsunagu.messaging.actions.delivery import deliver_due_messages
from tsunagu.messaging.models import Message, MessageKind
from tsunagu.privacy.actions.consent import ask_to_stay, pool_consent_text
from tsunagu.privacy.actions.retention import candidates_due, purge
from tsunagu.privacy.models import Erasure, ErasureReason, PoolConsent
from tsunagu.privacy.tests.test_erasure import traces_of
from tsunagu.relay.tests.referrals import registrant, rejected
from tsunagu.talent.models import Candidate

pytestmark = pytest.mark.django_db

DAY = timedelta(days=1)


def aged(application, days: int):
    """Move a rejected application's person `days` into the past (all their moments)."""
    past = timezone.now() - days * DAY
    Candidate.objects.filter(pk=application.candidate_id).update(created_at=past, last_applied_at=past,
                                                                last_rejected_at=past)
    return Candidate.objects.get(pk=application.candidate_id)


@pytest.fixture
def settings_180_365(company):
    update_company_settings(company, retention_days=365, retention_days_without_consent=180)
    company.refresh_from_db()
    return company


def test_nothing_goes_before_the_deadline_and_everything_personal_after(settings_180_365, make_company):
    company = settings_180_365
    kept = aged(rejected(company, email="kept@example.jp", name="残る 人", external_id="R-1"), 100)
    gone = aged(rejected(company, email="gone@example.jp", name="消える 人", phone="090-5555-6666",
                         external_id="R-2"), 170)
    other_company, _ = make_company(slug="other", name="他社")
    elsewhere = aged(rejected(other_company, email="elsewhere@example.jp", name="他社の 人", external_id="R-3"), 170)
    deliver_due_messages()  # the notices went out long ago
    before = loop_counts(company)
    now = timezone.now()

    assert purge(now=now + 9 * DAY).as_dict()["erased"] == 0
    assert traces_of(["消える 人"]) != []

    report = purge(now=now + 11 * DAY)

    assert report.candidates == {company.slug: 1}
    assert Candidate.objects.get(pk=gone.pk).erased_at is not None
    assert Candidate.objects.get(pk=kept.pk).name == "残る 人"
    assert Candidate.objects.get(pk=elsewhere.pk).name == "他社の 人", "the other company keeps 3 years"
    assert traces_of(["消える 人", "gone@example.jp", "5555-6666"]) == []
    assert loop_counts(company) == before
    assert Erasure.objects.get(subject_id=gone.pk).reason == ErasureReason.RETENTION
    assert purge(now=now + 11 * DAY).as_dict()["erased"] == 0, "done once"


def test_consent_counts_the_longer_period_from_the_day_it_was_given(settings_180_365, client):
    company = settings_180_365
    person = aged(rejected(company, email="stay@example.jp", name="残りたい 人", external_id="R-4"), 170)
    assert [c.pk for c in candidates_due(company, timezone.now() + 30 * DAY)] == [person.pk]

    result = ask_to_stay(company)
    assert result == {"asked": 1, "skipped": 0}
    assert ask_to_stay(company) == {"asked": 1, "skipped": 0}
    mails = Message.objects.filter(kind=MessageKind.PRIVACY)
    assert mails.count() == 1, "one request per person and deadline"
    link = re.search(r"/privacy/stay/\S+/", mails.get().body_text).group(0)

    visitor = Client()
    page = visitor.get(link)
    assert pool_consent_text(company) in page.content.decode()
    assert not PoolConsent.objects.exists(), "opening the link agrees to nothing"
    digest = re.search(r'name="text_sha256" value="([0-9a-f]+)"', page.content.decode()).group(1)
    assert visitor.post(link, {"text_sha256": digest}).status_code == 200

    consent = PoolConsent.objects.get()
    assert consent.text == pool_consent_text(company) and len(consent.text_hash) == 64
    assert consent.ip_hash and "127.0.0.1" not in consent.ip_hash
    assert purge(now=timezone.now() + 300 * DAY).as_dict()["erased"] == 0
    assert purge(now=timezone.now() + 366 * DAY).candidates == {company.slug: 1}


def test_the_consent_text_shown_is_kept_when_the_company_is_renamed(settings_180_365):
    company = settings_180_365
    person = aged(rejected(company, email="stay@example.jp", name="残りたい 人", external_id="R-5"), 170)
    ask_to_stay(company)
    link = re.search(r"/privacy/stay/\S+/", Message.objects.get(kind=MessageKind.PRIVACY).body_text).group(0)
    visitor = Client()
    shown = re.search(r'name="text_sha256" value="([0-9a-f]+)"', visitor.get(link).content.decode()).group(1)
    update_company_settings(company, name="株式会社アクメ・ホールディングス")

    stale = visitor.post(link, {"text_sha256": shown})
    assert stale.status_code == 409 and not PoolConsent.objects.exists()
    fresh = re.search(r'name="text_sha256" value="([0-9a-f]+)"', stale.content.decode()).group(1)
    visitor.post(link, {"text_sha256": fresh})
    update_company_settings(company, name="株式会社つなぐ")

    consent = PoolConsent.objects.get(candidate=person)
    assert "株式会社アクメ・ホールディングス" in consent.text and "つなぐ" not in consent.text


def test_registrants_follow_the_operators_retention():
    operator = operator_party()
    old = registrant("old@example.jp", name="古い 登録者")
    new = registrant("new@example.jp", name="新しい 登録者")
    type(old).objects.filter(pk=old.pk).update(updated_at=timezone.now() - (operator.retention_days + 1) * DAY)

    assert purge(dry_run=True).registrants == 1
    assert purge().registrants == 1
    assert traces_of(["古い 登録者", "old@example.jp"]) == []
    assert type(new).objects.get(pk=new.pk).name == "新しい 登録者"


def test_the_command_counts_then_erases(settings_180_365):
    company = settings_180_365
    aged(rejected(company, email="gone@example.jp", name="消える 人", external_id="R-6"), 200)

    out = io.StringIO()
    call_command("privacy", "purge", "--dry-run", "--json", stdout=out)
    assert json.loads(out.getvalue()) == {"dry_run": True, "candidates": {company.slug: 1}, "registrants": 0,
                                          "erased": 1, "more": False}
    assert traces_of(["消える 人"])
    out = io.StringIO()
    call_command("privacy", "purge", stdout=out)
    assert "total: 1 erased" in out.getvalue()
    assert traces_of(["消える 人"]) == []


def test_the_command_line_exports_through_tsunagu_privacy_export(company, tmp_path):
    out = io.StringIO()
    call_command("privacy", "export", "--company", company.slug, "--format", "json",
                 "--output", str(tmp_path / "all.json"), stdout=out)
    summary = json.loads(out.getvalue())
    assert summary["format"] == "json" and summary["path"].endswith("all.json")
    assert json.loads((tmp_path / "all.json").read_text(encoding="utf-8"))["company"]["slug"] == company.slug
