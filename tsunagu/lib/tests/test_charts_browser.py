"""lib.charts in a real Chromium on a 390 px wide phone: charts with Japanese labels, served with the console
style sheet under the console's Content-Security-Policy, fit the width, their x labels do not overlap, their
legends can be read, and the browser reports no policy violation (no style attribute anywhere)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tsunagu.lib.charts import Series, bar_chart, line_chart

pytestmark = pytest.mark.browser

STYLESHEET = Path(__file__).resolve().parents[2] / "core" / "static" / "tsunagu" / "tsunagu.css"
ORIGIN = "http://charts.test"
PHONE_390 = {"viewport": {"width": 390, "height": 844}, "device_scale_factor": 3, "is_mobile": True,
             "has_touch": True}
RECORD_VIOLATIONS = """
window.__violations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  window.__violations.push(`${event.violatedDirective} ${event.sample}`);
});
"""
# Each chart's x labels as rectangles, and how wide the page is.
MEASURE = """
() => ({
  pageWidth: document.documentElement.scrollWidth,
  charts: [...document.querySelectorAll("figure.chart")].map((figure) => {
    const element = figure.querySelector("svg"), svg = element.getBoundingClientRect();
    const scale = element.getScreenCTM().a;
    return {
      svg: {left: svg.left, right: svg.right},
      ticks: [...figure.querySelectorAll("text.chart-tick")].map((text) => text.getBoundingClientRect().left),
      labels: [...figure.querySelectorAll("text.chart-x")].map((text) => {
        const box = text.getBoundingClientRect();
        const pixels = parseFloat(getComputedStyle(text).fontSize) * scale;
        return {text: text.textContent, left: box.left, right: box.right, pixels};
      }),
    };
  }),
})
"""


def charts() -> list[str]:
    months = [f"{2025 + (m - 1) // 12}年{(m - 1) % 12 + 1}月" for m in range(1, 25)]
    weeks = [f"{m}月{d}日週" for m in range(1, 13) for d in (1, 8, 15, 22)]
    steps = ["書類選考", "一次面接", "二次面接", "最終面接", "内定辞退"]
    return [
        line_chart(months, [
            Series("不採用", [10 + (i * 7) % 13 for i in range(24)]),
            Series("登録", [None if i % 9 == 4 else i % 5 for i in range(24)]),
            Series("前年の登録", [i % 4 for i in range(24)], dashed=True),
        ], title="月別の不採用と登録", unit="件"),
        line_chart(weeks, [Series("登録率", [(i % 10) / 9 for i in range(48)])], title="週別の登録率", percent=True),
        bar_chart(months[-6:], [Series("不採用", [120, 98, 143, 0, 77, 1050]), Series("登録", [12, 9, None, 0, 8, 99])],
                  title="月別", unit="人"),
        bar_chart(steps, [Series("不採用", [300, 120, 40, 12, 3]), Series("登録", [30, 15, 5, 2, 1])],
                  title="選考ステップ別", stacked=True),
    ]


def page_html() -> str:
    panels = "".join(f'<div class="panel">{chart}</div>' for chart in charts())
    return ('<!doctype html><html lang="ja"><head><meta charset="utf-8">'
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            f'<link rel="stylesheet" href="/tsunagu.css"></head><body><main>{panels}</main></body></html>')


def serve(route):
    """The page and the console style sheet, under the policy the console is served with (no inline style)."""
    if route.request.url.endswith("/tsunagu.css"):
        route.fulfill(body=STYLESHEET.read_text(), content_type="text/css")
        return
    route.fulfill(body=page_html(), content_type="text/html; charset=utf-8", headers={
        "Content-Security-Policy": "default-src 'self'; style-src 'self'",
    })


def assert_fitting(measured: dict, width: int, least_pixels: float):
    """No chart wider than the page, each one's x labels inside it, apart and at least `least_pixels` high."""
    assert measured["pageWidth"] <= width, measured["pageWidth"]
    assert len(measured["charts"]) == 4
    for chart in measured["charts"]:
        assert 0 <= chart["svg"]["left"] and chart["svg"]["right"] <= width, chart["svg"]
        assert min(chart["ticks"]) >= chart["svg"]["left"], chart  # the y axis's widest label fits
        labels = chart["labels"]
        assert 2 <= len(labels) <= 8, labels
        for before, after in zip(labels, labels[1:], strict=False):
            assert before["right"] <= after["left"], (before, after)
        for label in labels:
            assert chart["svg"]["left"] <= label["left"] and label["right"] <= chart["svg"]["right"], label
            assert label["pixels"] >= least_pixels, label


def test_charts_fit_a_phone_and_their_labels_do_not_overlap(new_page):
    page = new_page(PHONE_390)
    page.context.add_init_script(RECORD_VIOLATIONS)
    page.route(f"{ORIGIN}/**", serve)
    page.goto(ORIGIN + "/")
    assert page.evaluate("getComputedStyle(document.querySelector('.chart-legend')).display") == "flex"  # styled

    measured = page.evaluate(MEASURE)
    assert_fitting(measured, 390, least_pixels=9.5)  # legible: about 10 px type on this phone
    assert measured["charts"][0]["labels"][0]["text"] == "2025年1月"
    assert measured["charts"][0]["labels"][-1]["text"] == "2026年12月"

    legend = page.locator(".chart-legend li")
    assert legend.all_text_contents() == ["不採用", "登録", "前年の登録", "登録率", "不採用", "登録", "不採用", "登録"]
    for index in range(legend.count()):
        item = legend.nth(index)
        assert item.is_visible()
        box = item.bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= 390 and box["height"] >= 10
    assert page.get_by_role("table").count() == 4  # the data, for screen readers
    assert page.get_by_role("rowheader", name="2026年12月").count() == 2
    assert page.evaluate("window.__violations") == []

    # On a desktop the text gets no bigger than the layout allowed for, and the hidden tables (no longer
    # display:block there) do not lengthen the page.
    page.set_viewport_size({"width": 1280, "height": 860})
    assert_fitting(page.evaluate(MEASURE), 1280, least_pixels=12)
    bottom = page.evaluate("document.querySelector('main').getBoundingClientRect().bottom + scrollY")
    assert page.evaluate("document.documentElement.scrollHeight") <= bottom + 1
