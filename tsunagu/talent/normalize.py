"""Normalised keys for matching people across sources (NFKC, kana folding, E.164)."""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

import phonenumbers

_SPACES = re.compile(r"[\s\u3000]+")
# Hiragana U+3041..U+3096 map to katakana by a fixed offset.
_HIRAGANA_TO_KATAKANA = {code: code + 0x60 for code in range(0x3041, 0x3097)}


def nfkc(text: str) -> str:
    """NFKC folds full-width letters and digits and maps 康煕部首 (Kangxi radicals) onto CJK ideographs."""
    return unicodedata.normalize("NFKC", text or "")


@lru_cache(maxsize=8192)  # stage names, reasons, tags, job titles: an import repeats them on many rows
def clean_text(text: str) -> str:
    """User-visible text: NFC (so nothing visible changes), trimmed, inner spaces collapsed to one."""
    return _SPACES.sub(" ", unicodedata.normalize("NFC", text or "")).strip()


def name_key(name: str) -> str:
    return _SPACES.sub("", nfkc(name)).casefold()


def kana_key(kana: str) -> str:
    return _SPACES.sub("", nfkc(kana)).translate(_HIRAGANA_TO_KATAKANA)


def email_key(email: str) -> str:
    return nfkc(email).strip().lower()


# Between tags in one cell: 、 , ， / ／ ; ； | ｜ and line breaks (a tag may contain spaces and ・).
_TAG_SEPARATORS = re.compile(r"[、,，/／;；|｜\r\n]+")
MAX_TAG_LENGTH = 50


def split_tags(text: str) -> list[str]:
    """A cell such as "Python、Go／リーダー経験" as a list of tags (see clean_tags)."""
    return clean_tags(_TAG_SEPARATORS.split(text or ""))


def clean_tags(tags) -> list[str]:
    """Tags as stored: each clean_text'ed and cut at MAX_TAG_LENGTH, empty and repeated ones (compared after
    NFKC and case folding) dropped, the order kept."""
    cleaned: list[str] = []
    seen: set[str] = set()
    for tag in tags:
        tag = clean_text(tag)[:MAX_TAG_LENGTH]
        key = nfkc(tag).casefold()
        if tag and key not in seen:
            seen.add(key)
            cleaned.append(tag)
    return cleaned


# A Japanese number written the usual way: digits and single hyphens, "0" and then 9 or 10 digits not
# starting with 0, and not "010" (the international call prefix). For these phonenumbers (metadata for JP:
# national prefix "0", possible lengths 8-17) always strips the "0" and answers "+81" and the rest, as the
# test compares; it takes some 25 µs a number for it, a large part of a CSV import.
_PLAIN_DIGITS = re.compile(r"[0-9]+(?:-[0-9]+)*")
_JP_DOMESTIC = re.compile(r"0(?!10)[1-9][0-9]{8,9}")


def phone_e164(phone: str, region: str = "JP") -> str:
    """E.164 form of a phone number, or "" when it cannot be parsed as a possible number."""
    if not phone or not phone.strip():
        return ""
    text = nfkc(phone).strip()
    if region == "JP" and _PLAIN_DIGITS.fullmatch(text):
        digits = text.replace("-", "")
        if _JP_DOMESTIC.fullmatch(digits):
            return "+81" + digits[1:]
    return _phonenumbers_e164(text, region)


def _phonenumbers_e164(phone: str, region: str) -> str:
    try:
        parsed = phonenumbers.parse(phone, region)
    except phonenumbers.NumberParseException:
        return ""
    if not phonenumbers.is_possible_number(parsed):
        return ""
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
