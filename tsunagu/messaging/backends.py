"""Mail transports: capture:// (keeps mail in the database) and SMTP tuned for bulk notices (DKIM-signed when
the company has a key). Providers' APIs are in provider_backends."""

import smtplib

from django.core.mail.backends import smtp
from django.core.mail.backends.base import BaseEmailBackend

from tsunagu.messaging.actions.capture import capture_mail
from tsunagu.messaging.mime import NoticeEmail


class CaptureEmailBackend(BaseEmailBackend):
    """The capture:// transport: keeps each mail in the database instead of sending it."""

    def send_messages(self, email_messages):
        return capture_mail(email_messages)


class SMTPEmailBackend(smtp.EmailBackend):
    """Django's SMTP backend, minus re-parsing addresses we already validated.

    A notice's envelope addresses are bare addresses checked by email-validator when they entered
    Tsunagu; Django's sanitize_address would parse each again with the full RFC 5322 header parser,
    a measurable share of the CPU of bulk delivery. Any other mail goes through Django unchanged.
    A notice whose company has a DKIM key is signed on the way out (the delivery loop attaches the signer).
    """

    def _send(self, email_message):
        if not isinstance(email_message, NoticeEmail):
            return super()._send(email_message)
        data = email_message.message().as_bytes(linesep="\r\n")
        signer = getattr(email_message, "dkim_signer", None)
        if signer is not None:  # the company's DKIM key (lib/dkim_signing.py)
            data = signer.sign(data)
        try:
            self.connection.sendmail(email_message.from_email, email_message.to, data)
        except smtplib.SMTPException:
            if not self.fail_silently:
                raise
            return False
        return True
