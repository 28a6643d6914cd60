from django import forms
from django.contrib.auth.forms import AuthenticationForm
from django.utils.translation import gettext_lazy as _

from tsunagu.companies.models import Company


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
            "send_window", "business_hour_start", "business_hour_end", "combine_rejections_minutes", "referral_ratio",
            "privacy_policy",
            "retention_days",
        ]
        widgets = {"signature": forms.Textarea(attrs={"rows": 3}), "privacy_policy": forms.Textarea(attrs={"rows": 3})}
