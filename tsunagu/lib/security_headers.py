"""The Content-Security-Policy every page is served with, and Referrer-Policy for pages whose URL is a secret.

Scripts and styles come from our own static files only: no inline script (the console's behaviour is in
static/tsunagu/console.js, driven by data- attributes), no inline style element or attribute, no eval.
A template that really needs an inline script gives it `nonce="{{ request.csp_nonce }}"`.

One exception, for styles: a mail's HTML part carries its layout in style attributes (mail clients ignore
style sheets), and the console shows that HTML in a sandboxed srcdoc iframe, which inherits the page's
policy. The few fixed attribute values Tsunagu writes into mail are allowed by their hashes
('unsafe-hashes'), nothing else; a test renders a mail and checks that every attribute in it is listed.
"""

from __future__ import annotations

import base64
import hashlib

from csp.constants import NONCE, NONE, SELF
from django.conf import settings

# The style attributes of the mail HTML (messaging/rendering.py's body and footer, messaging/tracking/links.py's
# open pixel), byte for byte.
MAIL_STYLE_ATTRIBUTES = (
    "font-family:sans-serif;font-size:15px;line-height:1.8;color:#222;max-width:640px;",
    "border:none;border-top:1px solid #ccc;margin:2em 0 1em;",
    "font-size:12px;line-height:1.7;color:#666;",
    "color:#0b6e4f;",
    "display:block;width:1px;height:1px;border:0;margin:0;padding:0",
)


def source_hash(text: str) -> str:
    """The CSP hash source ('sha256-…') of an inline script, style element or attribute."""
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode() + "'"


def content_security_policy() -> dict:
    """django-csp's CONTENT_SECURITY_POLICY setting."""
    return {
        "DIRECTIVES": {
            "default-src": [SELF],
            "script-src": [SELF, NONCE],
            "style-src": [SELF, "'unsafe-hashes'", *(source_hash(value) for value in MAIL_STYLE_ATTRIBUTES)],
            # data: for the icons in the admin's and Swagger UI's style sheets.
            "img-src": [SELF, "data:"],
            "object-src": [NONE],
            "base-uri": [NONE],
            "frame-ancestors": [NONE],
            "form-action": [SELF],
        },
    }


# Not `no-referrer`: with it the browser sends `Origin: null` with the page's own form (the registration,
# consent and unsubscribe forms), which Django's CSRF check refuses, and no Referer, which it requires over
# https. `strict-origin` sends only the origin, never the path with its token, to us and to any other site.
SECRET_URL_REFERRER_POLICY = "strict-origin"


class ReferrerPolicyMiddleware:
    """`Referrer-Policy: strict-origin` on every answer under settings.TSUNAGU_SECRET_URL_PREFIXES (personal
    links: the referral landing, unsubscribing, verification and consent), so that no request from such a page
    carries the token in its Referer (not to another site, not into our own access logs); elsewhere
    SecurityMiddleware's SECURE_REFERRER_POLICY (same-origin) applies."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if request.path_info.startswith(tuple(settings.TSUNAGU_SECRET_URL_PREFIXES)):
            # A view that chose a stricter policy keeps it (the click redirect's no-referrer).
            response.headers.setdefault("Referrer-Policy", SECRET_URL_REFERRER_POLICY)
        return response
