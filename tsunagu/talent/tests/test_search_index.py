import sqlite3
import threading
import unicodedata

from tsunagu.talent.search_index import (
    MAX_DOCUMENT_TOKENS,
    candidate_document,
    fts_phrase,
    job_document,
    name_grams,
    query_alternatives,
    text_tokens,
    tsquery_lexeme,
)


def matches(document: str, term: str) -> bool:
    tokens = set(document.split())
    return any(set(alternative) <= tokens for alternative in query_alternatives(term))


def person(**fields) -> str:
    return candidate_document(**fields)


def test_a_name_is_found_by_its_variants_reading_and_widths():
    document = person(name="髙橋 健太", name_kana="タカハシ ケンタ")
    for term in ("高橋", "髙橋", "たかはし", "ﾀｶﾊｼ", "タカハシ", "高", "健太", "けんた", "高橋健太"):
        assert matches(document, term), term
    for term in ("佐藤", "さとう", "高田", "python"):
        assert not matches(document, term), term


def test_variant_kanji_in_stored_names_are_found_by_the_common_form():
    assert matches(person(name="山﨑 花子"), "山崎")
    assert matches(person(name="𠮷田 一郎"), "吉田")
    assert matches(person(name="渡邉 翔"), "渡辺")
    assert matches(person(name="渡辺 翔"), "渡邊")
    assert not matches(person(name="斉藤 明"), "斎藤")


def test_readings_fold_long_vowels():
    document = person(name="佐藤 優", name_kana="サトウ ユウ")
    for term in ("さとー", "サトオ", "ｻﾄｳ", "さとう", "ゆう"):
        assert matches(document, term), term
    assert matches(document, "さと")  # any part of a reading, as for names
    assert matches(person(name="大野", name_kana="オオノ"), "おーの")


def test_a_name_written_in_kana_is_also_its_reading():
    assert matches(person(name="さとう みゆき"), "サトー")


def test_free_text_is_found_by_its_words():
    document = person(name="山田", note="前職ではバックエンド開発を担当。リモートワーク希望。", skills=["Python", "AWS"])
    for term in ("バックエンド", "開発", "python", "ＰＹＴＨＯＮ", "Python", "aws", "リモート", "remote"):
        assert matches(document, term), term
    assert not matches(document, "フロントエンド")


def test_compound_words_are_found_by_their_parts():
    document = person(name="山田", desired_job="バックエンドエンジニア")
    assert matches(document, "エンジニア")
    assert matches(document, "バックエンド")
    assert matches(document, "バックエンドエンジニア")
    assert not matches(person(name="山田", desired_job="エンジニア"), "バックエンドエンジニア")


def test_language_names_with_symbols_are_kept_apart():
    cpp = person(name="Jane", skills=["C++"])
    c = person(name="Jane", skills=["C"])
    csharp = person(name="Jane", skills=["C#", "ASP.NET"])
    assert matches(cpp, "c++") and matches(cpp, "Ｃ＋＋")
    assert not matches(c, "c++")
    assert matches(csharp, "c#") and matches(csharp, ".net")
    assert not matches(cpp, "c#")


def test_past_jobs_region_and_tags_are_in_the_document():
    document = person(name="山田", job_titles=["データアナリスト"], job_categories=["マーケティング"],
                      region_text="大阪府", tags=["最終面接"])
    for term in ("アナリスト", "マーケティング", "大阪府", "最終面接"):
        assert matches(document, term), term


def test_job_document():
    document = job_document(title="バックエンドエンジニア", category="エンジニア", description="Pythonでの開発",
                            requirements="AWS経験3年以上", location="東京都")
    tokens = set(document.split())
    assert {"バックエンド", "エンジニア", "python", "開発", "aws", "東京都"} <= tokens


