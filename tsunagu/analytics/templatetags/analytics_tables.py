"""Sortable column headers for the analysis tables (server-side: a link per column, no script)."""

from django import template
from django.utils.html import format_html

register = template.Library()


@register.simple_tag(takes_context=True)
def sort_link(context, column, label):
    request = context["request"]
    params = request.GET.copy()
    current, descending = context.get("sort"), context.get("descending", True)
    ascending_next = current == column and descending
    params["sort"], params["dir"] = column, "asc" if ascending_next else "desc"
    marker = ("▼" if descending else "▲") if current == column else ""
    sorted_state = ("descending" if descending else "ascending") if current == column else "none"
    return format_html('<a href="?{}" aria-sort="{}" data-sort="{}">{}{}</a>', params.urlencode(), sorted_state,
                       column, label, marker)


@register.filter
def pass_rate_of(row, stage):
    return row.pass_rate(int(stage))


@register.filter
def share_of(part, whole):
    return part / whole if whole else None
