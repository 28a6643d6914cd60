"""Folding of kanji variants (異体字) so that 髙橋 is found as 高橋, 山﨑 as 山崎, 𠮷田 as 吉田, 渡邊 as 渡辺.

Where the table comes from (one translate table, built once per process on first use):

1. Variation selectors are removed: U+FE00–FE0F and the ideographic variation sequences U+E0100–E01EF
   (葛󠄀 and 葛 are the same code point with a different glyph request).
2. NFKC: full/half width, CJK compatibility ideographs (U+F900–FAFF, U+2F800–2FA1F such as 神 → 神) and
   Kangxi radicals.
3. OpenCC's ``t2jp`` conversion (旧字体 → 新字体, the maintained list JPShinjitaiCharactersRev of the pinned
   ``opencc`` package: 國→国 澤→沢 邊→辺 齋→斎 濱→浜 德→徳 …). It is a character-to-character dictionary,
   so it is read once by converting every CJK code point and kept as a plain mapping: no OpenCC call per name,
   no thread-safety question.
4. name_variants.tsv beside this module, for what OpenCC does not know: the IBM/NEC extension and JIS X 0213
   name variants (髙→高 﨑→崎 𠮷→吉 栁→柳 濵→浜 邉→辺 …). It was derived once from the MIT-licensed
   ``ja-itaiji`` 1.0.2 data: a character outside JIS X 0208 (but in cp932 or JIS X 0213) whose variant family
   holds exactly one JIS X 0208 character, each candidate then reviewed by hand and kept only when it is the
   same character in another form (旧字体/俗字/異体字); distinct characters that the data lists as relatives
   (琇/秀, 昱/翌, 澈/徹 …) were left out. A few well-known surname variants were added by hand (嶋→島, 冨→富,
   舘→館 …). Each line names its source. Characters that are different names stay apart: 斎藤 and 斉藤 are
   not merged (only 齋→斎 and 齊→斉).

The result of every entry is passed through the whole table again, so chains (X → 澤 → 沢) end in one step.
"""

from __future__ import annotations

import threading
import unicodedata
from pathlib import Path

_VARIANT_FILE = Path(__file__).with_name("name_variants.tsv")
# Blocks OpenCC's t2jp can touch: CJK Unified Ideographs, Extension A, B-F(+), compatibility ideographs.
_CJK_RANGES = (
    (0x3400, 0x4DC0),
    (0x4E00, 0xA000),
    (0xF900, 0xFB00),
    (0x20000, 0x2A6E0),
    (0x2A700, 0x2EBF0),
    (0x2F800, 0x2FA20),
    (0x30000, 0x31350),
)
_VARIATION_SELECTORS = [*range(0xFE00, 0xFE10), *range(0xE0100, 0xE01F0)]

_table: dict[int, str | None] | None = None
_table_lock = threading.Lock()


def fold_variants(text: str) -> str:
    """Variation selectors removed, NFKC, and every kanji variant replaced by its common form."""
    if not text:
        return ""
    table = _table if _table is not None else _build_table()
    # NFKC first (compatibility ideographs), then one str.translate over the prebuilt table.
    return unicodedata.normalize("NFKC", text).translate(table)


def variant_pairs() -> dict[str, str]:
    """The variant → common form mapping in use (for tests and for showing it)."""
    table = _table if _table is not None else _build_table()
    return {chr(code): value for code, value in table.items() if value}


def _build_table() -> dict[int, str | None]:
    global _table
    with _table_lock:
        if _table is None:
            _table = _compose(_opencc_pairs() | _file_pairs())
        return _table


def _compose(pairs: dict[str, str]) -> dict[int, str | None]:
    def final(char: str) -> str:
        seen = {char}
        while char in pairs and pairs[char] not in seen:
            char = pairs[char]
            seen.add(char)
        return char

    table: dict[int, str | None] = {code: None for code in _VARIATION_SELECTORS}
    for variant in pairs:
        common = final(variant)
        if common != variant:
            table[ord(variant)] = common
    return table


def _opencc_pairs() -> dict[str, str]:
    import opencc  # imported here: only the first fold of a process pays for it

    converter = opencc.OpenCC("t2jp")
    pairs = {}
    for start, end in _CJK_RANGES:
        for chunk in range(start, end, 4096):  # in chunks: no 94,000-string list held at once
            chars = "".join(map(chr, range(chunk, min(chunk + 4096, end))))
            converted = converter.convert("\n".join(chars)).split("\n")
            if len(converted) != len(chars):  # a multi-character entry would shift the lines: refuse
                raise RuntimeError("OpenCC t2jp is no longer a character-to-character table")
            for char, common in zip(chars, converted, strict=True):
                # NFKC already handles compatibility ideographs: keep what NFKC leaves alone.
                if common != char and len(common) == 1 and unicodedata.normalize("NFKC", char) == char:
                    pairs[char] = unicodedata.normalize("NFKC", common)
    return pairs


def _file_pairs() -> dict[str, str]:
    pairs = {}
    for line in _VARIANT_FILE.read_text(encoding="utf-8").splitlines():
        if not line or line.startswith("#"):
            continue
        variant, common, _source = line.split("\t", 2)
        pairs[variant] = common
    return pairs
