"""Tokens of the talent pool's full-text index (Candidate.search_tokens, Job.search_tokens) and of queries.

A document is a space-separated list of unique tokens; a token holds only letters and digits (Unicode
categories L* and N*), so SQLite FTS5's unicode61 tokenizer and PostgreSQL keep it whole and both databases
see the same tokens. Three kinds of token share one document:

- name grams: every character and every pair of neighbouring characters of the folded name (name_fold:
  髙橋 → 高橋) and of the folded reading (reading_fold: たかはし, ﾀｶﾊｼ → タカハシ), so a query of one character
  (高) or any part of a name (橋健) matches without a prefix index;
- text tokens: SudachiPy normalised forms (SplitMode.C and, for compounds, the SplitMode.A parts, so
  "バックエンドエンジニア" holds バックエンド, エンジニア, バック, エンド), case-folded and variant-folded,
  without particles, auxiliaries, punctuation and spaces;
- programming language names whose symbols the tokenizers would drop are spelled out on both sides:
  c++ → cplusplus, c# → csharp, f# → fsharp, .net → dotnet.

A query word matches a document when ALL tokens of ANY of its alternatives (query_alternatives) are in it.
The text alternative of a query is made of the finest (SplitMode.A) parts only (query_tokens): a document
holds the parts of every compound, so "バックエンド開発" finds "バックエンドの開発" whatever Sudachi made of the
compound in its context.
"""

from __future__ import annotations

import hashlib
import re
import threading
import unicodedata
from functools import lru_cache

from tsunagu.talent.normalize import looks_like_reading, name_fold, reading_fold
from tsunagu.talent.variants import fold_variants

MAX_TEXT_LENGTH = 20_000  # characters of one text that are tokenised: a pasted CV cannot run for long
MAX_TOKEN_LENGTH = 64  # a longer "word" is noise (a URL, a hash), and PostgreSQL limits lexemes
MAX_DOCUMENT_TOKENS = 2_000
# Tokens of texts up to this length are cached (a few MB): skills, tags and titles repeat, notes rarely do.
_CACHED_LENGTH = 64
# Particles, auxiliaries and spaces are dropped by part of speech. Symbols (補助記号, 記号) are not: their
# punctuation is dropped by _clean as not letters, and Sudachi files rare kanji it does not know (𠀋) there.
_SKIPPED_POS = frozenset({"助詞", "助動詞", "空白"})
_LANGUAGE_SYMBOLS = (
    (re.compile(r"(?<![0-9a-z])c\s*\+\+", re.IGNORECASE), " cplusplus "),
    (re.compile(r"(?<![0-9a-z])([cf])\s*#", re.IGNORECASE), r" \1sharp "),
    (re.compile(r"\.net(?![0-9a-z])", re.IGNORECASE), " dotnet "),
)
# Latin letters with diacritics as their base letter (é → e): SQLite's unicode61 removes them by default and
# PostgreSQL does not, so the tokens carry none and both databases agree.
_LATIN_BASE = {
    code: unicodedata.normalize("NFD", chr(code))[0]
    for code in range(0x00C0, 0x0250)
    if len(unicodedata.normalize("NFD", chr(code))) > 1
}
_local = threading.local()
_dictionary = None
_dictionary_lock = threading.Lock()


def text_tokens(text: str) -> list[str]:
    """Index tokens of free text (notes, skills, job titles, descriptions), unique, in order of appearance."""
    if not text or not text.strip():
        return []
    if len(text) <= _CACHED_LENGTH:  # skills, tags, titles and categories repeat across a pool
        return list(_short_text_tokens(text))
    return _tokens(text, compound_parts=True)


def query_tokens(text: str) -> list[str]:
    """Tokens a query word must all match: the finest (SplitMode.A) parts, which every document holds for
    every compound it contains (a document keeps both the compound and its parts)."""
    if not text or not text.strip():
        return []
    return _tokens(text[:MAX_TEXT_LENGTH], compound_parts=False)


def name_grams(folded: str) -> list[str]:
    """Unigrams and bigrams of a folded name or reading (its letters and digits only), unique, in order."""
    chars = [char for char in (folded or "").translate(_LATIN_BASE) if _is_token_char(char)]
    grams = dict.fromkeys(chars)
    grams.update(dict.fromkeys(a + b for a, b in zip(chars, chars[1:], strict=False)))
    return list(grams)


def tag_token(key: str) -> str:
    """The token that stands for one tag or skill (its CandidateTag.key) in a document, whatever the tag holds
    ("C/C++", "リーダー経験"): letters and digits only. A tag filter is then one more term of the full-text
    match, intersected in the index, rather than a list of everyone with the tag built for every request."""
    return "tag" + hashlib.blake2b(key.encode(), digest_size=8).hexdigest()


def candidate_document(
    *, name="", name_kana="", skills=(), tags=(), note="", desired_job="", region_text="", job_titles=(),
    job_categories=(), tag_keys=(),
) -> str:
    """Candidate.search_tokens: name and reading grams and the tags' own tokens (tag_token) first, then skills,
    tags, wishes and past jobs, the note last (a document is cut at MAX_DOCUMENT_TOKENS)."""
    tokens = dict.fromkeys(_name_tokens(name, name_kana))
    tokens.update(dict.fromkeys(tag_token(key) for key in tag_keys if key))
    texts = (*(skills or ()), *(tags or ()), desired_job, region_text, *(job_titles or ()), *(job_categories or ()))
    for text in (*texts, note):
        tokens.update(dict.fromkeys(text_tokens(text or "")))
        if len(tokens) >= MAX_DOCUMENT_TOKENS:
            break
    return " ".join(list(tokens)[:MAX_DOCUMENT_TOKENS])


