"""Normalised keys for matching people across sources (NFKC, kana folding, E.164)."""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

import phonenumbers

from tsunagu.talent.variants import fold_variants  # its table is built on the first fold, not at import

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


# --- Folds for search and for recognising a person again (異体字, readings) -------------------------------

# Middle dots between parts of a foreign name (ジョン・スミス) and the fold of half-width ･.
_NAME_DOTS = str.maketrans("", "", "・·•")


def name_fold(name: str) -> str:
    """name_key with kanji variants folded (髙橋 → 高橋, see variants.py) and middle dots removed."""
    return name_key(fold_variants(name)).translate(_NAME_DOTS)


_READING_CHARS = re.compile(r"[\u3041-\u3096\u309b-\u309e\u30a1-\u30fa\u30fc-\u30fe\u31f0-\u31ff\u3099\u309a]")
_READING_ALLOWED = re.compile(r"[\u3041-\u3096\u3099-\u309e\u30a1-\u30fe\u31f0-\u31ff\s]+")


def looks_like_reading(text: str) -> bool:
    """Only kana (hiragana, katakana, half-width katakana), long-vowel marks, middle dots and spaces."""
    folded = nfkc(text)
    return bool(_READING_ALLOWED.fullmatch(folded)) and bool(_READING_CHARS.search(folded))


_VU = re.compile("ヴ([ァィゥェォ])")
_VU_ROW = {"ァ": "バ", "ィ": "ビ", "ゥ": "ブ", "ェ": "ベ", "ォ": "ボ"}
_READING_TABLE = str.maketrans(
    "ァィゥェォッャュョヮヵヶㇰㇱㇲㇳㇴㇵㇶㇷㇸㇹㇺㇻㇼㇽㇾㇿヂヅヴヰヱヲヷヸヹヺ",
    "アイウエオツヤユヨワカケクシストヌハヒフヘホムラリルレロジズブイエオバビベボ",
)
_NOT_WORD = re.compile(r"[\W_]+")
_VOWEL_OF = {
    char: vowel
    for vowel, row in (
        ("a", "アカガサザタダナハバパマヤラワ"),
        ("i", "イキギシジチニヒビピミリ"),
        ("u", "ウクグスズツヌフブプムユル"),
        ("e", "エケゲセゼテデネヘベペメレ"),
        ("o", "オコゴソゾトドノホボポモヨロ"),
    )
    for char in row
}
# A vowel that only lengthens the one before it: サトウ = サトオ = サトー, ケイ = ケー, ユウ = ユー.
_LENGTHENS = {("a", "ア"), ("i", "イ"), ("u", "ウ"), ("e", "エ"), ("e", "イ"), ("o", "オ"), ("o", "ウ")}


@lru_cache(maxsize=16384)  # the same readings repeat across a pool (サトウ, タカハシ …)
def reading_fold(kana: str) -> str:
    """A reading folded so that spellings of the same sound compare equal: katakana (from hiragana or
    half-width), small kana as large (ショウ = シヨウ), ヂ→ジ ヅ→ズ ヴァ→バ ヴ→ブ, and every long vowel written
    as ー (サトウ = サトオ = サトー = さとう, オオノ = オーノ = オウノ); spaces, middle dots and other marks removed.
    Readings only: this folds サトウ and サト differently but コウノ and コーノ the same. Each word is folded on its
    own (ﾀｶﾊｼ ｲﾁﾛｳ is タカハシ + イチロー, the イ of the given name never lengthens the シ before it)."""
    return "".join(_fold_reading_word(word) for word in _READING_WORDS.split(nfkc(kana)) if word)


# Family and given name are separate words of a reading: spaces (any width) and middle dots divide them.
_READING_WORDS = re.compile(r"[\s\u3000・･]+")


def _fold_reading_word(word: str) -> str:
    text = _NOT_WORD.sub("", kana_key(word))
    text = _VU.sub(lambda match: _VU_ROW[match.group(1)], text).translate(_READING_TABLE)
    folded = []
    previous = None  # the vowel of the last kana, None after a long mark or a non-kana
    for char in text:
        if char == "ー" or (previous, char) in _LENGTHENS:
            if folded and folded[-1] == "ー":
                continue
            folded.append("ー")
            previous = None
            continue
        folded.append(char)
        previous = _VOWEL_OF.get(char)
    return "".join(folded)
