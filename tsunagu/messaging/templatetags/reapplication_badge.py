"""`{% unread_reapplications current_company as count %}`: the nav's badge, one bounded COUNT per page."""

from django import template

from tsunagu.talent.models import Reapplication

register = template.Library()

# Counted up to this many (the badge then says "99+"): the COUNT stops there (a LIMIT in a subquery), on the
# company's rows of the (company, created_at) index.
BADGE_CAP = 100


@register.simple_tag
def unread_reapplications(company) -> str:
    if company is None or getattr(company, "pk", None) is None:
        return ""
    count = (Reapplication.objects.filter(company=company, seen_at__isnull=True)
             .order_by("-created_at")[:BADGE_CAP].count())
    if not count:
        return ""
    return "99+" if count > 99 else str(count)
