"""lib.charts: what the SVG and its hidden table say, read back by an XML parser (the output is well-formed),
escaping, ticks, gaps, empty data and the bounds."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import pytest
from django.utils import translation
from django.utils.safestring import SafeString, mark_safe

from tsunagu.lib.charts import (
    MAX_X_LABELS,
    PALETTE,
    Series,
    bar_chart,
    format_tick,
    line_chart,
    nice_ticks,
    shorten,
    text_width,
    thinned,
)

MONTHS = [f"2026年{m}月" for m in range(1, 13)]


def parse(html: str) -> ET.Element:
    assert isinstance(html, SafeString)
    return ET.fromstring(html)


def texts(figure: ET.Element, css_class: str) -> list[str]:
    return ["".join(e.itertext()) for e in figure.iter("text") if e.get("class") == css_class]


def table(figure: ET.Element) -> list[list[str]]:
    hidden = figure.find("div/table")
    assert hidden.get("class") == "visually-hidden" and figure.find("div").get("class") == "visually-hidden"
    return [["".join(cell.itertext()) for cell in row] for row in hidden.iter("tr")]


def segments(path: ET.Element) -> list[str]:
    """The runs of a line: one per M command."""
    return [run.strip() for run in re.split(r"(?=M)", path.get("d")) if run.strip()]


def test_a_line_chart_has_a_line_per_series_a_legend_and_every_value_in_its_table():
    registered = Series("登録", list(range(12)))
    last_year = Series("前年の登録", [3] * 12, dashed=True)
    figure = parse(line_chart(MONTHS, [registered, last_year], title="月別の登録", unit="件"))

    assert figure.tag == "figure" and figure.get("class") == "chart chart-line" and figure.get("data-chart") == "line"
    svg = figure.find("svg")
    assert svg.get("width") == "100%" and svg.get("viewBox").startswith("0 0 ") and svg.get("role") == "img"
    title = svg.find("title")
    assert title.text == "月別の登録" and svg.get("aria-labelledby") == title.get("id")
    assert figure.find("figcaption").text == "月別の登録"

    paths = [g.find("path") for g in svg.iter("g") if g.get("class") == "chart-series"]
    assert len(paths) == 2
    assert [len(re.findall(r"[ML]", p.get("d"))) for p in paths] == [12, 12]
    assert paths[0].get("stroke") == PALETTE[0] and paths[0].get("stroke-dasharray") is None
    assert paths[1].get("stroke") == PALETTE[1] and paths[1].get("stroke-dasharray")
    assert len([c for c in svg.iter("circle")]) == 24

    legend = figure.find("ul")
    items = legend.findall("li")
    assert ["".join(li.itertext()) for li in items] == ["登録", "前年の登録"]
    assert items[1].get("class") == "dashed" and items[1].find("svg/line").get("stroke-dasharray")
    assert items[0].find("svg/line").get("stroke-dasharray") is None

    rows = table(figure)
    assert rows[0] == ["", "登録", "前年の登録"]
    assert rows[1] == ["2026年1月", "0件", "3件"] and rows[12] == ["2026年12月", "11件", "3件"]
    assert len(rows) == 13
    assert "style=" not in line_chart(MONTHS, [registered, last_year], title="t")  # the CSP allows none


def test_none_is_a_gap_in_the_line_and_a_lone_point_is_still_marked():
    values = [1, 2, None, 4, 5, None, 7, None, None, 10, 11, 12]
    figure = parse(line_chart(MONTHS, [Series("不採用", values)], title="t"))
    path = figure.find("svg/g/path")
    assert [len(run.split("L")) for run in segments(path)] == [2, 2, 1, 3]
    assert len(list(figure.iter("circle"))) == 8
    assert table(figure)[3] == ["2026年3月", "—"]
    assert figure.find("div/table/tbody/tr[3]/td").get("data-value") == ""

    # With many points only the lone ones get a marker (a one-point run of a path draws nothing).
    many = [None if i % 50 == 7 else 1 for i in range(200)]
    many[100:103] = [None, 5, None]
    figure = parse(line_chart([str(i) for i in range(200)], [Series("s", many)], title="t"))
    circles = list(figure.iter("circle"))
    assert len(circles) == 1 and "101 s: 5" in circles[0].find("title").text


def test_bars_grouped_and_stacked():
    steps = ["書類選考", "一次面接", "二次面接", "最終面接"]
    rejected = Series("不採用", [40, 12, None, 3])
    registered = Series("登録", [4, 0, 2, 1])
    figure = parse(bar_chart(steps, [rejected, registered], title="選考ステップ別", unit="人"))
    assert figure.get("data-chart") == "bar"
    groups = [g for g in figure.iter("g") if g.get("class") == "chart-series"]
    assert [len(g.findall("rect")) for g in groups] == [3, 4]
    first, second = groups[0].findall("rect")[0], groups[1].findall("rect")[0]
    assert float(second.get("x")) >= float(first.get("x")) + float(first.get("width")) - 0.1  # side by side
    assert float(first.get("height")) > float(second.get("height")) * 9
    assert groups[0].findall("rect")[0].find("title").text == "書類選考 不採用: 40人"
    assert [li.find("svg/rect").get("fill") for li in figure.findall("ul/li")] == list(PALETTE[:2])
    assert table(figure)[1] == ["書類選考", "40人", "4人"]

    stacked = parse(bar_chart(steps, [rejected, registered], title="t", stacked=True))
    bottom, top = (g.findall("rect")[0] for g in stacked.iter("g") if g.get("class") == "chart-series")
    assert bottom.get("x") == top.get("x")
    assert abs(float(top.get("y")) + float(top.get("height")) - float(bottom.get("y"))) < 0.11  # on top
    assert texts(stacked, "chart-tick")[-1] == "50"  # the axis reaches the tallest stack, 44


def test_a_dashed_bar_series_is_pale_with_a_dashed_outline():
    figure = parse(bar_chart(["a", "b"], [Series("今期", [1, 2]), Series("前期", [2, 1], dashed=True)], title="t"))
    rect = [g for g in figure.iter("g") if g.get("data-series") == "1"][0].find("rect")
    assert rect.get("fill-opacity") and rect.get("stroke-dasharray")


@pytest.mark.parametrize("chart", [line_chart, bar_chart])
def test_everything_passed_in_is_escaped(chart):
    nasty = '<script>alert("x")</script> & "q" \'a\''
    html = chart([nasty, "b"], [Series(nasty, [1, 2])], title=nasty, unit=nasty)
    assert "<script>" not in html
    figure = parse(html)  # would not parse if a quote broke out of an attribute
    assert figure.find("figcaption").text == nasty
    assert figure.find("svg/title").text == nasty
    assert "".join(figure.find("ul/li").itertext()) == nasty
    assert table(figure)[1][0] == nasty and table(figure)[1][1] == "1" + nasty
    assert texts(figure, "chart-x")[0].startswith('<script>alert("x")')  # shortened: it is long


def test_text_marked_safe_is_escaped_too():
    marked = mark_safe("<b>登録</b>")
    html = line_chart([marked], [Series(marked, [1])], title=marked, unit=marked)
    assert "<b>" not in html and html.count("&lt;b&gt;登録&lt;/b&gt;") >= 6


def test_nice_ticks():
    assert nice_ticks(0, 12, whole=True) == [0, 5, 10, 15]
    assert nice_ticks(0, 1234) == [0, 500, 1000, 1500]
    assert nice_ticks(0, 3, whole=True) == [0, 1, 2, 3]
    assert nice_ticks(0, 1, whole=True) == [0, 1]  # counts never step by fractions
    assert nice_ticks(0, 0.34) == [0, 0.1, 0.2, 0.3, 0.4]
    assert nice_ticks(0, 0.9) == [0, 0.2, 0.4, 0.6, 0.8, 1.0]
    assert nice_ticks(0, 0, whole=True) == [0, 1]
    assert nice_ticks(0, 0) == [0, 0.2, 0.4, 0.6, 0.8, 1.0]
    assert nice_ticks(5, 7) == [0, 2, 4, 6, 8]  # always from 0
    assert nice_ticks(-3, 7) == [-4, -2, 0, 2, 4, 6, 8]
    for high in (0.7, 3, 17, 99, 101, 4321, 98765):
        ticks = nice_ticks(0, high)
        step = ticks[1] - ticks[0]
        assert ticks[0] == 0 and ticks[-1] >= high and ticks[-2] < high and 3 <= len(ticks) <= 7
        assert re.fullmatch(r"[125]0*|0\.0*[125]", f"{step:g}"), step


def test_percent_ticks_and_values():
    rates = Series("登録率", [0.05, 0.125, None, 0.3333])
    figure = parse(line_chart(["a", "b", "c", "d"], [rates], title="t", percent=True, unit="件"))
    assert texts(figure, "chart-tick") == ["0%", "10%", "20%", "30%", "40%"]
    assert [row[1] for row in table(figure)[1:]] == ["5%", "12.5%", "—", "33.3%"]
    assert not texts(figure, "chart-unit")
    full = parse(line_chart(["a", "b"], [Series("s", [0.2, 0.95])], title="t", percent=True))
    assert texts(full, "chart-tick") == ["0%", "20%", "40%", "60%", "80%", "100%"]
    assert format_tick(0.025, 0.005, percent=True) == "2.5%"
    assert format_tick(12000, 5000, percent=False) == "12,000"


@pytest.mark.parametrize("values", [[], [None, None], "no series"], ids=["no-labels", "all-none", "no-series"])
@pytest.mark.parametrize("chart", [line_chart, bar_chart])
def test_no_data_is_said_on_a_readable_chart(chart, values):
    labels = [] if values == [] else ["a", "b"]
    series = [] if values == "no series" else [Series("s", values)]
    with translation.override("ja"):
        figure = parse(chart(labels, series, title="空"))
    assert texts(figure, "chart-empty") == ["データがありません"]
    assert texts(figure, "chart-tick") == ["0", "1"]
    assert not re.search(r"\b(nan|inf)\b", ET.tostring(figure, encoding="unicode"), re.I)


def test_all_zero_is_data_not_an_empty_chart():
    figure = parse(line_chart(["a", "b", "c"], [Series("s", [0, 0, 0])], title="t", percent=True))
    assert not texts(figure, "chart-empty")
    assert texts(figure, "chart-tick") == ["0%", "20%", "40%", "60%", "80%", "100%"]
    ys = {c.get("cy") for c in figure.iter("circle")}
    axis = [line for line in figure.iter("line") if line.get("class") == "chart-axis"][0]
    assert ys == {axis.get("y1")}  # drawn on the zero line


def test_bounds_and_mismatches_raise():
    with pytest.raises(ValueError, match="400"):
        line_chart([str(i) for i in range(401)], [], title="t")
    line_chart([str(i) for i in range(400)], [Series(str(n), [n] * 400) for n in range(8)], title="t")
    with pytest.raises(ValueError, match="8 series"):
        bar_chart(["a"], [Series(str(n), [n]) for n in range(9)], title="t")
    with pytest.raises(ValueError, match="3 values for 2 labels"):
        line_chart(["a", "b"], [Series("s", [1, 2, 3])], title="t")
    with pytest.raises(ValueError, match="finite"):
        line_chart(["a"], [Series("s", [float("nan")])], title="t")
    with pytest.raises(ValueError, match="negative"):
        bar_chart(["a"], [Series("s", [-1])], title="t", stacked=True)
    with pytest.raises(ValueError, match="height"):
        bar_chart(["a"], [Series("s", [1])], title="t", height=5000)


def test_x_labels_are_thinned_to_at_most_eight_first_and_last_always():
    weeks = [f"{m}月{d}日週" for m in range(1, 13) for d in (1, 8, 15, 22)]
    for count in (2, 3, 7, 12, 13, 48, 400):
        labels = (weeks * 9)[:count]
        for chart in (line_chart, bar_chart):
            figure = parse(chart(labels, [Series("s", [1] * count)], title="t"))
            shown = texts(figure, "chart-x")
            assert 2 <= len(shown) <= MAX_X_LABELS, (count, shown)
            assert shown[0] == labels[0] and shown[-1] == labels[-1]
    assert texts(parse(line_chart(["ひとつ"], [Series("s", [1])], title="t")), "chart-x") == ["ひとつ"]


def test_thinned_never_lets_estimated_boxes_overlap():
    centres = [10.0 * i for i in range(40)]
    chosen = thinned(centres, [25.0] * 40, view_width=400)
    assert chosen[0] == 0 and chosen[-1] == 39
    assert all(centres[b] - centres[a] >= 25 for a, b in zip(chosen, chosen[1:], strict=False))
    assert thinned(centres, [1.0] * 40, view_width=400) == [0, 5, 10, 15, 20, 25, 30, 39]


def test_text_width_errs_wide():
    assert text_width("2026年11月") == pytest.approx(6 * 0.62 + 2)
    assert text_width("100%") == pytest.approx(3 * 0.62 + 1)
    assert text_width("Mon") == pytest.approx(0.85 + 2 * 0.62) and text_width("Q1") == pytest.approx(0.72 + 0.62)


def test_a_long_label_is_shortened_on_the_axis_and_whole_in_the_table():
    long = "とても長い選考ステップの名前" * 4
    figure = parse(bar_chart([long, "b"], [Series("s", [1, 2])], title="t"))
    shown = texts(figure, "chart-x")[0]
    assert len(parse(bar_chart(["長" * 100_000], [], title="t"))) and shorten("長" * 100_000, 10) == "長" * 9 + "…"
    assert shown.endswith("…") and text_width(shown) < text_width(long)
    assert table(figure)[1][0] == long
