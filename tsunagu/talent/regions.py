"""Japan's 47 prefectures by their JIS X 0401 codes, and reading a prefecture out of what people type."""

from __future__ import annotations

import re
import unicodedata

PREFECTURES: list[tuple[str, str]] = [
    ("01", "北海道"), ("02", "青森県"), ("03", "岩手県"), ("04", "宮城県"), ("05", "秋田県"), ("06", "山形県"),
    ("07", "福島県"), ("08", "茨城県"), ("09", "栃木県"), ("10", "群馬県"), ("11", "埼玉県"), ("12", "千葉県"),
    ("13", "東京都"), ("14", "神奈川県"), ("15", "新潟県"), ("16", "富山県"), ("17", "石川県"), ("18", "福井県"),
    ("19", "山梨県"), ("20", "長野県"), ("21", "岐阜県"), ("22", "静岡県"), ("23", "愛知県"), ("24", "三重県"),
    ("25", "滋賀県"), ("26", "京都府"), ("27", "大阪府"), ("28", "兵庫県"), ("29", "奈良県"), ("30", "和歌山県"),
    ("31", "鳥取県"), ("32", "島根県"), ("33", "岡山県"), ("34", "広島県"), ("35", "山口県"), ("36", "徳島県"),
    ("37", "香川県"), ("38", "愛媛県"), ("39", "高知県"), ("40", "福岡県"), ("41", "佐賀県"), ("42", "長崎県"),
    ("43", "熊本県"), ("44", "大分県"), ("45", "宮崎県"), ("46", "鹿児島県"), ("47", "沖縄県"),
]

PREFECTURE_NAMES: dict[str, str] = dict(PREFECTURES)

# Romanised names as they appear in English résumés (Tokyo, Osaka-fu, Hokkaido...).
_ROMAJI = [
    "hokkaido", "aomori", "iwate", "miyagi", "akita", "yamagata", "fukushima", "ibaraki", "tochigi", "gunma",
    "saitama", "chiba", "tokyo", "kanagawa", "niigata", "toyama", "ishikawa", "fukui", "yamanashi", "nagano",
    "gifu", "shizuoka", "aichi", "mie", "shiga", "kyoto", "osaka", "hyogo", "nara", "wakayama", "tottori",
    "shimane", "okayama", "hiroshima", "yamaguchi", "tokushima", "kagawa", "ehime", "kochi", "fukuoka", "saga",
    "nagasaki", "kumamoto", "oita", "miyazaki", "kagoshima", "okinawa",
]


def _short(name: str) -> str:
    # 東京都 -> 東京, 大阪府 -> 大阪, 神奈川県 -> 神奈川; 北海道 stays whole (道 is part of how it is called).
    return name if name == "北海道" else name[:-1]


_BY_TEXT: dict[str, str] = {}
for _code, _name in PREFECTURES:
    _BY_TEXT[_name] = _code
    _BY_TEXT[_short(_name)] = _code
    _BY_TEXT[str(int(_code))] = _code
    _BY_TEXT[_code] = _code
for _index, _romaji in enumerate(_ROMAJI, start=1):
    _BY_TEXT[_romaji] = f"{_index:02d}"
_BY_TEXT["東京都内"] = "13"

_SPACES = re.compile(r"[\s\u3000]+")
_ROMAJI_SUFFIX = re.compile(r"[- ](to|fu|ken|prefecture)$")


def region_code(text: str) -> str:
    """The JIS code of the prefecture `text` names ("13" for 東京都, 東京, Tokyo, 13 or １３), "" when it names
    none (リモート, 海外, a city)."""
    folded = _SPACES.sub(" ", unicodedata.normalize("NFKC", text or "")).strip().casefold()
    if not folded:
        return ""
    code = _BY_TEXT.get(folded.replace(" ", ""))
    if code:
        return code
    return _BY_TEXT.get(_ROMAJI_SUFFIX.sub("", folded), "")


def prefecture_name(code: str) -> str:
    """東京都 for "13"; "" for anything else."""
    return PREFECTURE_NAMES.get(code, "")
