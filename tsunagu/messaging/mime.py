"""The notice as MIME: UTF-8, multipart text and HTML, display names encoded per RFC 2047.

Bulk delivery builds every mail, so the wire bytes are assembled directly from the standard library's
encoders (`formataddr`, `formatdate`, base64) instead of through `email.message` objects and the
generator, which cost several times the CPU of the SMTP exchange itself. The layout is fixed and
simple (one multipart/alternative with two base64 parts, or one base64 text part); the tests parse what a
real SMTP server received with the strict modern parser. A parsed `email.message.Message` is still
available for the places that want headers by name (`WireMessage.get`).
"""

from __future__ import annotations

import base64
import secrets
from email import message_from_bytes
from email.policy import compat32
from email.utils import formataddr, formatdate
from functools import lru_cache

from django.core.mail import EmailMessage

# RFC 5322 limit on a line; shorter ASCII headers are written unfolded.
MAX_LINE = 998


def header_value(name: str, value: str) -> str:
    """A header's value as it goes on the wire: ASCII as is, anything else as RFC 2047 encoded words.
    A line break inside a value would start a header of the sender's choosing, so it is refused."""
    if "\n" in value or "\r" in value:
        raise ValueError(f"line break in the {name} header")
    if value.isascii() and len(name) + len(value) + 2 <= MAX_LINE:
        return value
    return encoded_words(value, first_line_used=len(name) + 2)


def encoded_words(value: str, *, first_line_used: int = 0) -> str:
    """RFC 2047 B-encoded words, folded so every line stays within 78 characters and no character's
    UTF-8 bytes are split between two words. (email.header.Header does the same at several times
    the cost, and bulk delivery encodes a subject and a name per mail.)"""
    words, chunk, budget = [], bytearray(), _word_bytes(78 - first_line_used - 1)
    for character in value:
        encoded = character.encode("utf-8")
        if chunk and len(chunk) + len(encoded) > budget:
            words.append(chunk)
            chunk, budget = bytearray(), _word_bytes(78 - 1 - 1)  # folded lines start with a space
        chunk += encoded
    words.append(chunk)
    return "\n ".join(f"=?utf-8?b?{base64.b64encode(word).decode('ascii')}?=" for word in words)


