"""Delivery through e-mail providers' APIs (SendGrid, Postmark, Mailgun, Amazon SES) by django-anymail.

TSUNAGU_EMAIL_URL chooses the provider (see tsunagu.config.email); each backend here wraps anymail's own and
hands it the notice in the form anymail reads: display names in From and To, the text body with the HTML
as an alternative, Reply-To, our Message-ID and any other headers (List-Unsubscribe, ...), and metadata
naming our outbox row, which the provider returns with every event (see provider_events).

`failure` tells the delivery loop whether an anymail error is worth retrying.
"""

from __future__ import annotations

from email import message_from_bytes
from email.headerregistry import Address
from email.policy import compat32

from anymail.exceptions import AnymailAPIError, AnymailError, AnymailInvalidAddress, AnymailRecipientsRefused
from django.core.mail import EmailMessage, EmailMultiAlternatives
from django.core.mail.backends.base import BaseEmailBackend
from django.utils.module_loading import import_string

from tsunagu.messaging.mime import NoticeEmail

# The metadata key that carries our Message's primary key to the provider and back in its events.
METADATA_KEY = "tsunagu_message"

# Provider API answers worth retrying: rate limits, time-outs, server trouble, and credentials or sender
# identities that the operator has to fix (the mail itself is fine; failing it would lose it).
RETRY_STATUSES = {401, 403, 408, 409, 425, 429}
# Amazon SES answers throttling with a 400 and one of these codes.
RETRY_AWS_CODES = {"Throttling", "ThrottlingException", "TooManyRequestsException", "LimitExceededException",
                   "ServiceUnavailable", "ServiceUnavailableException", "InternalFailure", "RequestTimeout"}


class ProviderBackend(BaseEmailBackend):
    """A Django mail backend that sends through one of anymail's provider backends."""

    anymail_backend = ""

    def __init__(self, fail_silently=False, **kwargs):
        super().__init__(fail_silently=fail_silently)
        self.provider = import_string(self.anymail_backend)(fail_silently=fail_silently, **kwargs)

    @property
    def esp_name(self) -> str:
        return self.provider.esp_name

    def open(self):
        return self.provider.open()

    def close(self):
        self.provider.close()

    def send_messages(self, email_messages):
        prepared = [provider_message(message) for message in email_messages]
        try:
            return self.provider.send_messages(prepared)
        finally:
            # What the provider answered (its message id, each recipient's status) stays readable on
            # the message the caller holds.
            for original, sent in zip(email_messages, prepared, strict=True):
                if sent is not original and hasattr(sent, "anymail_status"):
                    original.anymail_status = sent.anymail_status


class SendGridBackend(ProviderBackend):
    anymail_backend = "anymail.backends.sendgrid.EmailBackend"


class PostmarkBackend(ProviderBackend):
    anymail_backend = "anymail.backends.postmark.EmailBackend"


class MailgunBackend(ProviderBackend):
    anymail_backend = "anymail.backends.mailgun.EmailBackend"


class AmazonSESBackend(ProviderBackend):
    anymail_backend = "anymail.backends.amazon_ses.EmailBackend"


def provider_message(message: EmailMessage) -> EmailMessage:
    """A NoticeEmail as a plain EmailMultiAlternatives, which every anymail backend understands (Amazon SES
    builds its MIME with Django's own `message()`; the others read the fields). Other mail passes as is."""
    if not isinstance(message, NoticeEmail):
        return message
    headers = {"Message-ID": message.message_id}
    unsubscribe = getattr(message, "list_unsubscribe", None)
    if unsubscribe:  # RFC 2369 / RFC 8058, as NoticeEmail.message() writes them
        headers["List-Unsubscribe"] = ", ".join(f"<{uri}>" for uri in unsubscribe)
        headers["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    headers.update(message.extra_headers)
    for name, value in [("Subject", message.subject), ("From", message.from_name), ("To", message.to_name),
                        *[("Reply-To", address) for address in message.reply_to],
                        *((name, str(value)) for name, value in headers.items())]:
        if "\n" in value or "\r" in value:
            raise AnymailInvalidAddress(f"line break in the {name} header")
    try:
        sender = _address(message.from_name, message.from_email)
        recipients = [_address(message.to_name, address) for address in message.to]
    except (ValueError, TypeError) as exc:
        raise AnymailInvalidAddress(str(exc)) from exc
    mail = ProviderEmail(notice=message, subject=message.subject, body=message.body, from_email=sender,
                         to=recipients, reply_to=list(message.reply_to), headers=headers)
    if message.html:  # an alert is plain text alone
        mail.attach_alternative(message.html, "text/html")
    metadata = getattr(message, "metadata", None)
    if metadata:
        mail.metadata = {key: str(value) for key, value in metadata.items()}
    return mail


class ProviderEmail(EmailMultiAlternatives):
    """A notice for a provider's API. Amazon SES takes the whole MIME, built by `message()`: that is the
    notice's own, byte for byte what SMTP delivery sends (Django's would fold a Japanese subject after an
    empty first line)."""

    def __init__(self, *, notice: NoticeEmail, **kwargs):
        super().__init__(**kwargs)
        self.notice = notice

    def message(self, *args, **kwargs):
        # A compat32 Message keeps the headers exactly as written; anymail adds its own (X-Metadata) to it.
        return message_from_bytes(self.notice.message().as_bytes(), policy=compat32)


def _address(name: str, address: str) -> str:
    """`Name <address>` unencoded (anymail and the providers encode names themselves), quoted as needed."""
    if not name:
        return address
    local, _, domain = address.rpartition("@")
    return str(Address(display_name=name, username=local, domain=domain))


def failure(exc: AnymailError) -> tuple[bool, str]:
    """(permanent, description) for an error an anymail backend raised while sending one mail.

    Permanent: the provider refused the recipient (bounced before, invalid, suppressed at the provider), or
    the mail cannot be put into its API (invalid address, unsupported content), or the API answered 4xx
    about the request itself. Temporary: no answer, a 5xx, a rate limit, or credentials to fix."""
    text = f"{type(exc).__name__}: {exc}".strip()
    if isinstance(exc, AnymailRecipientsRefused):
        return True, text
    if not isinstance(exc, AnymailAPIError):
        return True, text
    status, aws_code = _status(exc)
    if aws_code in RETRY_AWS_CODES:
        return False, text
    if status is None or status >= 500 or status in RETRY_STATUSES:
        return False, text
    return 400 <= status < 500, text


def _status(exc: AnymailAPIError) -> tuple[int | None, str]:
    if exc.status_code is not None:
        return exc.status_code, ""
    response = exc.response
    if isinstance(response, dict):  # a botocore ClientError's parsed answer (Amazon SES)
        status = response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        return status, response.get("Error", {}).get("Code", "")
    return None, ""
