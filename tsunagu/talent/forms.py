"""The console's talent-pool forms: a candidate's profile as HR edits it, a saved search's name, a tag."""

from __future__ import annotations

import re

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from tsunagu.talent.models import Candidate, TagKind
from tsunagu.talent.normalize import MAX_TAG_LENGTH, clean_tags
from tsunagu.talent.regions import PREFECTURES

MAX_TAGS_PER_FIELD = 50
MAX_NOTE_LENGTH = 5000
TAG_HELP = _("カンマ(,)または読点(、)で区切ります。")


# Only commas and 読点 separate what HR types: skills such as "C/C++" and "CI/CD" keep their slash.
TYPED_TAG_SEPARATORS = re.compile(r"[、,，､\r\n]+")


def split_typed_tags(text: str) -> list[str]:
    """Tags typed in one box, neither cut nor de-duplicated (so that an over-long tag can be refused rather
    than silently shortened)."""
    return [part.strip() for part in TYPED_TAG_SEPARATORS.split(text or "") if part.strip()]


class TagListField(forms.CharField):
    """Tags typed in one box, "Python、AWS, Go": a list of cleaned labels (blank and repeated ones dropped)."""

    def to_python(self, value):
        text = super().to_python(value)
        if any(len(part) > MAX_TAG_LENGTH for part in split_typed_tags(text)):
            raise ValidationError(_("タグは1つ%(max)d文字までです。") % {"max": MAX_TAG_LENGTH})
        tags = clean_tags(split_typed_tags(text))
        if len(tags) > MAX_TAGS_PER_FIELD:
            raise ValidationError(_("タグは%(max)d個までです。") % {"max": MAX_TAGS_PER_FIELD})
        return tags


class CandidateProfileForm(forms.Form):
    """What HR edits of a candidate: skills, their own tags (automatic ones are derived, not edited), region,
    desired job, note and whether the person may be contacted again."""

    skills = TagListField(label=_("スキル"), required=False, max_length=2000, help_text=TAG_HELP)
    tags = TagListField(label=_("タグ"), required=False, max_length=2000, help_text=TAG_HELP)
    region_code = forms.ChoiceField(label=_("都道府県"), required=False, choices=[])
    region_text = forms.CharField(label=_("地域(自由記述)"), required=False, max_length=100,
                                  help_text=_("リモート、海外など"))
    desired_job = forms.CharField(label=_("希望職種"), required=False, max_length=200)
    note = forms.CharField(label=_("メモ"), required=False, max_length=MAX_NOTE_LENGTH,
                           widget=forms.Textarea(attrs={"rows": 4}))
    contact_allowed = forms.BooleanField(label=_("再連絡してよい"), required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["region_code"].choices = [("", _("指定なし"))] + list(PREFECTURES)

    @classmethod
    def for_candidate(cls, candidate: Candidate) -> CandidateProfileForm:
        rows = [row for row in candidate.tag_rows.all() if not row.automatic]
        return cls(initial={
            "skills": "、".join(row.label for row in rows if row.kind == TagKind.SKILL),
            "tags": "、".join(row.label for row in rows if row.kind == TagKind.TAG),
            "region_code": candidate.region_code, "region_text": candidate.region_text,
            "desired_job": candidate.desired_job, "note": candidate.note,
            "contact_allowed": candidate.contact_allowed,
        })


class TagForm(forms.Form):
    """One tag (or skill) added to or removed from one candidate, or from the rows ticked on the pool page."""

    label = TagListField(label=_("タグ"), max_length=2000)
    kind = forms.ChoiceField(choices=TagKind.choices, required=False)
    action = forms.ChoiceField(choices=[("add", _("追加")), ("remove", _("削除"))])

    def clean_kind(self):
        return self.cleaned_data.get("kind") or TagKind.TAG

    def clean_label(self):
        labels = self.cleaned_data["label"]
        if not labels:
            raise ValidationError(_("タグを入力してください。"))
        return labels


class SavedSearchForm(forms.Form):
    name = forms.CharField(label=_("名前"), max_length=100)

    def clean_name(self):
        name = " ".join(self.cleaned_data["name"].split())
        if not name:
            raise ValidationError(_("名前を入力してください。"))
        return name
