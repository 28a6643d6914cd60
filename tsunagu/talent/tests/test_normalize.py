from tsunagu.talent import normalize
from tsunagu.talent.stages import Stage, map_stage


def test_kangxi_radicals_fold_onto_cjk_ideographs():
    # U+2F08 KANGXI RADICAL MAN (⼈) and U+2F2D (⼭) are what some PDF/Excel exports contain instead of 人, 山.
    assert normalize.name_key("\u2f2d田 \u2f08") == normalize.name_key("山田 人")


def test_rare_kanji_are_kept_not_replaced():
    assert normalize.name_key("髙橋 𠮷子") == "髙橋𠮷子"
    assert normalize.clean_text("  髙橋\u3000\u3000𠮷子 ") == "髙橋 𠮷子"


def test_hiragana_and_halfwidth_katakana_fold_to_katakana():
    assert normalize.kana_key("たかはし よしこ") == "タカハシヨシコ"
    assert normalize.kana_key("ﾀｶﾊｼ ﾖｼｺ") == "タカハシヨシコ"


def test_email_key_folds_case_and_fullwidth():
    assert normalize.email_key(" Yoshiko@Example.JP ") == "yoshiko@example.jp"
    assert normalize.email_key("ｙｏｓｈｉｋｏ＠example.jp") == "yoshiko@example.jp"


def test_phone_numbers_become_e164():
    assert normalize.phone_e164("090-1234-5678") == "+819012345678"
    assert normalize.phone_e164("０９０（１２３４）５６７８") == "+819012345678"
    assert normalize.phone_e164("+81 3-1234-5678") == "+81312345678"
    assert normalize.phone_e164("not a phone") == ""


def test_stage_names_map_onto_tsunagu_stages():
    assert map_stage("書類選考") == Stage.DOCUMENT_SCREENING
    assert map_stage("1次面接") == Stage.FIRST_INTERVIEW
    assert map_stage("一次面接") == Stage.FIRST_INTERVIEW
    assert map_stage("２次面接") == Stage.SECOND_INTERVIEW
    assert map_stage("最終面接") == Stage.FINAL_INTERVIEW
    assert map_stage("Final Interview") == Stage.FINAL_INTERVIEW
    assert map_stage("Phone Screen") == Stage.FIRST_INTERVIEW
    assert map_stage("Offer") == Stage.OFFER
    assert map_stage("") == Stage.UNKNOWN
    assert map_stage("謎のステップ") == Stage.UNKNOWN


def test_the_fast_path_for_japanese_numbers_answers_what_phonenumbers_answers():
    # Every 3-digit prefix (the metadata's patterns are prefix-based), 10 and 11 digits, with and without hyphens,
    # and the shapes next to it (010 is the international prefix; 00 and other lengths go to phonenumbers).
    numbers = []
    for prefix in range(1000):
        digits = f"0{prefix:03d}"
        for tail in ("123456", "9876543", "00000", "55555555"):
            number = digits + tail
            numbers += [number, f"{number[:3]}-{number[3:7]}-{number[7:]}", f"{number[:2]}-{number[2:6]}-{number[6:]}"]
    for number in numbers:
        assert normalize.phone_e164(number) == normalize._phonenumbers_e164(number, "JP"), number
    assert normalize.phone_e164("080-1234-5678") == "+818012345678"
    assert normalize.phone_e164("03-1234-5678") == "+81312345678"
    assert normalize.phone_e164("010-1-212-555-0100") == normalize._phonenumbers_e164("010-1-212-555-0100", "JP")


def test_tags_are_split_on_japanese_and_ascii_separators():
    assert normalize.split_tags("Python、Go／リーダー経験, python ,,") == ["Python", "Go", "リーダー経験"]
    assert normalize.split_tags("ＵＩ|UI；営業 企画\n新卒") == ["ＵＩ", "営業 企画", "新卒"]
    assert normalize.split_tags("") == []
    assert normalize.clean_tags([" UI/UX ", "", "ui/ux", "x" * 60]) == ["UI/UX", "x" * 50]


def test_name_fold_folds_kanji_variants_spaces_case_and_dots():
    assert normalize.name_fold("髙橋 健太") == normalize.name_fold("高橋　健太") == "高橋健太"
    assert normalize.name_fold("山﨑") == "山崎"
    assert normalize.name_fold("𠮷田") == "吉田"
    assert normalize.name_fold("ジョン・スミス") == normalize.name_fold("ジョン スミス")
    assert normalize.name_fold("ＪＯＨＮ Smith") == "johnsmith"
    assert normalize.name_fold("斎藤") != normalize.name_fold("斉藤")


def test_reading_fold_folds_long_vowels_small_kana_and_scripts():
    same = {normalize.reading_fold(text) for text in ("サトウ", "サトー", "サトオ", "さとう", "ｻﾄｳ", "さとー")}
    assert same == {"サトー"}
    assert {normalize.reading_fold(text) for text in ("オオノ", "オーノ", "オウノ", "おおの")} == {"オーノ"}
    assert normalize.reading_fold("ショウコ") == normalize.reading_fold("しょーこ")
    assert normalize.reading_fold("ケイコ") == normalize.reading_fold("ケーコ")
    assert normalize.reading_fold("ちづる") == normalize.reading_fold("チズル")
    assert normalize.reading_fold("ヴァイオリン") == normalize.reading_fold("バイオリン")
    assert normalize.reading_fold("ジョン・スミス") == normalize.reading_fold("ｼﾞｮﾝ･ｽﾐｽ")
    assert normalize.reading_fold("タカハシ ケンタ") == "タカハシケンタ"
    # A vowel that is not a lengthening stays: サト and サトウ, コノ and コウノ differ.
    assert normalize.reading_fold("サト") != normalize.reading_fold("サトウ")
    assert normalize.reading_fold("コノ") != normalize.reading_fold("コウノ")
    assert normalize.reading_fold("") == ""


def test_looks_like_reading():
    for text in ("たかはし", "タカハシ ケンタ", "ﾀｶﾊｼ", "さとー", "ジョン・スミス"):
        assert normalize.looks_like_reading(text), text
    for text in ("高橋", "たか橋", "python", "", "  ", "・", "090-1234-5678"):
        assert not normalize.looks_like_reading(text), text


def test_existing_keys_are_unchanged_by_the_new_folds():
    assert normalize.name_key("髙橋 𠮷子") == "髙橋𠮷子"
    assert normalize.kana_key("サトウ") == "サトウ"


def test_a_reading_is_folded_word_by_word():
    from tsunagu.talent.normalize import reading_fold

    # The イ of the given name does not lengthen the シ of the family name before it.
    assert reading_fold("ﾀｶﾊｼ ｲﾁﾛｳ") == reading_fold("たかはし　いちろう") == "タカハシ" + reading_fold("イチロー")
    assert reading_fold("いちろう") in reading_fold("タカハシ イチロウ")
