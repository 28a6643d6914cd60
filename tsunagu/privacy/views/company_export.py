"""The company's data export in the console (admins only): the page that says what is included, and the two
downloads, streamed as they are written (privacy/company_export_files.py)."""

from django.http import StreamingHttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from tsunagu.companies.access_log import log_console
from tsunagu.companies.console import company_view
from tsunagu.companies.models import AccessAction, Role
from tsunagu.privacy.company_export_files import EVERY_TABLE, CompanyExport

CONTENT_TYPES = {"zip": "application/zip", "json": "application/json; charset=utf-8"}

# What each table holds, for the page (one line each; the files name their columns in English).
TABLE_DESCRIPTIONS = {
    "jobs": _("求人"),
    "candidates": _("候補者(氏名、フリガナ、メールアドレス、電話番号、地域、希望職種、メモ、再連絡の可否、到達した選考ステップ、評価、"
                    "応募経路、状態、スキル・タグ、日付)"),
    "applications": _("応募(外部ID、候補者、求人、状態、選考ステップ、不採用理由、応募経路、評価、タグ、日付)"),
    "application_events": _("応募の履歴(連携元から届いた出来事)"),
    "messages": _("メール(種類、宛先、件名、状態、送信予定・送信日時、テンプレート、パターン、回、本文)。候補者ごとのリンクは伏せてあります"),
    "message_events": _("メールの出来事(配達、開封、クリックなど。種類、日時、機械によるものか)"),
    "suppressions": _("配信停止リスト"),
    "follow_up_steps": _("フォローアップの設定"),
    "message_templates": _("テンプレート(すべての版)"),
    "registrations": _("キャリア支援への登録(候補者、登録日時、クレジットの状態のみ。登録フォームの内容は含みません)"),
    "registrations_by_month": _("月ごとの登録数"),
    "ledger": _("台帳(すべての記帳)"),
    "referral_requests": _("紹介依頼"),
    "introductions": _("推薦(ご本人が同意した方のプロフィールと推薦文のみ)"),
    "referral_request_history": _("紹介依頼の履歴"),
}


@company_view(see=Role.ADMIN)
def company_export(request):
    tables = [(f"{table.name}.csv", TABLE_DESCRIPTIONS[table.name]) for table in EVERY_TABLE]
    return render(request, "privacy/company_export.html", {"tables": tables})


@company_view(see=Role.ADMIN)
def company_export_zip(request):
    return _download(request, "zip")


@company_view(see=Role.ADMIN)
def company_export_json(request):
    return _download(request, "json")


def record_export_access(request, export_format: str) -> None:
    """The access log: who exported all of the company's personal data, when, in which format."""
    log_console(request, AccessAction.EXPORT, "company", request.company.pk, detail=export_format)


def _download(request, export_format: str) -> StreamingHttpResponse:
    record_export_access(request, export_format)
    export = CompanyExport(request.company)
    chunks = export.zip_chunks() if export_format == "zip" else export.json_chunks()
    response = StreamingHttpResponse(chunks, content_type=CONTENT_TYPES[export_format])
    stamp = timezone.localtime(export.exported_at).strftime("%Y%m%d-%H%M")
    # The slug is ASCII letters, digits, - and _ only: safe in the header as it is.
    response["Content-Disposition"] = f'attachment; filename="tsunagu-{request.company.slug}-{stamp}.{export_format}"'
    response["Cache-Control"] = "no-store"
    return response
