"""Template sets: the fallback chain, the coverage grid, A/B variants and their numbers, and the console."""

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.test import Client
from django.utils import timezone

from tsunagu.analytics.ab_testing import compare_proportions, variant_stats
from tsunagu.messaging import compose, template_sets
from tsunagu.messaging.actions import delivery, templates
from tsunagu.messaging.models import (
    EventKind,
    Message,
    MessageEvent,
    MessageKind,
    MessageStatus,
    MessageTemplate,
)
from tsunagu.messaging.template_sets import Slot
from tsunagu.messaging.tracking.links import referral_path
from tsunagu.relay.models import Registrant, Registration, RegistrationRequest
from tsunagu.talent.stages import Stage
from tsunagu.testing import application_body

pytestmark = pytest.mark.django_db

ENGINEER = {"external_id": "J-1", "title": "バックエンドエンジニア", "category": "エンジニア"}
SALES = {"external_id": "J-2", "title": "法人営業", "category": "営業"}


def save(company, marker, kind=MessageKind.REJECTION, variant="", **slot):
    return templates.save_template(company, kind, subject=f"{marker} {{{{ company_name }}}}",
                                 body_text=f"{{{{ candidate_name }}}}様 {marker}", slot=Slot(**slot), variant=variant)


def chosen(company, **facts) -> str:
    return template_sets.template_for(company, MessageKind.REJECTION, variant="", **facts).subject.split()[0]


def test_the_fallback_chain_picks_the_most_specific_slot(company):
    save(company, "既定")
    assert chosen(company, job_category="エンジニア", stage=Stage.FINAL_INTERVIEW, rejection_reason="スキル不一致") == "既定"
    save(company, "理由", rejection_reason="スキル不一致")
    save(company, "職種", job_category="エンジニア")
    save(company, "職種×理由", job_category="エンジニア", rejection_reason="スキル不一致")
    save(company, "段階", stage=Stage.FINAL_INTERVIEW)
    save(company, "段階×理由", stage=Stage.FINAL_INTERVIEW, rejection_reason="スキル不一致")
    save(company, "段階×職種", stage=Stage.FINAL_INTERVIEW, job_category="エンジニア")
    save(company, "全部", stage=Stage.FINAL_INTERVIEW, job_category="エンジニア", rejection_reason="スキル不一致")
    final, engineer, skills = Stage.FINAL_INTERVIEW, "エンジニア", "スキル不一致"
    # The documented order: stage, then job category, then rejection reason.
    assert chosen(company, job_category=engineer, stage=final, rejection_reason=skills) == "全部"
    assert chosen(company, job_category=engineer, stage=final, rejection_reason="他") == "段階×職種"
    assert chosen(company, job_category="営業", stage=final, rejection_reason=skills) == "段階×理由"
    assert chosen(company, job_category="営業", stage=final) == "段階"
    assert chosen(company, job_category=engineer, stage=Stage.FIRST_INTERVIEW, rejection_reason=skills) == "職種×理由"
    assert chosen(company, job_category=engineer, stage=Stage.FIRST_INTERVIEW) == "職種"
    assert chosen(company, job_category="営業", stage=Stage.FIRST_INTERVIEW, rejection_reason=skills) == "理由"
    assert chosen(company, job_category="営業", stage=Stage.DOCUMENT_SCREENING) == "既定"
    # Categories and reasons match after NFKC and case folding (full-width, stray spaces).
    assert chosen(company, job_category=" エンジニア ", stage=final, rejection_reason="スキル不一致") == "全部"


def test_a_follow_up_step_uses_its_own_slots_before_the_kind_default(company):
    save(company, "第1回・最終", kind=MessageKind.FOLLOW_UP, step=1, stage=Stage.FINAL_INTERVIEW)
    facts = {"stage": Stage.FINAL_INTERVIEW, "job_category": "エンジニア"}
    subject = template_sets.template_for(company, MessageKind.FOLLOW_UP, step=1, variant="", **facts).subject
    assert subject.startswith("第1回・最終")
    assert template_sets.template_for(company, MessageKind.FOLLOW_UP, step=1, stage=Stage.TEST).step == 1  # default step 1
    assert template_sets.template_for(company, MessageKind.FOLLOW_UP, step=5, **facts).step == 0  # the kind's default
    with pytest.raises(ValidationError):  # only follow-up kinds have steps
        save(company, "x", step=1)


