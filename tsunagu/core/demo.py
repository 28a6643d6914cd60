"""The demo company `tsunagu demo` loads: real data through the real write paths."""

from __future__ import annotations

import json
import secrets
from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from tsunagu.companies import actions as companies
from tsunagu.companies.models import Company, Role
from tsunagu.companies.selectors import company_by_slug
from tsunagu.intake.actions.events import record_application_event
from tsunagu.intake.events import IncomingApplicationEvent
from tsunagu.lib.tokens import verify_token
from tsunagu.messaging.actions import delivery, notices
from tsunagu.relay.actions import registration as relay
from tsunagu.relay.actions import review
from tsunagu.relay.models import CreditStatus
from tsunagu.talent.actions import jobs as job_actions
from tsunagu.talent.actions import pool
from tsunagu.talent.data import CandidateData, JobData

DEMO_SLUG = "demo"
DEMO_EMAIL = "admin@demo.example"
# The relay operator's desk has its own login: operator staff must set up a second factor (an authenticator
# app) at their first login, which the company's admin need not.
DEMO_OPERATOR_EMAIL = "operator@demo.example"

JOBS = [
    JobData(external_id="J-1", title="バックエンドエンジニア", category="エンジニア"),
    JobData(external_id="J-2", title="法人営業", category="営業"),
    JobData(external_id="J-3", title="プロダクトデザイナー", category="デザイン"),
]

# (name, kana, e-mail, job, stage, status, reason, days ago)
PEOPLE = [
    ("髙橋 𠮷子", "タカハシ ヨシコ", "yoshiko.takahashi@example.jp", 0, "一次面接", "rejected", "スキル不一致", 3),
    ("山﨑 太郎", "ヤマザキ タロウ", "taro.yamazaki@example.jp", 1, "書類選考", "rejected", "経験年数", 2),
    ("佐藤 花子", "サトウ ハナコ", "hanako.sato@example.jp", 2, "最終面接", "rejected", "カルチャーフィット", 5),
    ("鈴木 一郎", "スズキ イチロウ", "ichiro.suzuki@example.jp", 0, "二次面接", "active", "", 1),
    ("田中 美咲", "タナカ ミサキ", "misaki.tanaka@example.jp", 1, "内定", "hired", "", 4),
    ("伊藤 健太", "イトウ ケンタ", "kenta.ito@example.jp", 0, "書類選考", "rejected", "募集終了", 0),
    ("渡辺 さくら", "ワタナベ サクラ", "sakura.watanabe@example.jp", 2, "一次面接", "rejected", "スキル不一致", 0),
]
REGISTERED = 2  # the first two rejected candidates have registered with the relay

# Past candidates of one and two years ago (history: no notice is sent), so the talent pool has something to
# find when the open job below asks for it: (name, kana, e-mail, job, stage, reason, evaluation, days ago).
HISTORY = [
    ("齋藤 大輔", "サイトウ ダイスケ", "daisuke.saito@example.jp", 0, "最終面接", "他候補者を採用", "A", 400),
    ("渡邊 美穂", "ワタナベ ミホ", "miho.watanabe@example.jp", 0, "二次面接", "経験年数", "B", 520),
    ("小林 翔", "コバヤシ ショウ", "sho.kobayashi@example.jp", 1, "一次面接", "スキル不一致", "B", 610),
    ("加藤 由美", "カトウ ユミ", "yumi.kato@example.jp", 2, "最終面接", "他候補者を採用", "A", 700),
]
# What HR wrote about people in the pool: skills, prefecture (JIS code), note. By e-mail address.
PROFILES = {
    "yoshiko.takahashi@example.jp": (["Python", "AWS", "Django"], "13", "API設計とバックエンド開発の経験。リモート勤務希望。"),
    "daisuke.saito@example.jp": (["Python", "SQL", "AWS", "データ分析"], "14", "データ基盤の構築を3年。最終面接で高評価。"),
    "miho.watanabe@example.jp": (["Go", "Kubernetes"], "27", "インフラ寄りのバックエンドエンジニア。"),
    "sho.kobayashi@example.jp": (["法人営業", "SaaS"], "13", ""),
    "yumi.kato@example.jp": (["Figma", "UXリサーチ"], "26", "デザインシステムの運用経験。"),
}
# A position that opened today: its page ranks the pool for it.
OPEN_JOB = {"external_id": "J-4", "title": "データエンジニア", "category": "エンジニア", "location": "東京都",
            "requirements": "Python と SQL の実務経験。AWS でのデータ基盤の構築経験があれば尚可。",
            "description": "社内のデータ基盤の設計・構築・運用をお任せします。"}


