"""The person's rights over their candidate record: erasing it (and correcting it).

Erasing one candidate's personal data from the talent app's tables, keeping the rows that counts are made
of (the candidate, its applications and their history) without anything that names or reaches the person.
Called by tsunagu.privacy.actions.erasure, which erases the other apps' rows and records the erasure."""

from __future__ import annotations

from datetime import datetime

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from tsunagu.talent import normalize
from tsunagu.talent.actions.pool import refresh_pool_entries
from tsunagu.talent.models import Application, Candidate, CandidateTag, Reapplication

# Everything the console, the API or the search index could show of the person, as it is left.
_BLANK_FIELDS = {
    "name": "", "name_kana": "", "email": "", "phone": "", "name_key": "", "kana_key": "", "phone_e164": "",
    "name_fold": "", "kana_fold": "", "region_code": "", "region_text": "", "desired_job": "", "note": "",
    "search_tokens": "", "evaluation": "",
}


def anonymise_candidate(candidate: Candidate, *, now: datetime) -> dict[str, int]:
    """Blank the candidate's personal fields (in the database, and on `candidate`) and remove their tags;
    the rows changed per table. The address key becomes `erased:<id>`, unique and meaningless, so that the
    same address can come back as a new person (a new application) without meeting this row."""
    fields = {**_BLANK_FIELDS, "email_key": f"erased:{candidate.pk}", "contact_allowed": False, "erased_at": now}
    Candidate.objects.filter(pk=candidate.pk).update(**fields, updated_at=now)
    for name, value in fields.items():
        setattr(candidate, name, value)
    counts = {"talent.candidate": 1}
    counts["talent.candidatetag"] = CandidateTag.objects.filter(candidate=candidate).delete()[0]
    # HR's and the ATS's words about the applications (tags can name the person: 「田中さん紹介」).
    counts["talent.application"] = Application.objects.filter(candidate=candidate).update(tags=[], updated_at=now)
    # The re-application alert's "what matched" can quote the address or phone number.
    counts["talent.reapplication"] = Reapplication.objects.filter(candidate=candidate).update(match_detail="") + \
        Reapplication.objects.filter(previous=candidate).update(match_detail="")
    return counts


def correct_identity(candidate: Candidate, *, name: str, name_kana: str, phone: str) -> list[str]:
    """The person corrects what the company holds of their name, reading and phone (訂正の請求): the keys and
    search words follow. A ValidationError by field changes nothing; the names of the fields changed."""
    name, name_kana, phone = normalize.clean_text(name), normalize.clean_text(name_kana), (phone or "").strip()
    errors = {}
    if not name or len(name) > 200:
        errors["name"] = [_("氏名を200文字以内で入力してください。")]
    if len(name_kana) > 200:
        errors["name_kana"] = [_("フリガナは200文字以内で入力してください。")]
    if phone and (len(phone) > 50 or not normalize.phone_e164(phone)):
        errors["phone"] = [_("電話番号の形式が正しくありません。")]
    if errors:
        raise ValidationError(errors)
    values = {"name": name, "name_key": normalize.name_key(name), "name_kana": name_kana,
              "kana_key": normalize.kana_key(name_kana), "phone": phone, "phone_e164": normalize.phone_e164(phone)}
    changed = [key for key, value in values.items() if getattr(candidate, key) != value]
    if changed:
        for key in changed:
            setattr(candidate, key, values[key])
        candidate.save(update_fields=[*changed, "updated_at"])
        refresh_pool_entries(candidate.company_id, [candidate.pk])
    return [key for key in changed if not key.endswith(("_key", "_e164"))]