def test_notices_use_their_slot_and_record_the_version(company, api):
    save(company, "最終面接の方へ", stage=Stage.FINAL_INTERVIEW, job_category="エンジニア")
    api.post("/api/v1/applications", application_body("A-1", stage="最終面接", job=ENGINEER))
    api.post("/api/v1/applications", application_body("A-2", email_address="b@example.jp", stage="書類選考", job=ENGINEER))
    delivery.deliver_due_messages()
    final = Message.objects.get(application__external_id="A-1")
    screening = Message.objects.get(application__external_id="A-2")
    assert final.subject == "最終面接の方へ 株式会社アクメ"
    assert (final.template.stage, final.template.job_category, final.variant) == (Stage.FINAL_INTERVIEW, "エンジニア", "")
    assert screening.subject == "選考結果のご連絡(株式会社アクメ)" and screening.template.stage == 0


def test_retiring_a_slot_falls_back_and_the_default_cannot_be_retired(company):
    save(company, "最終", stage=Stage.FINAL_INTERVIEW)
    assert chosen(company, stage=Stage.FINAL_INTERVIEW) == "最終"
    assert templates.retire_template(company, MessageKind.REJECTION, slot=Slot(stage=Stage.FINAL_INTERVIEW)) == 1
    assert chosen(company, stage=Stage.FINAL_INTERVIEW).startswith("選考結果のご連絡")  # the default
    # The history stays; saving again brings the slot back.
    assert MessageTemplate.objects.filter(stage=Stage.FINAL_INTERVIEW, retired=True).count() == 1
    save(company, "最終2", stage=Stage.FINAL_INTERVIEW)
    assert chosen(company, stage=Stage.FINAL_INTERVIEW) == "最終2"
    with pytest.raises(ValidationError):
        templates.retire_template(company, MessageKind.REJECTION)


def test_coverage_shows_where_a_final_interview_gets_broader_wording(company, api):
    api.post("/api/v1/applications", application_body("A-1", stage="最終面接", job=ENGINEER))
    api.post("/api/v1/applications", application_body("A-2", email_address="b@example.jp", stage="書類選考", job=SALES))
    save(company, "書類", stage=Stage.DOCUMENT_SCREENING)
    save(company, "エンジニア最終", stage=Stage.FINAL_INTERVIEW, job_category="エンジニア")
    grid = template_sets.coverage(company)
    cells = {(cell.facts.job_category, cell.facts.stage): cell for cell in grid.cells}
    assert [row.job_category for row in grid.rows] == ["エンジニア", "営業"]
    assert grid.stages == [10, 15, 20, 30, 40]
    assert cells[("エンジニア", Stage.FINAL_INTERVIEW)].state == "exact"
    assert cells[("エンジニア", Stage.FINAL_INTERVIEW)].rejected == 1
    assert cells[("営業", Stage.FINAL_INTERVIEW)].state == "default"
    # A stage-only slot is wording for the stage, not for the category: a partial fallback.
    assert cells[("営業", Stage.DOCUMENT_SCREENING)].state == "partial"
    assert cells[("営業", Stage.DOCUMENT_SCREENING)].used == Slot(stage=Stage.DOCUMENT_SCREENING)
    assert grid.fallback_count == 9 and grid.default_count == 7
    # With a rejection reason, a slot that ignores the reason is a partial fallback.
    with_reason = template_sets.coverage(company, reason="スキル不一致")
    assert {cell.state for cell in with_reason.cells} == {"partial", "default"}
    assert ("スキル不一致", 2) in with_reason.reasons


