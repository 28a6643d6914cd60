"""How the dashboard writes its figures: rates as percentages (— without a denominator), changes with a
sign, durations in the largest sensible unit, yen with separators."""

from django import template
from django.utils.translation import gettext as _

register = template.Library()


@register.filter
def percent(value, digits=1):
    if value is None:
        return "—"
    return f"{value * 100:.{int(digits)}f}%"


@register.filter
def signed(value, is_rate=False):
    """The change from the previous period: +3, −2, ±0; rates in percentage points."""
    if value is None:
        return "—"
    if is_rate:
        points = value * 100
        return _("±0pt") if abs(points) < 0.05 else f"{points:+.1f}pt"
    if value == 0:
        return "±0"
    return f"{value:+,}" if isinstance(value, int) else f"{value:+,.1f}"


@register.filter
def duration(minutes):
    if minutes is None:
        return "—"
    minutes = int(minutes)
    if minutes < 60:
        return _("%(n)d分") % {"n": minutes}
    if minutes < 48 * 60:  # up to two days in hours: 「32時間」 reads better than 「1.3日」
        hours, rest = divmod(minutes, 60)
        return _("%(h)d時間%(m)d分") % {"h": hours, "m": rest} if rest else _("%(h)d時間") % {"h": hours}
    return _("%(d).1f日") % {"d": minutes / (24 * 60)}


@register.filter
def yen(value):
    if value is None:
        return "—"
    return _("%(amount)s円") % {"amount": f"{round(value):,}"}


@register.filter
def divide(value, by):
    return value / by if by else None
