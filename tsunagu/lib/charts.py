"""Small server-side SVG charts (lines and bars) for the console: no JavaScript, nothing fetched from elsewhere.

A chart is one <figure class="chart">: a <figcaption> with the title, an inline <svg> that scales to its
container (viewBox, width 100%), an HTML legend (it wraps on a phone, where text inside the svg could not) and
a visually hidden <table> with every value for screen readers (and tests). Colours are the Okabe–Ito palette
(told apart with every common colour-vision deficiency) as SVG presentation attributes, never style
attributes: the Content-Security-Policy allows none. Fonts come from the console style sheet (.chart).

The layout is computed for the narrowest case: a chart about 320 CSS px wide on a 390 px phone, where the
viewBox is scaled to about two thirds, so FONT_SIZE user units are about 10 px there. X labels are thinned by
their estimated width (CJK characters count one em, others ~0.62 em) so that the shown ones never overlap;
the style sheet may only make the text smaller on wider screens, which keeps that true.
"""

from __future__ import annotations

import math
import unicodedata
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import pairwise

from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext

# Okabe & Ito (2008), yellow last: it is faint on white.
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#000000", "#F0E442")
MAX_POINTS = 400
MAX_SERIES = len(PALETTE)
MAX_X_LABELS = 8
VIEW_WIDTH = 480
FONT_SIZE = 15
DASH = "6 4"
TOP, BOTTOM, RIGHT = FONT_SIZE * 2, FONT_SIZE * 1.9, 10
LABEL_GAP = FONT_SIZE * 0.6  # the least space between two x labels
MARKERS_UP_TO = 60  # line charts mark every point up to this many x values (a point alone is always marked)


@dataclass(frozen=True)
class Series:
    label: str
    values: Sequence[float | int | None]  # None = no data at that x (gap in line, no bar)
    dashed: bool = False  # e.g. the previous period drawn for comparison


def line_chart(labels: Sequence[str], series: Sequence[Series], *, title: str, unit: str = "",
               percent: bool = False, height: int = 220) -> SafeString:
    """A line per series over the x labels; None leaves a gap."""
    chart = _Chart("line", labels, series, title=title, unit=unit, percent=percent, height=height, stacked=False)
    return chart.render()


def bar_chart(labels: Sequence[str], series: Sequence[Series], *, title: str, unit: str = "",
              stacked: bool = False, height: int = 220) -> SafeString:
    """Bars side by side per x label, or one stacked bar per label (values must then be 0 or more)."""
    chart = _Chart("bar", labels, series, title=title, unit=unit, percent=False, height=height, stacked=stacked)
    return chart.render()


# --- numbers -------------------------------------------------------------------------------------------

def nice_ticks(low: float, high: float, *, whole: bool = False, target: int = 5) -> list[float]:
    """Ticks from a round number at or below min(low, 0) to one at or above max(high, 0), 1/2/5×10^n apart;
    `whole` (counts) never steps by less than 1. An empty span gets 0..1."""
    low, high = min(low, 0.0), max(high, 0.0)
    if high - low <= 0:
        high = 1.0
    raw = (high - low) / target
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 5, 10) if m * magnitude >= raw * (1 - 1e-9))
    if whole:
        step = max(step, 1)
    first, last = math.floor(low / step + 1e-9), math.ceil(high / step - 1e-9)
    return [_round(i * step, step) for i in range(first, last + 1)]


def _round(value: float, step: float) -> float:
    """value without the float noise of i * step (0.30000000000000004 -> 0.3)."""
    return round(value, max(0, -math.floor(math.log10(step))) + 2)


def format_tick(value: float, step: float, *, percent: bool) -> str:
    if percent:
        value, step = value * 100, step * 100
    decimals = max(0, -math.floor(math.log10(step))) if step else 0
    return f"{value:,.{decimals}f}" + ("%" if percent else "")


def format_value(value: float | int | None, *, unit: str, percent: bool) -> str:
    if value is None:
        return "—"
    if percent:
        return f"{value * 100:.1f}".removesuffix(".0") + "%"
    text = f"{value:,}" if isinstance(value, int) else f"{value:,.2f}".rstrip("0").rstrip(".")
    return text + unit