def test_coverage_page_highlights_fallbacks(company, api, login):
    api.post("/api/v1/applications", application_body("A-1", stage="最終面接", job=ENGINEER))
    save(company, "書類", stage=Stage.DOCUMENT_SCREENING)
    page = login(company).get("/console/templates/coverage/").content.decode()
    assert 'data-category="エンジニア" data-stage="40" data-state="default"' in page
    assert "既定の文面" in page and "(フォールバック)" in page
    assert "5件の組み合わせのうち、5件がフォールバックしています(うち4件は既定の文面)。" in page
    assert 'data-stage="10" data-state="partial"' in page
    assert "/console/templates/rejection/?category=%E3%82%A8%E3%83%B3%E3%82%B8%E3%83%8B%E3%82%A2&amp;stage=40" in page
    follow_up = login(company, email_address="b@acme.example").get("/console/templates/coverage/?kind=follow_up&step=2")
    assert "第2回" in follow_up.content.decode()


def test_variants_are_assigned_at_random_and_recorded(company, api):
    added = templates.add_variant(company, MessageKind.REJECTION)
    assert added.variant == "B"
    templates.save_template(company, MessageKind.REJECTION, subject="B案 {{ company_name }}",
                          body_text="{{ candidate_name }}様 B案です。{{ referral_url }}", variant="B")
    for number in range(80):
        api.post("/api/v1/applications", application_body(f"A-{number}", email_address=f"p{number}@example.jp"))
    while delivery.deliver_due_messages().claimed:
        pass
    sent = Message.objects.filter(kind=MessageKind.REJECTION, status=MessageStatus.SENT)
    assert sent.count() == 80
    counts = {variant: sent.filter(variant=variant).count() for variant in ("", "B")}
    assert 25 <= counts[""] <= 55 and counts[""] + counts["B"] == 80
    for message in sent:
        assert message.template.variant == message.variant
        assert message.subject.startswith("B案") == (message.variant == "B")
    # The same message always draws the same variant (a retry or the outbox preview shows what is sent).
    one = sent.first()
    again = compose._template_for_message(one, {})
    assert again.variant == one.variant


PHONE = ("Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
         "Version/18.1 Mobile/15E148 Safari/604.1")


def _register(message):
    request = RegistrationRequest.objects.create(
        company=message.company, message=message, candidate=message.application.candidate, name="x",
        email=message.to_email, consent_version="1", consented_at=timezone.now())
    registrant = Registrant.objects.create(email_key=message.to_email, email=message.to_email, name="x")
    Registration.objects.create(company=message.company, candidate=message.application.candidate, request=request,
                                registrant=registrant, credit_status="credited",
                                name="x", email=message.to_email, consent_version="1", consented_at=timezone.now())


def test_variant_numbers_count_people_and_registrations(company, api, login):
    templates.add_variant(company, MessageKind.REJECTION, slot=Slot(stage=Stage.FIRST_INTERVIEW))
    for number in range(12):
        api.post("/api/v1/applications", application_body(f"A-{number}", email_address=f"p{number}@example.jp"))
    delivery.deliver_due_messages()
    sent = list(Message.objects.filter(status=MessageStatus.SENT).select_related("company", "application__candidate"))
    a = [m for m in sent if m.variant == ""]
    b = [m for m in sent if m.variant == "B"]
    assert a and b
    now = timezone.now()
    for message in a[:2]:  # two people clicked, one of them twice
        MessageEvent.objects.create(company=company, message=message, kind=EventKind.CLICKED, occurred_at=now)
    MessageEvent.objects.create(company=company, message=a[0], kind=EventKind.CLICKED, occurred_at=now)
    MessageEvent.objects.create(company=company, message=b[0], kind=EventKind.CLICKED, occurred_at=now, machine=True)
    _register(a[0])
    [group] = variant_stats(company)
    assert group.slot == Slot(stage=Stage.FIRST_INTERVIEW)
    stats = {v.label: v for v in group.variants}
    assert (stats["A"].sent, stats["A"].clicks, stats["A"].registrations) == (len(a), 2, 1)
    assert (stats["B"].sent, stats["B"].clicks, stats["B"].registrations) == (len(b), 0, 0)  # a scanner is no one
    assert stats["B"].click_verdict.state == "too_few"
    # The referral link, the notice's main link, records its own clicks on the landing page: a gateway's
    # fetch is no one, a person's click an hour after sending counts for the variant.
    Message.objects.filter(pk=b[0].pk).update(sent_at=now - timedelta(hours=1))
    landing = Client()
    assert landing.get(referral_path(b[0].pk), HTTP_USER_AGENT="Mimecast Link Scanner").status_code == 200
    [group] = variant_stats(company)
    assert {v.label: v.clicks for v in group.variants}["B"] == 0
    assert landing.get(referral_path(b[0].pk), HTTP_USER_AGENT=PHONE).status_code == 200
    [group] = variant_stats(company)
    assert {v.label: v.clicks for v in group.variants} == {"A": 2, "B": 1}
    page = login(company).get("/console/templates/ab/").content.decode()
    assert "件数が少なく判断できません" in page and "両側z検定" in page and "30通未満" in page


