"""The forms of the operator's desk: they check input and label it; the actions write."""

from django import forms
from django.utils.translation import gettext_lazy as _

from tsunagu.companies.forms import CompanySettingsForm
from tsunagu.companies.models import Company
from tsunagu.relay.actions.consents import MAX_VIA
from tsunagu.relay.actions.registrants import MAX_NOTE_LENGTH
from tsunagu.relay.models import ConsentKind, Contract, Registrant, RegistrantStatus

DATE_INPUT = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


class RegistrantFilterForm(forms.Form):
    """The registrant list's search and filters (a GET form: the URL can be bookmarked and exported)."""

    q = forms.CharField(label=_("検索"), required=False, max_length=200, widget=forms.TextInput(attrs={
        "type": "search", "placeholder": _("氏名・フリガナ・メールアドレス・電話番号")}))
    status = forms.ChoiceField(label=_("状態"), required=False,
                               choices=[("", _("すべての状態")), *RegistrantStatus.choices])
    company = forms.ChoiceField(label=_("紹介元企業"), required=False)
    registered_from = forms.DateField(label=_("登録日(から)"), required=False, widget=DATE_INPUT)
    registered_to = forms.DateField(label=_("登録日(まで)"), required=False, widget=DATE_INPUT)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.companies = {company.slug: company for company in Company.objects.tenants().order_by("name")}
        self.fields["company"].choices = [("", _("すべての企業")),
                                          *((slug, company.name) for slug, company in self.companies.items())]

    def clean(self):
        cleaned = super().clean()
        first, last = cleaned.get("registered_from"), cleaned.get("registered_to")
        if first and last and first > last:
            raise forms.ValidationError(_("登録日の範囲は、開始日を終了日以前にしてください。"))
        return cleaned

    def search_arguments(self) -> dict:
        data = self.cleaned_data
        return {"q": data["q"], "status": data["status"], "company": self.companies.get(data["company"]),
                "registered_from": data["registered_from"], "registered_to": data["registered_to"]}


class RegistrantProfileForm(forms.ModelForm):
    class Meta:
        model = Registrant
        fields = ["name", "name_kana", "phone", "desired_job", "desired_region"]


class WithdrawConsentsForm(forms.Form):
    """Staff withdraw a registrant's consents for a person who asked by phone or letter."""

    ALL = "all"
    kind = forms.ChoiceField(label=_("撤回する同意"), choices=[(ALL, _("すべての同意(利用停止)")),
                                                                *ConsentKind.choices])
    via = forms.CharField(label=_("撤回の経緯"), max_length=MAX_VIA - 60, widget=forms.TextInput(attrs={
        "placeholder": _("例: 2026年12月1日 本人から電話で依頼")}))

    def kinds(self) -> list[str] | None:
        kind = self.cleaned_data["kind"]
        return None if kind == self.ALL else [kind]


class NoteForm(forms.Form):
    text = forms.CharField(label=_("メモ"), max_length=MAX_NOTE_LENGTH,
                           widget=forms.Textarea(attrs={"rows": 3}))


class ContractForm(forms.ModelForm):
    class Meta:
        model = Contract
        fields = ["ratio", "fee_yen", "starts_on"]
        widgets = {"starts_on": DATE_INPUT}


class OperatorIdentityForm(CompanySettingsForm):
    """The operator's identity: who the registrants' mail comes from, under which licence. The same checks
    as a company's settings (the DKIM key is never shown back), over the operator's fields."""

    class Meta(CompanySettingsForm.Meta):
        fields = ["name", "service_name", "licence_number", "sender_name", "sender_email", "reply_to",
                  "postal_address", "signature", "privacy_policy", "retention_days", "access_log_retention_days",
                  "dkim_selector", "dkim_private_key"]
        labels = {"name": _("運営会社名(正式名称)")}
