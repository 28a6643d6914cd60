"""Links in a mail's HTML part: rewritten to tracked links, plus the open pixel; and the referral link's path."""

from __future__ import annotations

import html as html_lib
import re
from datetime import datetime
from functools import lru_cache

from django.conf import settings
from django.core.signing import b62_encode
from django.urls import reverse

from tsunagu.lib.tokens import referral_token
from tsunagu.messaging.tracking.tokens import b64, epoch, is_http_url, signature, signing_keys


def referral_path(message_id: int) -> str:
    """The path of a message's referral link (/r/<token>), which records its own clicks."""
    return reverse("relay:landing", args=[referral_token(message_id)])


# --- the HTML part --------------------------------------------------------------------------------

# Every <a ... href="http(s)://..."> (either quote), in one pass.
_HREF = re.compile(r"""(<a\s[^>]*?\bhref\s*=\s*)(["'])(https?://[^"'<>]+)\2""", re.IGNORECASE)
_BODY_END = re.compile(r"</body\s*>", re.IGNORECASE)
# Links on our own site that record by themselves (the referral link /r/) or must stay exactly as they
# are (unsubscribe, RFC 8058; the privacy policy under /privacy/: reading it is nobody's business), and
# tracked links themselves. Relative to TSUNAGU_BASE_URL; in addition, any link whose URL mentions
# "unsubscribe" is never rewritten.
UNTRACKED_PATHS = ("/r/", "/t/", "/u/", "/unsubscribe", "/privacy/")


@lru_cache(maxsize=4)
def _link_prefixes(base_url: str) -> tuple[str, str, tuple[str, ...]]:
    click = base_url + reverse("track_click", args=["T"])[:-1]
    pixel = base_url + reverse("track_open", args=["T"])[: -len("T.gif")]
    return click, pixel, tuple(base_url + path for path in UNTRACKED_PATHS)


def tracked_html(html: str, *, message_id: int, company_id: int, sent_at: datetime | None = None) -> str:
    """Rewrite the http(s) links of a mail's HTML part to click redirects and add the open pixel.

    Not rewritten: the referral link (/r/, it records its own click), unsubscribe links, links already
    tracked, and URLs too long for a token. One regular-expression pass; the signing key is cached.
    """
    click_prefix, pixel_prefix, untracked = _link_prefixes(settings.BASE_URL)
    sent = epoch(sent_at)
    head = f"{b62_encode(message_id)}.{b62_encode(company_id)}.{b62_encode(sent)}"
    key = signing_keys()[0]

    def rewrite(match: re.Match) -> str:
        raw = match.group(3)
        url = html_lib.unescape(raw) if "&" in raw else raw
        if url.startswith(untracked) or "unsubscribe" in url.lower() or not is_http_url(url):
            return match.group(0)
        value = f"{head}.{b64(url)}"
        quote = match.group(2)
        return f"{match.group(1)}{quote}{click_prefix}{value}.{signature(key, b'c', value)}{quote}"

    html = _HREF.sub(rewrite, html)
    pixel = (f'<img src="{pixel_prefix}{head}.{signature(key, b"o", head)}.gif" width="1" height="1" alt="" '
             'style="display:block;width:1px;height:1px;border:0;margin:0;padding:0">')
    ends = list(_BODY_END.finditer(html))
    if ends:
        at = ends[-1].start()
        return html[:at] + pixel + html[at:]
    return html + pixel
