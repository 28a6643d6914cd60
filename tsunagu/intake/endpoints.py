"""The HTTP endpoint every ATS posts its webhooks to: /hooks/<kind>/<token>.

Two doors to the same action: the Django view (used by the test client and whenever the fast path
declines), and `fast_path`, a WSGI wrapper that answers a webhook POST before Django's middleware
stack, none of which a webhook uses (sessions, locale, CSRF, auth, messages). Measured with
`python -m bench webhooks` on 2 cores, the middleware was a third of a webhook request's CPU.
"""

import json
import logging
import re

from django.db import close_old_connections
from django.http import Http404, JsonResponse
from django.http.request import HttpHeaders
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from tsunagu.intake import selectors
from tsunagu.intake.actions import deliveries

logger = logging.getLogger(__name__)

_PATH = re.compile(r"^/hooks/([a-z]+)/([A-Za-z0-9_-]+)$")
# Larger bodies go through Django, which enforces DATA_UPLOAD_MAX_MEMORY_SIZE and answers properly.
MAX_FAST_BODY = 2_500_000
# ASCII digits only (str.isdigit also takes "²", which int() refuses), and few of them.
_LENGTH = re.compile(r"[0-9]{1,9}")


@csrf_exempt
@require_POST
def receive(request, kind: str, token: str):
    connection = selectors.webhook_connection(kind, token)  # None for polled ATSs: they have no webhook
    if connection is None:
        raise Http404
    receipt = deliveries.receive_delivery(connection, request.headers, request.body)
    return JsonResponse({"detail": receipt.detail}, status=receipt.status_code)


_REASONS = {200: "OK", 400: "Bad Request", 401: "Unauthorized", 500: "Internal Server Error"}
_SECURITY = [("X-Content-Type-Options", "nosniff"), ("X-Frame-Options", "DENY")]


def fast_path(django_application):
    """Answer POST /hooks/<kind>/<token> for a known connection directly; everything else (unknown
    tokens and their 404 page, other methods, oversized or chunked bodies) goes to Django unchanged."""

    def application(environ, start_response):
        match = _PATH.match(environ.get("PATH_INFO", ""))
        length = environ.get("CONTENT_LENGTH") or ""
        if (match is None or environ.get("REQUEST_METHOD") != "POST" or not _LENGTH.fullmatch(length)
                or int(length) > MAX_FAST_BODY):
            return django_application(environ, start_response)
        close_old_connections()  # what Django does at each request's start and end
        try:
            connection = selectors.webhook_connection(match.group(1), match.group(2))
            if connection is None:
                return django_application(environ, start_response)
            body = environ["wsgi.input"].read(int(length))
            receipt = deliveries.receive_delivery(connection, HttpHeaders(environ), body)
            status, detail = receipt.status_code, receipt.detail
        except Exception:  # noqa: BLE001 - answered like Django would: a 500 the ATS retries, and a log line
            logger.exception("webhook %s failed", environ.get("PATH_INFO"))
            status, detail = 500, "internal error"
        finally:
            close_old_connections()
        payload = json.dumps({"detail": detail}).encode()
        start_response(f"{status} {_REASONS.get(status, '')}".strip(),
                       [("Content-Type", "application/json"), ("Content-Length", str(len(payload))), *_SECURITY])
        return [payload]

    return application
