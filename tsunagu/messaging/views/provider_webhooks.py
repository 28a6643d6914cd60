"""The providers' event webhooks: django-anymail's views, each checking what its provider signs.

Mounted under /mail/events/ (see messaging/urls.py; the paths are anymail's own, `<provider>/tracking/`). Every
request must carry the basic-auth secret in its URL (ANYMAIL["WEBHOOK_SECRET"], see config) and, where the
provider signs its posts, a valid signature:

- SendGrid: the signed event webhook (ECDSA over timestamp + body) when its verification key is configured
  (sendgrid://KEY?webhook_key=...), checked by anymail;
- Mailgun: HMAC-SHA256 of timestamp + token with the webhook signing key, checked by anymail;
- Postmark: basic auth is the protection Postmark offers;
- Amazon SES: anymail checks the SNS headers; Tsunagu also verifies the SNS message signature (below),
  which anymail does not, and optionally that the topic is one of ours.

A bad secret or signature is answered 400 (401 to SNS's first request without credentials, as SNS needs)
and records nothing. A provider whose credentials are not configured answers 404.
"""

from __future__ import annotations

import base64
import logging
import re
import threading
from datetime import UTC, datetime

from anymail.exceptions import AnymailAPIError, AnymailConfigurationError, AnymailWebhookValidationFailure
from anymail.webhooks.amazon_ses import AmazonSESTrackingWebhookView
from anymail.webhooks.base import AnymailBasicAuthMixin
from anymail.webhooks.mailgun import MailgunTrackingWebhookView
from anymail.webhooks.postmark import PostmarkTrackingWebhookView
from anymail.webhooks.sendgrid import SendGridTrackingWebhookView
from django.conf import settings
from django.http import Http404, JsonResponse
from django.http.multipartparser import MultiPartParserError

from tsunagu.lib import strict_json
from tsunagu.messaging.provider_events import malformed

logger = logging.getLogger(__name__)

# What anymail's checks and readers raise on a post no provider sends (they index fields without checking
# their types, decode as they go, read numbers as times): the post is malformed, answered 400.
MALFORMED = (AnymailAPIError, AnymailConfigurationError, AttributeError, IndexError, KeyError, OverflowError,
             RecursionError, TypeError, UnicodeError, ValueError)


class RefuseMalformedMixin:
    """Every post that is not what the provider sends is a 400 with its reason, and records nothing: the
    shared secret is checked before anything else is read, the body is JSON within strict_json's limits,
    and every event is read and checked (provider_events.malformed) before the first is recorded."""

    def posts_json(self, request) -> bool:
        return True

    def dispatch(self, request, *args, **kwargs):
        try:
            return super().dispatch(request, *args, **kwargs)
        except AnymailWebhookValidationFailure as exc:
            logger.warning("%s event webhook refused: %s", self.esp_name, exc)
            return JsonResponse({"detail": str(exc)}, status=400)

    def run_validators(self, request):
        AnymailBasicAuthMixin.validate_request(self, request)
        if self.posts_json(request):
            try:
                strict_json.loads(request.body)
            except strict_json.MalformedJSON as exc:
                raise AnymailWebhookValidationFailure(f"malformed JSON: {exc}") from None
        else:
            try:
                request.POST  # noqa: B018 - parsed here, where a malformed form is answered with its reason
            except MultiPartParserError as exc:
                raise AnymailWebhookValidationFailure(f"malformed form post: {exc}") from None
        try:
            super().run_validators(request)
        except MALFORMED as exc:
            raise AnymailWebhookValidationFailure(f"malformed {self.esp_name} post ({type(exc).__name__})") from None

    def parse_events(self, request):
        try:
            events = super().parse_events(request)
        except AnymailWebhookValidationFailure:
            raise
        except (*MALFORMED, OSError) as exc:  # OSError: a timestamp no platform can represent
            raise AnymailWebhookValidationFailure(
                f"malformed {self.esp_name} event ({type(exc).__name__}: {str(exc)[:200]})") from None
        for event in events:
            problem = malformed(event)
            if problem:
                raise AnymailWebhookValidationFailure(f"malformed {self.esp_name} event: {problem}")
        return events


class ConfiguredOnlyMixin:
    """Answer 404, not a server error, when the provider's credentials are not configured (anymail refuses
    to make its view without, e.g., Mailgun's signing key)."""

    def __init__(self, **kwargs):
        try:
            super().__init__(**kwargs)
        except AnymailConfigurationError as exc:
            self.not_configured = str(exc)
        else:
            self.not_configured = ""

    def dispatch(self, request, *args, **kwargs):
        if self.not_configured:
            logger.warning("%s event webhook called, but it is not configured: %s", self.esp_name,
                           self.not_configured)
            raise Http404("not configured")
        return super().dispatch(request, *args, **kwargs)


class SendGridEventsView(RefuseMalformedMixin, ConfiguredOnlyMixin, SendGridTrackingWebhookView):
    pass


class PostmarkEventsView(RefuseMalformedMixin, ConfiguredOnlyMixin, PostmarkTrackingWebhookView):
    pass


