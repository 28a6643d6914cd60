from datetime import date

from django import forms
from django.contrib.auth.forms import AuthenticationForm
from django.utils.translation import gettext_lazy as _

from tsunagu.companies.models import SUBJECT_KINDS, AccessAction, Company
from tsunagu.lib.chat_webhook_urls import masked, validate_chat_webhook_url
from tsunagu.lib.dkim_signing import validate_dkim_key, validate_dkim_selector


class LoginForm(AuthenticationForm):
    username = forms.CharField(label=_("メールアドレス"), widget=forms.EmailInput(attrs={"autofocus": True,
                                                                                   "autocomplete": "email"}))

    def clean_username(self):
        return self.cleaned_data["username"].strip().lower()


class CompanySettingsForm(forms.ModelForm):
    class Meta:
        model = Company
        fields = [
            "name", "sender_name", "sender_email", "reply_to", "signature", "time_zone", "delay_minutes",
            "send_window", "business_hour_start", "business_hour_end", "closed_year_end", "closed_days",
            "combine_rejections_minutes",
            "postal_address", "frequency_cap_days", "failure_alerts", "monthly_summary_mail", "privacy_policy",
            "retention_days", "retention_days_without_consent", "access_log_retention_days", "dkim_selector",
            "dkim_private_key", "welcome_back_mail", "chat_webhook_url",
        ]
        widgets = {"signature": forms.Textarea(attrs={"rows": 3}), "privacy_policy": forms.Textarea(attrs={"rows": 3}),
                   "closed_days": forms.Textarea(attrs={"rows": 3, "placeholder": "2026-08-13〜2026-08-16"})}

    def clean_dkim_selector(self):
        selector = self.cleaned_data["dkim_selector"].strip()
        if selector:
            validate_dkim_selector(selector)
        return selector

    # Not a model field: the way to remove a saved chat webhook (whose value is never shown again).
    chat_webhook_clear = forms.BooleanField(label=_("再応募の通知先を削除する"), required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._mask_chat_webhook()
        if "access_log_retention_days" in self.fields:  # left out of a posted form: kept as it is
            self.fields["access_log_retention_days"].required = False
        # The private key is a secret: never rendered back into the page; left empty, it is kept.
        key = self.fields["dkim_private_key"]
        key.widget = forms.Textarea(attrs={"rows": 4, "autocomplete": "off", "spellcheck": "false"})
        key.initial, self.initial["dkim_private_key"] = "", ""
        self._stored_key = self.instance.dkim_private_key
        if self.instance.dkim_private_key:
            key.help_text = _("登録済みです(表示しません)。替えるときだけ新しい鍵を貼り付けてください。"
                              "セレクタを空にすると署名をやめ、鍵も消します。")

    def _mask_chat_webhook(self) -> None:
        """The chat webhook URL is a secret too (anyone holding it can post to the channel): never rendered back,
        shown masked; left empty, it is kept."""
        self._stored_hook = self.instance.chat_webhook_url
        if "chat_webhook_url" not in self.fields:  # a form over other fields (the operator's identity)
            self.fields.pop("chat_webhook_clear", None)
            return
        hook = self.fields["chat_webhook_url"]
        hook.widget = forms.URLInput(attrs={"autocomplete": "off", "spellcheck": "false",
                                            "placeholder": "https://hooks.slack.com/services/…"})
        hook.initial, self.initial["chat_webhook_url"] = "", ""
        if self._stored_hook:
            hook.help_text = _("登録済みです: %(masked)s(全体は表示しません)。替えるときだけ新しい URL を入力してください。") % {
                "masked": masked(self._stored_hook)}
        else:
            hook.help_text = _("Slack または Microsoft Teams の Incoming Webhook の URL。再応募があるとチャンネルに投稿します。")

    def changes(self) -> dict:
        """The fields to save: what the user changed; the never-shown key counts when it was replaced or
        cleared (its form value starts empty whatever is stored)."""
        changed = {name: self.cleaned_data[name] for name in self.changed_data}
        if self.cleaned_data.get("dkim_private_key", "") != self._stored_key:
            changed["dkim_private_key"] = self.cleaned_data["dkim_private_key"]
        else:
            changed.pop("dkim_private_key", None)
        changed.pop("chat_webhook_clear", None)
        if "chat_webhook_url" in self.fields and self.cleaned_data.get("chat_webhook_url", "") != self._stored_hook:
            changed["chat_webhook_url"] = self.cleaned_data["chat_webhook_url"]
        else:
            changed.pop("chat_webhook_url", None)
        return changed

    def clean_chat_webhook_url(self):
        url = self.cleaned_data["chat_webhook_url"].strip()
        if self.data.get(self.add_prefix("chat_webhook_clear")):
            return ""
        return validate_chat_webhook_url(url) if url else self._stored_hook

    def clean_access_log_retention_days(self):
        days = self.cleaned_data["access_log_retention_days"]
        return self.instance.access_log_retention_days if days is None else days

    def clean_dkim_private_key(self):
        pem = self.cleaned_data["dkim_private_key"].strip()
        if pem:
            validate_dkim_key(pem)
            return pem
        return self._stored_key

    def clean(self):
        cleaned = super().clean()
        if not cleaned.get("dkim_selector"):
            cleaned["dkim_private_key"] = ""
        elif not cleaned.get("dkim_private_key"):
            raise forms.ValidationError(_("DKIMで署名するには、セレクタと秘密鍵の両方を入力してください。"))
        return cleaned


ACCESS_LOG_FIRST_DAY = date(2000, 1, 1)
ACCESS_LOG_LAST_DAY = date(2100, 12, 31)
MAX_SUBJECT_ID = 2**63 - 1


class AccessLogFilterForm(forms.Form):
    """The access log's filters (a GET form: the URL can be bookmarked and exported). Days are the company's."""

    date_from = forms.DateField(label=_("日付(から)"), required=False,
                                widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"))
    date_to = forms.DateField(label=_("日付(まで)"), required=False,
                              widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"))
    actor = forms.CharField(label=_("操作した人"), required=False, max_length=254, widget=forms.TextInput(
        attrs={"type": "search", "placeholder": _("操作した人(メールアドレスの一部)")}))
    action = forms.ChoiceField(label=_("操作"), required=False, choices=[("", _("すべての操作")), *AccessAction.choices])
    subject_kind = forms.ChoiceField(label=_("対象の種類"), required=False)
    subject_id = forms.IntegerField(label=_("対象ID"), required=False, min_value=1, max_value=MAX_SUBJECT_ID,
                                    widget=forms.NumberInput(attrs={"placeholder": _("対象ID")}))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["subject_kind"].choices = [("", _("すべての対象")), *SUBJECT_KINDS.items()]

    def _clean_day(self, name):
        day = self.cleaned_data[name]
        if day is not None and not ACCESS_LOG_FIRST_DAY <= day <= ACCESS_LOG_LAST_DAY:
            raise forms.ValidationError(_("日付は2000年から2100年の間で指定してください。"))
        return day

    def clean_date_from(self):
        return self._clean_day("date_from")

    def clean_date_to(self):
        return self._clean_day("date_to")

    def clean(self):
        cleaned = super().clean()
        first, last = cleaned.get("date_from"), cleaned.get("date_to")
        if first and last and first > last:
            raise forms.ValidationError(_("日付の範囲は、開始日を終了日以前にしてください。"))
        return cleaned

    def problems(self) -> list[str]:
        return [f"{self.fields[name].label}: {message}" if name in self.fields else message
                for name, messages in self.errors.items() for message in messages]


class AccessExportForm(forms.Form):
    purpose = forms.CharField(label=_("出力の目的(任意)"), required=False, max_length=200)
