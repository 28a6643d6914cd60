from django import forms
from django.contrib.auth.forms import AuthenticationForm
from django.utils.translation import gettext_lazy as _

from tsunagu.companies.models import Company
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
            "retention_days", "dkim_selector", "dkim_private_key",
        ]
        widgets = {"signature": forms.Textarea(attrs={"rows": 3}), "privacy_policy": forms.Textarea(attrs={"rows": 3}),
                   "closed_days": forms.Textarea(attrs={"rows": 3, "placeholder": "2026-08-13〜2026-08-16"})}

    def clean_dkim_selector(self):
        selector = self.cleaned_data["dkim_selector"].strip()
        if selector:
            validate_dkim_selector(selector)
        return selector

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # The private key is a secret: never rendered back into the page; left empty, it is kept.
        key = self.fields["dkim_private_key"]
        key.widget = forms.Textarea(attrs={"rows": 4, "autocomplete": "off", "spellcheck": "false"})
        key.initial, self.initial["dkim_private_key"] = "", ""
        self._stored_key = self.instance.dkim_private_key
        if self.instance.dkim_private_key:
            key.help_text = _("登録済みです(表示しません)。替えるときだけ新しい鍵を貼り付けてください。"
                              "セレクタを空にすると署名をやめ、鍵も消します。")

    def changes(self) -> dict:
        """The fields to save: what the user changed; the never-shown key counts when it was replaced or
        cleared (its form value starts empty whatever is stored)."""
        changed = {name: self.cleaned_data[name] for name in self.changed_data}
        if self.cleaned_data.get("dkim_private_key", "") != self._stored_key:
            changed["dkim_private_key"] = self.cleaned_data["dkim_private_key"]
        else:
            changed.pop("dkim_private_key", None)
        return changed

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