def text_width(text: str) -> float:
    """An estimate of the width of `text` in ems, erring wide: wide (CJK) characters and % one em, M and W
    0.85, other capitals 0.72, the rest 0.62 (a little more than the digits of the common sans-serif fonts)."""
    return sum(_char_width(c) for c in text)


def _char_width(char: str) -> float:
    if char == "%" or unicodedata.east_asian_width(char) in "WF":
        return 1.0
    return 0.85 if char in "MWmw" else 0.72 if char.isupper() else 0.62


def shorten(text: str, max_ems: float) -> str:
    text = text[:math.ceil(max_ems / 0.62) + 1]  # no character is narrower: bounds the work on a long text
    if text_width(text) <= max_ems:
        return text
    while text and text_width(text) + 1 > max_ems:
        text = text[:-1]
    return text + "…"


def thinned(centres: Sequence[float], widths: Sequence[float], *, view_width: float,
            limit: int = MAX_X_LABELS) -> list[int]:
    """The indices of the x labels to show: every k-th with the smallest k for which none overlaps (with
    LABEL_GAP between) and at most `limit` show; the first and the last always. Centres are clamped into
    the view, as the labels are drawn."""
    count = len(centres)
    if count <= 1:
        return list(range(count))
    boxes = [_label_box(c, w, view_width) for c, w in zip(centres, widths, strict=True)]
    for step in range(1, count):
        chosen = list(range(0, count, step))
        if chosen[-1] != count - 1:  # the last instead of the one before it, too close to it
            chosen = chosen[:-1] + [count - 1] if len(chosen) > 1 else [0, count - 1]
        fits = all(boxes[a][1] + LABEL_GAP <= boxes[b][0] for a, b in pairwise(chosen))
        if fits and len(chosen) <= limit:
            return chosen
    return [0, count - 1]


def _label_box(centre: float, width: float, view_width: float) -> tuple[float, float]:
    centre = _clamped(centre, width, view_width)
    return centre - width / 2, centre + width / 2


def _clamped(centre: float, width: float, view_width: float) -> float:
    return min(max(centre, width / 2 + 1), view_width - width / 2 - 1)


def _plain(value) -> str:
    """The text of `value` as a plain str: format_html then escapes it even if it was marked safe."""
    return str.__str__(str(value))


def _n(value: float) -> str:
    """A coordinate: one decimal is plenty in a 480-unit view, and keeps the markup small."""
    return f"{value:.1f}".removesuffix(".0")


# --- the chart -----------------------------------------------------------------------------------------