def test_every_token_is_letters_and_digits_only():
    document = person(
        name="ジョン・O'Brien-スミス", name_kana="ジョン・オブライエン",
        skills=["C++", "node.js", "Ｃ＃", "Go/Rust", "機械学習（ML）"],
        note="メール: taro@example.com ☎ 090-1234-5678 ＿＿ 👍 https://example.com/a_b?c=d 「引用」…",
    )
    for token in document.split():
        assert token and all(unicodedata.category(char)[0] in "LN" for char in token), token
    assert len(document.split()) == len(set(document.split()))


def test_sqlite_fts5_keeps_every_token_whole():
    document = person(name="佐々木 〆 一ヶ谷", name_kana="ササキ", skills=["C++", "Python", "Ⅳ", "①"],
                      note="バックエンド開発。リモートワーク。㐂 𠀋 𫝀 ｶﾞｰﾃﾞﾝ 2023年 ǅ ς Ωmega")
    connection = sqlite3.connect(":memory:")
    connection.execute("CREATE VIRTUAL TABLE docs USING fts5(tokens, tokenize='unicode61')")
    connection.execute("INSERT INTO docs VALUES (?)", (document,))
    for token in document.split():
        (count,) = connection.execute("SELECT count(*) FROM docs WHERE docs MATCH ?", (fts_phrase(token),)).fetchone()
        assert count == 1, token
    (count,) = connection.execute("SELECT count(*) FROM docs WHERE docs MATCH ?", (fts_phrase('a"b'),)).fetchone()
    assert count == 0


def test_quoting_for_fts5_and_tsquery():
    assert fts_phrase("高橋") == '"高橋"'
    assert fts_phrase('a"b') == '"a""b"'
    assert tsquery_lexeme("高橋") == "'高橋'"
    assert tsquery_lexeme("it's\\") == "'it''s\\\\'"


def test_name_grams():
    assert name_grams("高橋健") == ["高", "橋", "健", "高橋", "橋健"]
    assert name_grams("高") == ["高"]
    assert name_grams("") == []


def test_query_alternatives_drop_empty_and_repeated_sets():
    assert query_alternatives("") == []
    assert query_alternatives("、。・") == []
    assert query_alternatives("高") == [["高"]]
    alternatives = query_alternatives("たかはし")
    assert len(alternatives) == len({frozenset(tokens) for tokens in alternatives})
    # A word's single letters are left out when it has bigrams: every letter is inside one.
    assert ["タカ", "カハ", "ハシ"] in alternatives
    assert query_alternatives("高橋")[0] == ["高橋"]


def test_huge_input_is_cut():
    note = "Python " * 3000 + "Haskell " * 100_000
    tokens = text_tokens(note)
    assert "python" in tokens and "haskell" not in tokens  # only the first 20,000 characters are read
    document = person(name="山田", note=" ".join(f"単語{number}" for number in range(10_000)))
    assert len(document.split()) <= MAX_DOCUMENT_TOKENS


def test_tokenizing_from_many_threads_agrees():
    text = "前職ではバックエンドエンジニアとしてPythonとAWSを使った開発を担当。" * 20
    expected = text_tokens(text)
    results = []

    def tokenize():
        for _ in range(5):
            results.append(text_tokens(text))

    threads = [threading.Thread(target=tokenize) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == [expected] * 20


def test_latin_diacritics_are_dropped_so_both_databases_agree():
    document = person(name="José Müller", note="Café の運営経験")
    for term in ("jose", "José", "muller", "MÜLLER", "cafe", "café"):
        assert matches(document, term), term


def test_missing_fields_are_allowed():
    assert candidate_document() == ""
    assert candidate_document(name="山田", skills=None, tags=None, job_titles=None, job_categories=None) != ""
    assert job_document() == ""


def test_rare_kanji_in_text_are_kept_and_punctuation_dropped():
    tokens = text_tokens("𠀋の字。※ ☆「引用」！")
    assert "𠀋" in tokens and "引用" in tokens
    assert not any(token in ("。", "※", "☆", "「", "」", "！") for token in tokens)
    assert matches(person(name="山田", note="𠀋の字について"), "𠀋")
