"""The operator's work on its registrants (its candidates): their place in the pipeline, what an advisor
learns about them, and the advisors' notes. Every change names who made it; a status change leaves a note, so
the registrant's record shows how they moved through the pipeline."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from tsunagu.relay.models import Registrant, RegistrantNote, RegistrantStatus
from tsunagu.talent.normalize import clean_text, kana_key, name_key, phone_e164

MAX_NOTE_LENGTH = RegistrantNote._meta.get_field("text").max_length
# What an advisor may correct or complete after talking to the person. The e-mail address is the person's
# identity across the relay (Registrant.email_key): it is not edited here.
PROFILE_FIELDS = ("name", "name_kana", "phone", "desired_job", "desired_region")


def _author(user):
    return user if getattr(user, "is_authenticated", False) else None


def _locked(registrant: Registrant) -> Registrant:
    return Registrant.objects.select_for_update().get(pk=registrant.pk)


@transaction.atomic
def change_status(registrant: Registrant, status: str, *, user=None) -> Registrant:
    """Move the registrant along the pipeline (新規 → 面談調整中 → 面談済 → 紹介中 → 内定 → 入社, or 休止 / 退会).
    Any step may follow any other: advisors correct mistakes and people come back from a pause."""
    if status not in RegistrantStatus.values:
        raise ValidationError({"status": _("不明な状態です: %(status)s") % {"status": status}})
    registrant = _locked(registrant)
    if registrant.status == status:
        return registrant
    before = RegistrantStatus(registrant.status).label
    registrant.status = status
    registrant.save(update_fields=["status", "updated_at"])
    RegistrantNote.objects.create(registrant=registrant, author=_author(user), text=_(
        "状態を「%(before)s」から「%(after)s」に変更しました。") % {"before": before,
                                                           "after": RegistrantStatus(status).label})
    return registrant


def add_note(registrant: Registrant, text: str, *, user=None) -> RegistrantNote:
    """An advisor's note. Line breaks are kept (notes are read as written); blank notes are refused."""
    text = (text or "").replace("\r\n", "\n").strip()
    if not text:
        raise ValidationError({"text": _("メモを入力してください。")})
    if len(text) > MAX_NOTE_LENGTH:
        raise ValidationError({"text": _("メモは%(max)d文字以内で入力してください。") % {"max": MAX_NOTE_LENGTH}})
    return RegistrantNote.objects.create(registrant=registrant, author=_author(user), text=text)


@transaction.atomic
def update_profile(registrant: Registrant, *, user=None, **fields) -> Registrant:
    """Correct or complete what the person told us (name, kana, phone, desired job and region), keeping the
    search keys in step. Bad input changes nothing."""
    unknown = set(fields) - set(PROFILE_FIELDS)
    if unknown:
        raise ValidationError(_("変更できない項目です: %(fields)s") % {"fields": ", ".join(sorted(unknown))})
    registrant = _locked(registrant)
    changed = []
    for field, value in fields.items():
        value = clean_text(value)
        if getattr(registrant, field) != value:
            setattr(registrant, field, value)
            changed.append(str(Registrant._meta.get_field(field).verbose_name))
    if not changed:
        return registrant
    if "name" in fields and not registrant.name:
        raise ValidationError({"name": _("氏名を入力してください。")})
    if registrant.phone and not phone_e164(registrant.phone):
        raise ValidationError({"phone": _("電話番号の形式が正しくありません。")})
    registrant.name_key = name_key(registrant.name)[:100]
    registrant.kana_key = kana_key(registrant.name_kana)[:100]
    registrant.phone_e164 = phone_e164(registrant.phone)
    registrant.full_clean(exclude=["first_company"])
    registrant.save()
    RegistrantNote.objects.create(registrant=registrant, author=_author(user), text=_(
        "登録情報を更新しました: %(fields)s") % {"fields": "、".join(changed)})
    return registrant