def _word_bytes(line_room: int) -> int:
    # "=?utf-8?b?" + base64 + "?=": 12 characters around 4 base64 characters per 3 bytes.
    return max(3, (min(line_room, 75) - 12) // 4 * 3)


@lru_cache(maxsize=4096)
def address_header(header_name: str, name: str, address: str) -> str:
    """`Display Name <address>`, a non-ASCII name as RFC 2047 encoded words folded to 76 characters a line
    (one long encoded word is what `formataddr` makes). Cached: every mail of a batch repeats the From."""
    if "\n" in name or "\r" in name or "\n" in address or "\r" in address:
        raise ValueError(f"line break in the {header_name} header")
    if name.isascii():
        plain = formataddr((name, address))
        if len(header_name) + 2 + len(plain) <= 78:
            return plain
    encoded = encoded_words(name, first_line_used=len(header_name) + 2)
    last_line = encoded.rsplit("\n", 1)[-1] if "\n" in encoded else f"{header_name}: {encoded}"
    separator = "\n " if len(last_line) + len(address) + 3 > 78 else " "
    return f"{encoded}{separator}<{address}>"


def uri_list_header(header_name: str, uris: list[str]) -> str:
    """An RFC 2369 list of URIs (`<https://...>, <mailto:...>`), folded between URIs to keep lines short
    where it can (a URI itself is never split). A URI must be ASCII without spaces or angle brackets."""
    for uri in uris:
        if not uri.isascii() or any(c in uri for c in " \t\r\n<>"):
            raise ValueError(f"not a URI for the {header_name} header: {uri!r}")
    value, line = "", len(header_name) + 2
    for index, uri in enumerate(uris):
        item = f"<{uri}>" + ("," if index < len(uris) - 1 else "")
        if index and line + 1 + len(item) > 78:
            value, line = f"{value}\n {item}", 1 + len(item)
        else:
            value, line = (f"{value} {item}" if index else item), line + (1 if index else 0) + len(item)
    return value


def _base64_body(text: str) -> bytes:
    # encodebytes writes 76-character lines, the MIME limit, each ending in "\n".
    return base64.encodebytes(text.encode("utf-8"))


class WireMessage:
    """A built mail: its bytes, and (parsed on demand) its headers. Offers what Django's mail backends
    use of a message: as_bytes(linesep=...), as_string(), get()/[] for headers."""

    def __init__(self, data: bytes):
        self._data = data  # "\n" line ends; converted on output
        self._parsed = None

    def as_bytes(self, unixfrom: bool = False, linesep: str = "\n") -> bytes:
        return self._data if linesep == "\n" else self._data.replace(b"\n", linesep.encode("ascii"))

    def as_string(self, unixfrom: bool = False, linesep: str = "\n") -> str:
        return self.as_bytes(linesep=linesep).decode("ascii")

    @property
    def parsed(self):
        if self._parsed is None:
            self._parsed = message_from_bytes(self._data, policy=compat32)
        return self._parsed

    def get(self, name: str, default=None):
        return self.parsed.get(name, default)

    def __getitem__(self, name: str):
        return self.parsed[name]

    def __contains__(self, name: str) -> bool:
        return name in self.parsed


class NoticeEmail(EmailMessage):
    """One mail to one person. `from_email` and `to` stay bare addresses (the SMTP envelope);
    the display names go into the headers only. Without `html` the mail is plain text alone."""

    def __init__(self, *, subject: str, text: str, html: str, from_name: str, from_email: str, to_name: str,
                 to_email: str, message_id: str, reply_to: str = "", headers: dict | None = None,
                 list_unsubscribe: list[str] | None = None):
        super().__init__(subject=subject, body=text, from_email=from_email, to=[to_email],
                         reply_to=[reply_to] if reply_to else None, headers=headers)
        self.html, self.from_name, self.to_name, self.message_id = html, from_name, to_name, message_id
        # RFC 2369 / RFC 8058: the unsubscribe URIs (the first an https URL that takes a one-click POST).
        self.list_unsubscribe = list_unsubscribe or []

    def message(self) -> WireMessage:
        # "=_" never occurs in base64 bodies, so the boundary cannot collide with the content.
        boundary = f"=_tsunagu_{secrets.token_hex(12)}"
        headers = [
            ("Subject", header_value("Subject", self.subject)),
            ("From", address_header("From", self.from_name, self.from_email)),
            ("To", address_header("To", self.to_name, self.to[0])),
        ]
        if self.reply_to:
            headers.append(("Reply-To", header_value("Reply-To", ", ".join(self.reply_to))))
        headers += [
            ("Date", formatdate()),
            ("Message-ID", header_value("Message-ID", self.message_id)),
            ("MIME-Version", "1.0"),
        ]
        if self.list_unsubscribe:
            headers += [
                ("List-Unsubscribe", uri_list_header("List-Unsubscribe", self.list_unsubscribe)),
                ("List-Unsubscribe-Post", "List-Unsubscribe=One-Click"),
            ]
        headers += [(name, header_value(name, str(value))) for name, value in self.extra_headers.items()]
        if not self.html:  # text only (an alert to the company's admins): one base64 part
            headers += [("Content-Type", 'text/plain; charset="utf-8"'), ("Content-Transfer-Encoding", "base64")]
            head = "".join(f"{name}: {value}\n" for name, value in headers)
            return WireMessage(head.encode("ascii") + b"\n" + _base64_body(self.body))
        headers.append(("Content-Type", f'multipart/alternative;\n boundary="{boundary}"'))
        head = "".join(f"{name}: {value}\n" for name, value in headers)
        part = f'--{boundary}\nContent-Type: text/%s; charset="utf-8"\nContent-Transfer-Encoding: base64\n\n'
        data = b"".join((
            head.encode("ascii"), b"\n",
            (part % "plain").encode("ascii"), _base64_body(self.body),
            (part % "html").encode("ascii"), _base64_body(self.html),
            f"--{boundary}--\n".encode("ascii"),
        ))
        return WireMessage(data)