def test_the_two_proportion_rule():
    assert compare_proportions(29, 10, 500, 100).state == "too_few"  # a group under 30
    assert compare_proportions(100, 1, 100, 2).state == "too_few"  # too few expected clicks
    even = compare_proportions(400, 40, 400, 44)
    assert even.state == "no_difference" and 0.5 < even.p_value < 0.8
    better = compare_proportions(400, 40, 400, 80)
    assert better.state == "higher" and better.p_value < 0.001
    assert compare_proportions(400, 80, 400, 40).state == "lower"


def test_the_template_list_shows_slots_and_variants_and_edits_them(company, login, api):
    api.post("/api/v1/applications", application_body("A-1", stage="最終面接", job=ENGINEER))
    client = login(company)
    # Open a new slot from the list page's form: it starts from the wording it falls back to.
    response = client.get("/console/templates/new/", {"kind": "rejection", "category": "エンジニア",
                                                      "stage": str(Stage.FINAL_INTERVIEW), "reason": "", "step": "2"})
    assert response.status_code == 302
    editor = client.get(response["Location"]).content.decode()
    assert "最終面接 × エンジニア" in editor and "専用の文面がありません" in editor and "既定の文面" in editor
    assert "髙橋 𠮷子さん(バックエンドエンジニア)の実データ" in editor
    saved = client.post(response["Location"], {"subject": "最終面接まで{{ company_name }}",
                                               "body_text": "{{ candidate_name }}様\n最終面接までありがとうございました。"})
    assert saved.status_code == 302
    slot = Slot("エンジニア", Stage.FINAL_INTERVIEW)
    assert template_sets.template_for(company, MessageKind.REJECTION, **vars(slot)).subject.startswith("最終面接まで")
    # Add variant B, then retire it, then retire the slot.
    client.post(f"/console/templates/rejection/variants/add/?category=エンジニア&stage={Stage.FINAL_INTERVIEW}")
    listing = client.get("/console/templates/").content.decode()
    assert "最終面接 × エンジニア" in listing and ">A v1<" in listing and ">B v1<" in listing
    client.post(f"/console/templates/rejection/retire/?category=エンジニア&stage={Stage.FINAL_INTERVIEW}",
                {"variant": "B"})
    assert list(template_sets.template_set(company, MessageKind.REJECTION).slots[slot]) == [""]
    client.post(f"/console/templates/rejection/retire/?category=エンジニア&stage={Stage.FINAL_INTERVIEW}",
                {"variant": "*"})
    assert slot not in template_sets.template_set(company, MessageKind.REJECTION).slots
    refused = client.post("/console/templates/rejection/retire/", {"variant": "*"}, follow=True)
    assert "既定の文面は削除できません" in refused.content.decode()
    assert client.get("/console/templates/rejection/?stage=99").status_code == 404
    assert client.get("/console/templates/verification/?stage=40").status_code == 404


def test_the_editor_previews_text_and_html_with_a_real_candidate(company, api, login):
    api.post("/api/v1/applications", application_body())
    client = login(company)
    preview = client.post("/console/templates/follow_up/preview/?step=1", {
        "subject": "{{ company_name }}", "body_text": "{{ candidate_name }}様\n{{ open_positions }}\n{{ referral_url }}"})
    page = preview.content.decode()
    assert "髙橋 𠮷子様" in page and "・バックエンドエンジニア" in page
    assert 'id="preview-html"' in page and "srcdoc=" in page and "&lt;a href=" in page
