"""Console pages of the intake app: ATS connections (URL, secret, test event, mappings, deliveries; for a
polled ATS its last round and "poll now") and CSV imports (upload, past imports, one import's live progress)."""

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from tsunagu.companies import actions as company_actions
from tsunagu.companies.console import company_view
from tsunagu.companies.models import Role
from tsunagu.intake.actions import connections as connection_actions
from tsunagu.intake.actions import deliveries, polling
from tsunagu.intake.actions import imports as import_actions
from tsunagu.intake.adapters import kind_choices, pulled_kinds, pushed_kinds
from tsunagu.intake.models import AtsConnection, ImportJob, ImportStatus
from tsunagu.talent.stages import Stage

MAX_UPLOAD_BYTES = 200 * 1024 * 1024
# The connection whose webhook URL and secret the next page shows (after creation or an explicit reveal).
SESSION_REVEAL = "tsunagu_reveal_connection"


class ImportForm(forms.Form):
    file = forms.FileField(label=_("CSVファイル"),
                           help_text=_("Excel の CSV(Shift_JIS)または UTF-8。1 行目は見出し行です。"))
    dry_run = forms.BooleanField(label=_("ドライラン(検証だけして、何も変更しない)"), required=False)
    send_notices = forms.BooleanField(
        label=_("このファイルの不採用者に不採用通知を送る"), required=False,
        help_text=_("オフのとき、過去の不採用は通知を送らずにタレントプールに記録されます。"),
    )

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > MAX_UPLOAD_BYTES:
            raise forms.ValidationError(_("ファイルが大きすぎます(200MB まで)。"))
        return upload


@company_view(see=Role.VIEWER, do=Role.RECRUITER)
def imports(request):
    form = ImportForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        job = import_actions.start_import_job(
            request.company, form.cleaned_data["file"], request.user,
            dry_run=form.cleaned_data["dry_run"], send_notices=form.cleaned_data["send_notices"],
        )
        return redirect("console:import_detail", job_id=job.pk)
    jobs = ImportJob.objects.filter(company=request.company).select_related("created_by")[:50]
    return render(request, "intake/imports.html", {"form": form, "jobs": jobs})


@company_view(see=Role.VIEWER)
def import_detail(request, job_id: int):
    return render(request, "intake/import_detail.html", _progress_context(request, job_id))


@company_view(see=Role.VIEWER)
def import_progress(request, job_id: int):
    """The part of the detail page htmx polls every second while the import is queued or running."""
    return render(request, "intake/_import_progress.html", _progress_context(request, job_id))


def _progress_context(request, job_id: int) -> dict:
    job = get_object_or_404(ImportJob, company=request.company, pk=job_id)
    running = job.status in (ImportStatus.QUEUED, ImportStatus.RUNNING)
    percent = min(100, 100 * job.processed_rows // job.total_rows) if job.total_rows else 0
    return {"job": job, "running": running, "percent": percent}


# --- ATS connections -------------------------------------------------------------------------------

class ConnectionForm(forms.Form):
    kind = forms.ChoiceField(label=_("ATS"), choices=kind_choices)
    secret = forms.CharField(label=_("署名シークレット"), max_length=500, required=False,
                             help_text=_("ATSのWebhook設定に入力するものと同じ値(Leverは署名トークン、HERP Hireは不要)"))
    api_key = forms.CharField(label=_("APIキー(LeverとHERP Hire)"), max_length=500, required=False)
    api_base_url = forms.URLField(label=_("APIのベースURL(通常は空欄)"), required=False, assume_scheme="https")


class MappingForm(forms.Form):
    stage_mapping = forms.CharField(label=_("選考ステップの対応"), required=False,
                                    widget=forms.Textarea(attrs={"rows": 6}))
    reason_mapping = forms.CharField(label=_("不採用理由の対応"), required=False,
                                     widget=forms.Textarea(attrs={"rows": 6}))


@company_view(see=Role.ADMIN, do=Role.ADMIN)
def connections(request):
    form = ConnectionForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            connection = connection_actions.add_connection(request.company, **form.cleaned_data)
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            if not connection.adapter.pulled:
                # The webhook URL and secret are shown this once; later only on an explicit, recorded reveal.
                request.session[SESSION_REVEAL] = connection.pk
                company_actions.record_event(request.company, request.user, company_actions.SECRET_SHOWN_AT_CREATION,
                                             _connection_label(connection))
            if connection.adapter.pulled:
                messages.success(request, gettext("連携を追加しました。Tsunagu が定期的に応募の状態を取得します。"))
            else:
                messages.success(request, gettext("連携を追加しました。表示されたURLをATSのWebhook設定に貼り付けてください。"))
            return redirect("console:connection", connection_id=connection.pk)
    rows = AtsConnection.objects.filter(company=request.company).order_by("-created_at")
    return render(request, "intake/connections.html", {"form": form, "connections": rows})


@company_view(see=Role.ADMIN, do=Role.ADMIN)
def connection_detail(request, connection_id: int):
    connection = get_object_or_404(AtsConnection, company=request.company, pk=connection_id)
    initial = {
        "stage_mapping": "\n".join(f"{k} = {Stage(v).label}" for k, v in connection.stage_mapping.items()),
        "reason_mapping": "\n".join(f"{k} = {v}" for k, v in connection.reason_mapping.items()),
    }
    form = MappingForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            connection_actions.update_mappings(
                connection,
                stage_mapping=parse_mapping_lines(form.cleaned_data["stage_mapping"], stages=True),
                reason_mapping=parse_mapping_lines(form.cleaned_data["reason_mapping"], stages=False),
            )
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, gettext("対応表を保存しました。"))
            return redirect("console:connection", connection_id=connection.pk)
    polled = connection.adapter.pulled
    return render(request, "intake/connection_detail.html", {
        "connection": connection, "form": form, "adapter": connection.adapter,
        "revealed": request.method == "GET" and request.session.pop(SESSION_REVEAL, None) == connection.pk,
        "masked_webhook_url": connection.webhook_url.removesuffix(connection.token) + "••••••••",
        "deliveries": connection.deliveries.select_related("message")[:50],
        "stages": [stage.label for stage in Stage if stage != Stage.UNKNOWN],
        "polled": polled,
        "poll_interval": int(polling.poll_interval().total_seconds()) if polled else None,
        "waiting": polled and connection.poll_not_before and connection.poll_not_before > timezone.now(),
    })


