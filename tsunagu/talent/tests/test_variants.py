import threading

from tsunagu.talent.variants import _VARIANT_FILE, fold_variants, variant_pairs


def test_name_variants_outside_opencc_fold_onto_the_common_form():
    assert fold_variants("髙橋") == "高橋"
    assert fold_variants("山﨑") == "山崎"
    assert fold_variants("𠮷田") == "吉田"
    assert fold_variants("栁田 濵田 桒原 曻") == "柳田 浜田 桑原 昇"


def test_old_forms_fold_through_opencc_t2jp():
    assert fold_variants("國澤 渡邊 齋藤 濱田 德永") == "国沢 渡辺 斎藤 浜田 徳永"
    assert fold_variants("渡邉") == fold_variants("渡邊") == "渡辺"


def test_distinct_characters_used_as_different_names_stay_apart():
    assert fold_variants("斎藤") != fold_variants("斉藤")
    assert fold_variants("齋藤") == "斎藤"
    assert fold_variants("齊藤") == "斉藤"
    # Related but distinct characters listed by the source data were left out on review.
    assert fold_variants("琇") == "琇"
    assert fold_variants("昱") == "昱"


def test_variation_selectors_and_compatibility_ideographs_are_folded():
    assert fold_variants("葛\U000E0100城") == "葛城"
    assert fold_variants("辻\U000E0101") == "辻"
    assert fold_variants("\uFA1E") == fold_variants("\u7FBD")  # CJK compatibility 羽 → 羽 (NFKC)
    assert fold_variants("ＡＢＣ１２３") == "ABC123"


def test_the_table_is_large_and_maps_to_final_forms():
    pairs = variant_pairs()
    assert len(pairs) > 400  # OpenCC's table plus the reviewed file, not a hand list of five
    for variant, common in pairs.items():
        assert len(common) == 1 and common != variant
        assert fold_variants(common) == common  # one step reaches the end of a chain


def test_every_line_of_the_variant_file_names_its_source():
    for line in _VARIANT_FILE.read_text(encoding="utf-8").splitlines()[1:]:
        variant, common, source = line.split("\t")
        assert len(variant) == 1 and len(common) == 1 and source.strip()


def test_folding_from_many_threads_agrees():
    results = []

    def fold():
        results.append(fold_variants("髙橋 山﨑 𠮷田 國澤"))

    threads = [threading.Thread(target=fold) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == ["高橋 山崎 吉田 国沢"] * 8


def test_empty_text():
    assert fold_variants("") == ""
    assert fold_variants(None) == ""