class MailgunEventsView(RefuseMalformedMixin, ConfiguredOnlyMixin, MailgunTrackingWebhookView):
    def posts_json(self, request) -> bool:
        return request.content_type == "application/json"  # else Mailgun's legacy form posts


class AmazonSESEventsView(RefuseMalformedMixin, ConfiguredOnlyMixin, AmazonSESTrackingWebhookView):
    def run_validators(self, request):
        super().run_validators(request)  # basic auth, the body, and the SNS headers first
        verify_sns_message(self._parse_sns_message(request))

    @staticmethod
    def _parse_sns_message(request):
        """anymail's, with strict_json's limits: a body that is not one JSON object is a 400 (anymail's own
        raises AnymailAPIError, a 500)."""
        if not hasattr(request, "_sns_message"):
            try:
                message = strict_json.loads(request.body)
            except strict_json.MalformedJSON as exc:
                raise AnymailWebhookValidationFailure(f"malformed SNS message: {exc}") from None
            if not isinstance(message, dict):
                raise AnymailWebhookValidationFailure("malformed SNS message: not a JSON object")
            request._sns_message = message
        return request._sns_message


# --- Amazon SNS message signatures --------------------------------------------------------------------
# https://docs.aws.amazon.com/sns/latest/dg/sns-verify-signature-of-message.html

SNS_SIGNED_FIELDS = {
    "Notification": ("Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type"),
    "SubscriptionConfirmation": ("Message", "MessageId", "SubscribeURL", "Timestamp", "Token", "TopicArn", "Type"),
    "UnsubscribeConfirmation": ("Message", "MessageId", "SubscribeURL", "Timestamp", "Token", "TopicArn", "Type"),
}
# Only certificates that SNS itself serves, over HTTPS. (The tests point this at a local server.)
SNS_CERT_URL = r"https://sns\.[a-z0-9-]+\.amazonaws\.com(\.cn)?/SimpleNotificationService-[A-Za-z0-9]+\.pem"


class SNSCertificateUnavailable(Exception):
    """The signing certificate could not be fetched: a 500, so SNS delivers the message again later."""


def verify_sns_message(message: dict) -> None:
    """Raise AnymailWebhookValidationFailure unless `message` carries a valid SNS signature (version 1,
    SHA1withRSA, or 2, SHA256withRSA) from a certificate SNS serves, for an accepted topic."""
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding

    algorithm = {"1": hashes.SHA1, "2": hashes.SHA256}.get(str(message.get("SignatureVersion", "")))
    if algorithm is None:
        raise AnymailWebhookValidationFailure("SNS message without a known SignatureVersion")
    cert_url = str(message.get("SigningCertURL", ""))
    if not re.fullmatch(getattr(settings, "TSUNAGU_SNS_CERT_URL_PATTERN", SNS_CERT_URL), cert_url):
        raise AnymailWebhookValidationFailure(f"SNS SigningCertURL {cert_url!r} is not an SNS certificate")
    fields = SNS_SIGNED_FIELDS.get(str(message.get("Type")))
    if fields is None:
        raise AnymailWebhookValidationFailure("unknown SNS message type")
    signed = []
    for name in fields:
        if name not in message:
            if name == "Subject":
                continue
            raise AnymailWebhookValidationFailure(f"SNS message without {name}")
        signed.append(f"{name}\n{message[name]}\n")
    try:
        signature = base64.b64decode(str(message.get("Signature", "")), validate=True)
    except ValueError:
        raise AnymailWebhookValidationFailure("SNS Signature is not base64") from None
    try:
        _certificate_key(cert_url).verify(signature, "".join(signed).encode("utf-8"), padding.PKCS1v15(),
                                          algorithm())
    except InvalidSignature:
        raise AnymailWebhookValidationFailure("SNS message signature does not verify") from None
    topics = getattr(settings, "TSUNAGU_SNS_TOPIC_ARNS", None)
    if topics and message.get("TopicArn") not in topics:
        raise AnymailWebhookValidationFailure(f"SNS topic {message.get('TopicArn')!r} is not one of ours")


_certificates: dict[str, tuple] = {}
_certificates_lock = threading.Lock()


def _certificate_key(url: str):
    """The public key of the certificate at `url`, fetched once and kept while it is valid."""
    now = datetime.now(UTC)
    cached = _certificates.get(url)
    if cached is not None and cached[1] > now:
        return cached[0]
    import requests
    from cryptography import x509

    try:
        # Only the SNS host the pattern above admits: a redirect elsewhere is not followed.
        response = requests.get(url, timeout=10, allow_redirects=False)
        response.raise_for_status()
    except requests.RequestException as exc:
        raise SNSCertificateUnavailable(f"cannot fetch the SNS signing certificate {url}: {exc}") from exc
    try:
        certificate = x509.load_pem_x509_certificate(response.content)
    except ValueError:
        raise AnymailWebhookValidationFailure(f"{url} is not a certificate") from None
    if not certificate.not_valid_before_utc <= now <= certificate.not_valid_after_utc:
        raise AnymailWebhookValidationFailure(f"the SNS signing certificate {url} is not valid now")
    key = certificate.public_key()
    with _certificates_lock:
        if len(_certificates) > 32:
            _certificates.clear()
        _certificates[url] = (key, certificate.not_valid_after_utc)
    return key
