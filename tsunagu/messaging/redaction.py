"""What a company is shown of its mail: everything but the candidate's personal links.

A company must never hold a candidate's personal referral link (/r/<token>) or a registration's verification
link (/r/verify/<token>): with them it could register "for" its candidates, or for people who do not exist,
and earn credits without any delivered notice (issue 10). So wherever a company sees a mail (the outbox, a
message's page with its headers, text and HTML, the captured MIME, the template preview, the REST API) the
personal link reads as a placeholder. The stored text of a sent mail is left as it was sent: it is redacted
when shown, never changed.

Two nets, so that no shape of the link gets through:
- the token of the message's own referral link, wherever it stands (a template can place `{{ referral_url }}`
  only as it is: rendering.validate_template refuses any filter or expression around it, so the token is
  always intact in the rendered text);
- any URL or path with `/r/` followed by a signed token (referral or verification, of any base URL), for
  rows from before this rule and mail of other messages quoted in a text.
Read-only.
"""

from __future__ import annotations

import re
from email import message_from_string
from email.policy import default as default_policy

from django.conf import settings
from django.utils.translation import gettext as _

from tsunagu.lib.tokens import referral_token

# A signed token after /r/ (or /r/verify/): base 62 id, then "." or ":" and the signature (and timestamp).
_PERSONAL_LINK = re.compile(r"(?:https?://[^\s<>\"'/]+)?/r/(?:verify/)?[0-9A-Za-z]+[.:][0-9A-Za-z_\-.:]+")


def placeholder_label() -> str:
    # Full-width brackets: the HTML part's linkifier stops before them, so no link to a fake path is made.
    return _("(候補者ごとのリンク)")


def placeholder_url() -> str:
    """What a company sees where the mail has the candidate's personal link."""
    return f"{settings.BASE_URL}/r/{placeholder_label()}"


def redact(text: str, message_id: int | None = None) -> str:
    """The text with every personal link (and the message's own referral token) replaced by the
    placeholder. `message_id`: the message the text belongs to, whose token is also caught bare."""
    if not text:
        return text
    url = placeholder_url()
    if message_id:
        token = referral_token(message_id)
        if token in text:
            text = text.replace(f"{settings.BASE_URL}/r/{token}", url).replace(token, placeholder_label())
    return _PERSONAL_LINK.sub(url, text)


def contains_personal_link(text: str, message_id: int | None = None) -> bool:
    """Whether the text holds a personal link (tests and checks: the redacted text must not)."""
    return redact(text, message_id) != text


def readable_mime(raw: str, message_id: int | None = None) -> str:
    """A captured MIME mail as a person reads it (headers decoded, each text part decoded), redacted. The raw
    source cannot be shown: a quoted-printable or base64 part hides the link from the redaction."""
    parsed = message_from_string(raw, policy=default_policy)
    lines = [f"{name}: {value}" for name, value in parsed.items()]
    for part in parsed.walk():
        if part.get_content_maintype() != "text":
            continue
        lines += ["", f"--- {part.get_content_type()} ---", part.get_content()]
    return redact("\n".join(lines), message_id)