@company_view(do=Role.ADMIN)
def connection_poll(request, connection_id: int):
    """「今すぐ取得」: a polling round for this connection, now (in the queue)."""
    connection = get_object_or_404(AtsConnection, company=request.company, pk=connection_id,
                                   kind__in=pulled_kinds())
    if polling.request_poll(connection):
        messages.success(request, gettext("取得を開始しました。数秒後にこのページを再読み込みしてください。"))
    else:
        messages.error(request, str(connection.adapter.paused_message) % {
            "time": date_format(timezone.localtime(connection.poll_not_before), "H:i")})
    return redirect("console:connection", connection_id=connection.pk)


@company_view(do=Role.ADMIN)
def connection_test(request, connection_id: int):
    connection = get_object_or_404(AtsConnection, company=request.company, pk=connection_id,
                                   kind__in=pushed_kinds())
    receipt = deliveries.send_test_event(connection)
    if receipt.status_code == 200:
        messages.success(request, gettext("テストイベントを受信し、署名を確認できました。"))
    else:
        messages.error(request, gettext("テストイベントが拒否されました: %(detail)s") % {"detail": receipt.detail})
    return redirect("console:connection", connection_id=connection.pk)


@company_view(do=Role.ADMIN)
def connection_reveal(request, connection_id: int):
    """「表示する」: the webhook URL and signing secret, shown on the next page once, and recorded (who, when,
    which connection; never the values)."""
    connection = get_object_or_404(AtsConnection, company=request.company, pk=connection_id,
                                   kind__in=pushed_kinds())
    request.session[SESSION_REVEAL] = connection.pk
    company_actions.record_event(request.company, request.user, company_actions.SECRET_REVEALED,
                                 _connection_label(connection))
    return redirect("console:connection", connection_id=connection.pk)


def _connection_label(connection: AtsConnection) -> str:
    return gettext("ATS連携 #%(id)d(%(kind)s)のWebhook URLと署名シークレット") % {
        "id": connection.pk, "kind": connection.get_kind_display()}


def parse_mapping_lines(text: str, *, stages: bool) -> dict:
    """"ATS name = Tsunagu name" per line (the console's mapping editor). Stages accept Tsunagu's stage
    labels (e.g. 最終面接) or codes; an unknown stage is refused with its line number."""
    labels = {str(stage.label): stage.value for stage in Stage} | {str(stage.value): stage.value for stage in Stage}
    mapping = {}
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        source, separator, target = line.partition("=")
        if not separator or not source.strip() or not target.strip():
            raise ValidationError(gettext("%(line)d行目: 「連携元の名前 = Tsunaguの名前」の形で書いてください。") % {"line": number})
        target = target.strip()
        if stages:
            if target not in labels:
                raise ValidationError(gettext("%(line)d行目: 不明な選考ステップです: %(name)s") % {"line": number, "name": target})
            target = labels[target]
        mapping[source.strip()] = target
    return mapping