def job_document(*, title="", category="", description="", requirements="", location="") -> str:
    """Job.search_tokens: text tokens of the title, category, location, requirements and description."""
    tokens: dict[str, None] = {}
    for text in (title, category, location, requirements, description):
        tokens.update(dict.fromkeys(text_tokens(text or "")))
        if len(tokens) >= MAX_DOCUMENT_TOKENS:
            break
    return " ".join(list(tokens)[:MAX_DOCUMENT_TOKENS])


def query_alternatives(term: str) -> list[list[str]]:
    """The token sets of one word of the search box (a person matches it when all tokens of any set are in
    their document): name grams of the folded word, reading grams when it is written in kana, text tokens."""
    term = (term or "")[:200]
    folded = name_fold(term)
    alternatives = [
        # Not for words with symbols (c++, an address): their name grams would be a letter or two.
        _bigrams_only(name_grams(folded)) if all(_is_token_char(char) for char in folded) else [],
        _bigrams_only(name_grams(reading_fold(term))) if looks_like_reading(term) else [],
        query_tokens(term),
    ]
    unique: list[list[str]] = []
    seen: set[frozenset[str]] = set()
    for tokens in alternatives:
        key = frozenset(tokens)
        if tokens and key not in seen:
            seen.add(key)
            unique.append(tokens)
    return unique


def _bigrams_only(grams: list[str]) -> list[str]:
    """A word's grams without its single letters when it has a bigram: every letter is in a bigram, so they
    add nothing to the condition, and a letter (ー, ン) is held by so many people that reading its list cost
    PostgreSQL's GIN index most of a search (measured at 1,000,000 people, the GIN part of バックエンド開発:
    24 ms with them, 16 ms without)."""
    longer = [gram for gram in grams if len(gram) > 1]
    return longer or grams


def fts_phrase(token: str) -> str:
    """A token as an SQLite FTS5 string (a phrase): in double quotes, a double quote doubled."""
    return '"' + token.replace('"', '""') + '"'


def tsquery_lexeme(token: str) -> str:
    """A token as a quoted PostgreSQL tsquery lexeme: in single quotes, quotes and backslashes doubled."""
    return "'" + token.replace("\\", "\\\\").replace("'", "''") + "'"


def _name_tokens(name: str, name_kana: str) -> list[str]:
    grams = name_grams(name_fold(name or ""))
    grams += name_grams(reading_fold(name_kana or ""))
    if name and looks_like_reading(name):  # a name written in kana is also its reading
        grams += name_grams(reading_fold(name))
    return grams


@lru_cache(maxsize=16384)
def _short_text_tokens(text: str) -> tuple[str, ...]:
    return tuple(_tokens(text, compound_parts=True))


def _tokens(text: str, *, compound_parts: bool) -> list[str]:
    # Diacritics go before Sudachi too: it reads "cafe" as カフェ but "café" as a foreign word.
    text = fold_variants(text[:MAX_TEXT_LENGTH]).translate(_LATIN_BASE)
    for pattern, replacement in _LANGUAGE_SYMBOLS:
        text = pattern.sub(replacement, text)
    sudachi = _sudachi()
    tokens: dict[str, None] = {}
    for morpheme in sudachi.tokenizer.tokenize(text):
        if _skipped(morpheme.part_of_speech_id(), morpheme):
            continue
        parts = morpheme.split(sudachi.mode_a)
        if compound_parts or len(parts) <= 1:
            tokens.update(dict.fromkeys(_clean(morpheme.normalized_form())))
        if len(parts) > 1:
            for part in parts:
                tokens.update(dict.fromkeys(_clean(part.normalized_form())))
    return list(tokens)


_skipped_pos_ids: dict[int, bool] = {}  # part-of-speech id → skipped; the same answer from every thread


def _skipped(pos_id: int, morpheme) -> bool:
    skipped = _skipped_pos_ids.get(pos_id)
    if skipped is None:
        skipped = _skipped_pos_ids[pos_id] = morpheme.part_of_speech()[0] in _SKIPPED_POS
    return skipped


_NON_TOKEN = re.compile(r"[^\w]|_")


@lru_cache(maxsize=32768)  # normalised forms are a vocabulary: they repeat across every document
def _clean(form: str) -> tuple[str, ...]:
    """A normalised form as tokens: NFKC, case-folded, variant-folded, split on anything but letters/digits."""
    form = fold_variants(form).casefold().translate(_LATIN_BASE)
    pieces = []
    for piece in _NON_TOKEN.split(form):
        piece = "".join(char for char in piece if _is_token_char(char))[:MAX_TOKEN_LENGTH]
        if piece:
            pieces.append(piece)
    return tuple(pieces)


def _is_token_char(char: str) -> bool:
    return unicodedata.category(char)[0] in "LN"


class _Sudachi:
    """One thread's Sudachi tokenizer (a tokenizer is not thread-safe)."""

    def __init__(self):
        from sudachipy import SplitMode

        self.mode_a = SplitMode.A
        self.tokenizer = _sudachi_dictionary().tokenizer(mode=SplitMode.C)


def _sudachi() -> _Sudachi:
    """This thread's tokenizer, made on first use; the dictionary behind all of them is loaded once per
    process (about 0.2 s)."""
    sudachi = getattr(_local, "sudachi", None)
    if sudachi is None:
        sudachi = _local.sudachi = _Sudachi()
    return sudachi


def _sudachi_dictionary():
    global _dictionary
    with _dictionary_lock:
        if _dictionary is None:
            from sudachipy import Dictionary

            _dictionary = Dictionary(dict="core")
        return _dictionary