DEMO_BROWSER = ("Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
                "Version/18.1 Mobile/15E148 Safari/604.1")


def _login_file():
    return settings.DATA_DIR / "demo-login.json"


def load_demo(*, only_if_new: bool = False) -> dict | None:
    existing = company_by_slug(DEMO_SLUG)
    if existing is not None or (only_if_new and Company.objects.exists()):
        return json.loads(_login_file().read_text()) if _login_file().exists() else None
    company, _key = companies.create_company(name="株式会社つなぐデモ", slug=DEMO_SLUG, delay_minutes=1,
                                             send_window="always", sender_email="recruit@demo.example")
    # The footer of every mail names the sender's address (特定電子メール法); a fictional one for the demo.
    company = companies.update_company_settings(company, postal_address="東京都千代田区丸の内1-1-1 つなぐデモビル5階")
    password = secrets.token_urlsafe(9)
    companies.create_user(email=DEMO_EMAIL, password=password, company=company, role=Role.ADMIN)
    operator_password = secrets.token_urlsafe(9)
    companies.create_user(email=DEMO_OPERATOR_EMAIL, password=operator_password, operator=True)
    now = timezone.now()
    results = []
    for index, (name, kana, email, job, stage, status, reason, days) in enumerate(PEOPLE, start=1):
        event = IncomingApplicationEvent(
            external_id=f"A-{1000 + index}",
            candidate=CandidateData(name=name, name_kana=kana, email=email, phone=f"090-0000-{1000 + index}"),
            job=JOBS[job], status=status, stage=stage, rejection_reason=reason,
            occurred_at=now - timedelta(days=days), source="demo",
        )
        results.append(record_application_event(company, event))
    for index, (name, kana, email, job, stage, reason, evaluation, days) in enumerate(HISTORY, start=1):
        record_application_event(company, IncomingApplicationEvent(
            external_id=f"H-{index}", candidate=CandidateData(name=name, name_kana=kana, email=email),
            job=JOBS[job], status="rejected", stage=stage, rejection_reason=reason, evaluation=evaluation,
            occurred_at=now - timedelta(days=days), applied_at=now - timedelta(days=days + 30), source="demo",
            notify=False))
    for candidate in company.candidates.filter(email__in=PROFILES):
        skills, region, note = PROFILES[candidate.email]
        pool.update_candidate_profile(company, candidate, skills=skills, region_code=region, note=note)
    job_actions.save_job(company, **OPEN_JOB)
    rejected = [r.application for r in results if r.application.status == "rejected"]
    # A link works only once its notice was delivered: these two go out now (the rest a minute later).
    for application in rejected[:REGISTERED]:
        notices.send_message_now(company, application.messages.get(kind="rejection").pk)
    delivery.deliver_due_messages()
    for application in rejected[:REGISTERED]:
        message = application.messages.get(kind="rejection")
        relay.record_click(message, user_agent=DEMO_BROWSER)
        request = relay.request_registration(message, relay.RegistrationForm(
            name=application.candidate.name, email=application.candidate.email, desired_job="エンジニア",
            desired_region="東京都", consent_purpose=True, consent_provision=True))
        result = relay.verify_registration(verify_token(request.pk))
        if result.registration.credit_status == CreditStatus.HELD:
            # Registered seconds after delivery (as a demo does) holds it for review: the operator approves.
            review.approve(result.registration, reason="デモ: 運営者が本人に確認済み")
    login = {"email": DEMO_EMAIL, "password": password,
             "operator_email": DEMO_OPERATOR_EMAIL, "operator_password": operator_password}
    _login_file().write_text(json.dumps(login))
    _login_file().chmod(0o600)
    return login