class _Chart:
    def __init__(self, kind, labels, series, *, title, unit, percent, height, stacked):
        labels, series = [_plain(label) for label in labels], list(series)
        if len(labels) > MAX_POINTS:
            raise ValueError(f"at most {MAX_POINTS} x values per chart (got {len(labels)}): aggregate first")
        if len(series) > MAX_SERIES:
            raise ValueError(f"at most {MAX_SERIES} series per chart (got {len(series)})")
        for one in series:
            if len(one.values) != len(labels):
                raise ValueError(f"series {one.label!r} has {len(one.values)} values for {len(labels)} labels")
            for value in one.values:
                if value is not None and not (isinstance(value, int | float) and math.isfinite(value)):
                    raise ValueError(f"series {one.label!r}: {value!r} is not a finite number")
                if stacked and value is not None and value < 0:
                    raise ValueError(f"series {one.label!r}: stacked bars take no negative value ({value})")
        if not 120 <= height <= 800:
            raise ValueError(f"height {height} is outside 120..800")
        self.kind, self.labels, self.stacked = kind, labels, stacked
        self.series = [Series(_plain(one.label), one.values, one.dashed) for one in series]
        self.title, self.unit, self.percent, self.height = _plain(title), _plain(unit), percent, height
        self.id = "chart-" + uuid.uuid4().hex[:10]
        present = [v for one in series for v in one.values if v is not None]
        self.empty = not present
        if stacked:
            sums = [sum(one.values[i] or 0 for one in series) for i in range(len(labels))]
            low, high = 0.0, max(sums, default=0.0)
        else:
            low, high = min(present, default=0.0), max(present, default=0.0)
        whole = not percent and all(isinstance(v, int) for v in present)
        self.ticks = nice_ticks(low, high, whole=whole)
        self.tick_labels = [format_tick(t, self.ticks[1] - self.ticks[0], percent=percent) for t in self.ticks]
        self.left = max(text_width(t) for t in self.tick_labels) * FONT_SIZE + FONT_SIZE * 0.8
        self.plot_width = VIEW_WIDTH - self.left - RIGHT
        self.bottom = height - BOTTOM

    def y(self, value: float) -> float:
        low, high = self.ticks[0], self.ticks[-1]
        return self.bottom - (value - low) / (high - low) * (self.bottom - TOP)

    def x(self, index: int) -> float:
        """The centre of x value `index`: lines run edge to edge, bars sit in the middle of their band."""
        count = len(self.labels)
        if self.kind == "bar":
            return self.left + (index + 0.5) * self.plot_width / count
        return self.left + (index * self.plot_width / (count - 1) if count > 1 else self.plot_width / 2)

    def render(self) -> SafeString:
        title_id = self.id + "-title"
        svg = format_html(
            '<svg class="chart-svg" viewBox="0 0 {} {}" width="100%" preserveAspectRatio="xMidYMid meet" '
            'role="img" aria-labelledby="{}" font-size="{}"><title id="{}">{}</title>{}{}{}</svg>',
            VIEW_WIDTH, self.height, title_id, FONT_SIZE, title_id, self.title,
            self._axes(), self._lines() if self.kind == "line" else self._bars(), self._x_labels(),
        )
        return format_html(
            '<figure class="chart chart-{}" data-chart="{}" id="{}"><figcaption>{}</figcaption>{}{}{}</figure>',
            self.kind, self.kind, self.id, self.title, svg, self._legend(), self._table(),
        )

    def _axes(self) -> SafeString:
        parts = []
        for tick, text in zip(self.ticks, self.tick_labels, strict=True):
            y = _n(self.y(tick))
            parts.append(format_html(
                '<line class="chart-grid" x1="{}" x2="{}" y1="{}" y2="{}" stroke="#d9e2ec"/>'
                '<text class="chart-tick" x="{}" y="{}" text-anchor="end" dominant-baseline="middle" '
                'fill="#52606d">{}</text>',
                _n(self.left), _n(VIEW_WIDTH - RIGHT), y, y, _n(self.left - FONT_SIZE * 0.4), y, text,
            ))
        zero = _n(self.y(0.0))
        parts.append(format_html(
            '<line class="chart-axis" x1="{}" x2="{}" y1="{}" y2="{}" stroke="#52606d"/>',
            _n(self.left), _n(VIEW_WIDTH - RIGHT), zero, zero,
        ))
        if self.unit and not self.percent:
            parts.append(format_html('<text class="chart-unit" x="2" y="{}" fill="#52606d">{}</text>',
                                     _n(FONT_SIZE), f"({self.unit.strip()})"))
        if self.empty:
            parts.append(format_html(
                '<text class="chart-empty" x="{}" y="{}" text-anchor="middle" fill="#52606d">{}</text>',
                _n(self.left + self.plot_width / 2), _n((TOP + self.bottom) / 2), gettext("データがありません"),
            ))
        return mark_safe("".join(parts))

    def _point_title(self, index: int, one: Series) -> str:
        value = format_value(one.values[index], unit=self.unit, percent=self.percent)
        return f"{self.labels[index]} {one.label}: {value}"

    def _lines(self) -> SafeString:
        parts = []
        for number, one in enumerate(self.series):
            colour, commands, markers = PALETTE[number], [], []
            values = one.values
            for i, value in enumerate(values):
                if value is None:
                    continue
                x, y = _n(self.x(i)), _n(self.y(value))
                joined = i > 0 and values[i - 1] is not None
                commands.append(f"{'L' if joined else 'M'}{x} {y}")
                alone = not joined and (i + 1 >= len(values) or values[i + 1] is None)
                if alone or len(values) <= MARKERS_UP_TO:
                    markers.append(format_html(
                        '<circle class="chart-point" cx="{}" cy="{}" r="3" fill="{}"><title>{}</title></circle>',
                        x, y, colour, self._point_title(i, one),
                    ))
            dash = format_html(' stroke-dasharray="{}"', DASH) if one.dashed else ""
            parts.append(format_html(
                '<g class="chart-series" data-series="{}"><path class="chart-line" d="{}" fill="none" '
                'stroke="{}" stroke-width="2.5" stroke-linejoin="round"{}/>{}</g>',
                number, " ".join(commands), colour, dash, mark_safe("".join(markers)),
            ))
        return mark_safe("".join(parts))

    def _bars(self) -> SafeString:
        count = len(self.labels)
        if not count:
            return mark_safe("")
        band = self.plot_width / count
        width = band * 0.75 if self.stacked else band * 0.8 / max(len(self.series), 1)
        parts, heights = [], [0.0] * count
        for number, one in enumerate(self.series):
            colour, rects = PALETTE[number], []
            outline = format_html(' fill-opacity="0.35" stroke="{}" stroke-dasharray="{}"', colour, DASH) \
                if one.dashed else ""
            for i, value in enumerate(one.values):
                if value is None:
                    continue
                if self.stacked:
                    base, top = heights[i], heights[i] + value
                    heights[i] = top
                    left = self.x(i) - width / 2
                else:
                    base, top = 0.0, value
                    left = self.x(i) - band * 0.4 + number * width
                y1, y2 = self.y(max(base, top)), self.y(min(base, top))
                rects.append(format_html(
                    '<rect class="chart-bar" x="{}" y="{}" width="{}" height="{}" fill="{}"{}><title>{}</title></rect>',
                    _n(left), _n(y1), _n(width), _n(y2 - y1), colour, outline, self._point_title(i, one),
                ))
            parts.append(format_html('<g class="chart-series" data-series="{}">{}</g>', number,
                                     mark_safe("".join(rects))))
        return mark_safe("".join(parts))

    def _x_labels(self) -> SafeString:
        if not self.labels:
            return mark_safe("")
        texts = [shorten(label, (VIEW_WIDTH / 2 - LABEL_GAP) / FONT_SIZE) for label in self.labels]
        widths = [text_width(t) * FONT_SIZE for t in texts]
        centres = [self.x(i) for i in range(len(texts))]
        parts = []
        for i in thinned(centres, widths, view_width=VIEW_WIDTH):
            parts.append(format_html(
                '<text class="chart-x" x="{}" y="{}" text-anchor="middle" fill="#52606d">{}</text>',
                _n(_clamped(centres[i], widths[i], VIEW_WIDTH)), _n(self.bottom + FONT_SIZE * 1.3), texts[i],
            ))
        return mark_safe("".join(parts))

    def _legend(self) -> SafeString:
        items = []
        for number, one in enumerate(self.series):
            colour = PALETTE[number]
            dash = format_html(' stroke-dasharray="{}"', DASH) if one.dashed else ""
            if self.kind == "line":
                swatch = format_html('<line x1="1" x2="23" y1="6" y2="6" stroke="{}" stroke-width="3"{}/>',
                                     colour, dash)
            else:
                opacity = mark_safe(' fill-opacity="0.35"') if one.dashed else ""
                swatch = format_html('<rect x="4" y="1" width="16" height="10" fill="{}" stroke="{}"{}{}/>',
                                     colour, colour, opacity, dash)
            items.append(format_html(
                '<li data-series="{}"{}><svg class="chart-swatch" viewBox="0 0 24 12" width="24" height="12" '
                'aria-hidden="true">{}</svg><span>{}</span></li>',
                number, mark_safe(' class="dashed"') if one.dashed else "", swatch, one.label,
            ))
        return format_html('<ul class="chart-legend">{}</ul>', mark_safe("".join(items)))

    def _table(self) -> SafeString:
        head = "".join(format_html('<th scope="col">{}</th>', one.label) for one in self.series)
        rows = []
        for i, label in enumerate(self.labels):
            cells = "".join(
                format_html('<td data-value="{}">{}</td>', "" if one.values[i] is None else one.values[i],
                            format_value(one.values[i], unit=self.unit, percent=self.percent))
                for one in self.series
            )
            rows.append(format_html('<tr><th scope="row">{}</th>{}</tr>', label, mark_safe(cells)))
        return format_html(
            # The div clips: a table is never smaller than its content, so alone it would lengthen the page.
            '<div class="visually-hidden"><table class="visually-hidden"><caption>{}</caption><thead><tr><td></td>'
            '{}</tr></thead><tbody>{}</tbody></table></div>',
            self.title, mark_safe(head), mark_safe("".join(rows)),
        )

