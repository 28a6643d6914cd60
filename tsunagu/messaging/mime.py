"""MIME built with the standard library's modern email API.

Django 5.2 still builds mail with the legacy (compat32) API, which folds a long RFC 2047 Subject onto a
continuation line after an empty first line; strict parsers then read a leading space. The modern
policy folds encoded words correctly, so the notice is built with it while Django's backends send it.
"""

from __future__ import annotations

import email.policy
from email.message import EmailMessage as ModernMessage
from email.utils import formatdate

from django.core.mail import EmailMultiAlternatives


class _WireMessage(ModernMessage):
    """What Django's SMTP backend expects of message(): as_bytes() with a line separator."""

    def as_bytes(self, unixfrom=False, linesep="\n"):  # noqa: D401 - signature of Django's SafeMIME classes
        return super().as_bytes(unixfrom, policy=self.policy.clone(linesep=linesep))


class NoticeEmail(EmailMultiAlternatives):
    def message(self):
        msg = _WireMessage(policy=email.policy.SMTP)
        msg["Subject"] = self.subject
        msg["From"] = self.extra_headers.get("From", self.from_email)
        msg["To"] = ", ".join(str(address) for address in self.to)
        if self.reply_to:
            msg["Reply-To"] = ", ".join(str(address) for address in self.reply_to)
        msg["Date"] = self.extra_headers.get("Date") or formatdate()
        for name, value in self.extra_headers.items():
            if name.lower() not in {"from", "to", "date", "reply-to", "subject"}:
                msg[name] = value
        msg.set_content(self.body, subtype="plain", charset="utf-8", cte="base64")
        for content, mimetype in self.alternatives:
            maintype, subtype = mimetype.split("/", 1)
            msg.add_alternative(content, subtype=subtype, charset="utf-8", cte="base64")
        return msg
