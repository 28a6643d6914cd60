from django import forms
from django.contrib.auth.forms import AuthenticationForm
from django.utils.translation import gettext_lazy as _

from tsunagu.companies.models import Company
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
            "postal_address", "frequency_cap_days", "failure_alerts", "privacy_policy",
            "retention_days", "retention_days_without_consent", "dkim_selector", "dkim_private_key", "welcome_back_mail", "chat_webhook_url",
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
