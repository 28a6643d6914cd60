"""The notice as MIME: UTF-8, multipart text and HTML, display names encoded per RFC 2047.

Built with the standard library's MIME classes and explicit `Header` objects: Django 5.2's builder
folds a long encoded Subject onto a continuation line after an empty first line (strict parsers then
read a leading space), and the modern `email.policy` API is several times slower for bulk sending.
"""

from __future__ import annotations

import secrets
from email import charset
from email.generator import BytesGenerator
from email.header import Header
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.policy import Compat32
from email.utils import formataddr, formatdate
from io import BytesIO

from django.core.mail import EmailMessage

UTF8 = charset.Charset("utf-8")  # base64 bodies: safe over any 7-bit hop
# B-encoding for headers; the default ("shortest") encodes every header both ways to compare lengths.
UTF8.header_encoding = charset.BASE64


class _Policy(Compat32):
    """compat32, minus its cost for the common case: a short ASCII header needs no folding, and
    compat32 would still build and encode a Header object for each one (most of the CPU of bulk mail)."""

    def _fold(self, name, value, sanitize):
        if (isinstance(value, str) and value.isascii() and "\n" not in value and "\r" not in value
                and len(name) + len(value) + 2 <= (self.max_line_length or 998)):
            return f"{name}: {value}{self.linesep}"
        return super()._fold(name, value, sanitize)


POLICY = _Policy()


def _header(value: str, name: str):
    return value if value.isascii() else Header(value, UTF8, header_name=name)


def _address(name: str, address: str) -> str:
    return formataddr((name, address), charset=UTF8)


class _WireMessage(MIMEMultipart):
    """What Django's backends expect of message(): as_bytes() that takes the line separator."""

    def as_bytes(self, unixfrom=False, linesep="\n"):
        buffer = BytesIO()
        BytesGenerator(buffer, mangle_from_=False, policy=self.policy.clone(linesep=linesep)).flatten(
            self, unixfrom=unixfrom
        )
        return buffer.getvalue()


class NoticeEmail(EmailMessage):
    """One mail to one person. `from_email` and `to` stay bare addresses (the SMTP envelope);
    the display names go into the headers only."""

    def __init__(self, *, subject: str, text: str, html: str, from_name: str, from_email: str, to_name: str,
                 to_email: str, message_id: str, reply_to: str = ""):
        super().__init__(subject=subject, body=text, from_email=from_email, to=[to_email],
                         reply_to=[reply_to] if reply_to else None)
        self.html, self.from_name, self.to_name, self.message_id = html, from_name, to_name, message_id

    def message(self):
        # A boundary of our own: "=_" never occurs in base64 bodies, and the generator would otherwise
        # compile a regular expression per mail to check a random one against the content.
        msg = _WireMessage("alternative", boundary=f"=_tsunagu_{secrets.token_hex(12)}", policy=POLICY)
        msg["Subject"] = _header(self.subject, "Subject")
        msg["From"] = _address(self.from_name, self.from_email)
        msg["To"] = _address(self.to_name, self.to[0])
        if self.reply_to:
            msg["Reply-To"] = ", ".join(self.reply_to)
        msg["Date"] = formatdate()
        msg["Message-ID"] = self.message_id
        for name, value in self.extra_headers.items():
            msg[name] = _header(value, name)
        msg.attach(MIMEText(self.body, "plain", UTF8, policy=POLICY))
        msg.attach(MIMEText(self.html, "html", UTF8, policy=POLICY))
        return msg
