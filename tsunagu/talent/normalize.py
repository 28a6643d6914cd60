"""Normalised keys for matching people across sources (NFKC, kana folding, E.164)."""

from __future__ import annotations

import re
import unicodedata

import phonenumbers

_SPACES = re.compile(r"[\s\u3000]+")
# Hiragana U+3041..U+3096 map to katakana by a fixed offset.
_HIRAGANA_TO_KATAKANA = {code: code + 0x60 for code in range(0x3041, 0x3097)}


def nfkc(text: str) -> str:
    """NFKC folds full-width letters and digits and maps 康煕部首 (Kangxi radicals) onto CJK ideographs."""
    return unicodedata.normalize("NFKC", text or "")


def clean_text(text: str) -> str:
    """User-visible text: NFC (so nothing visible changes), trimmed, inner spaces collapsed to one."""
    return _SPACES.sub(" ", unicodedata.normalize("NFC", text or "")).strip()


def name_key(name: str) -> str:
    return _SPACES.sub("", nfkc(name)).casefold()


def kana_key(kana: str) -> str:
    return _SPACES.sub("", nfkc(kana)).translate(_HIRAGANA_TO_KATAKANA)


def email_key(email: str) -> str:
    return nfkc(email).strip().lower()


def phone_e164(phone: str, region: str = "JP") -> str:
    """E.164 form of a phone number, or "" when it cannot be parsed as a possible number."""
    if not phone or not phone.strip():
        return ""
    try:
        parsed = phonenumbers.parse(nfkc(phone), region)
    except phonenumbers.NumberParseException:
        return ""
    if not phonenumbers.is_possible_number(parsed):
        return ""
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
