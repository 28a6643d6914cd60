"""DKIM signing of the notices Tsunagu delivers over SMTP, with the company's own key.

A company that sets a DKIM selector and an RSA private key (PEM) on its settings has every notice signed
for its sender address's domain: relaxed/relaxed canonicalisation, rsa-sha256, over the headers that
identify and present the mail (From, To, Subject, Date, Message-ID, Reply-To, List-Unsubscribe,
List-Unsubscribe-Post, MIME-Version, Content-Type: those present in the mail). Receivers find the public
key in DNS at `<selector>._domainkey.<domain>` (see `dns_record`).

dkimpy builds the signature header (canonicalisation, body hash, header hash, folding); the RSA operation
itself goes through `cryptography` (OpenSSL), several times faster than dkimpy's pure-Python arithmetic.
A signer is made once per company key and cached, so a delivery batch parses the key once; a company
without a key costs one attribute check per mail.
"""

from __future__ import annotations

import base64
import functools
import logging
import re
import threading

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

logger = logging.getLogger(__name__)

SIGNED_HEADERS = (
    b"from", b"to", b"subject", b"date", b"message-id", b"reply-to", b"list-unsubscribe",
    b"list-unsubscribe-post", b"mime-version", b"content-type",
)
# RFC 8301: signers MUST use at least 1024 bits and SHOULD use 2048.
MIN_KEY_BITS = 1024
SELECTOR = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*")
_TEST_MESSAGE = (b"From: a@example.com\r\nTo: b@example.com\r\nSubject: DKIM key check\r\n"
                 b"Message-ID: <check@example.com>\r\n\r\nok\r\n")


class DkimSigner:
    """Signs wire-format mails (CRLF line ends) for one domain with one key."""

    def __init__(self, selector: str, domain: str, private_key_pem: str):
        from cryptography.hazmat.primitives import serialization

        key = _load_rsa_key(private_key_pem)
        self.selector = selector.encode("ascii")
        self.domain = domain.encode("idna")
        self._key = key
        # dkimpy parses the key again from PEM (it checks it before signing); hand it a normalised PKCS#1
        # PEM with "\n" line ends, which it reads whatever form and line ends the company pasted.
        self._pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
                                      serialization.NoEncryption())

    def sign(self, data: bytes) -> bytes:
        """The mail with its DKIM-Signature header in front."""
        signer = _signing_class()(data, self._key)
        present = {name.lower() for name, _value in signer.headers}
        include = [name for name in SIGNED_HEADERS if name in present]
        header = signer.sign(self.selector, self.domain, self._pem, canonicalize=(b"relaxed", b"relaxed"),
                             include_headers=include)
        return header + data


@functools.cache
def _signing_class():
    # dkimpy takes a tenth of a second to import: only processes that sign pay for it.
    import dkim

    class OpenSSLSigningDKIM(dkim.DKIM):
        """dkimpy's signer with the RSA step done by OpenSSL. `gen_header` follows dkimpy 1.1's own, with
        `RSASSA_PKCS1_v1_5_sign` replaced; the tests verify the result with dkimpy's verifier."""

        def __init__(self, message: bytes, private_key):
            super().__init__(message, linesep=b"\r\n")
            self._private_key = private_key

        def gen_header(self, fields, include_headers, canon_policy, header_name, pk, standardize=False):
            from cryptography.hazmat.primitives import hashes
            from cryptography.hazmat.primitives.asymmetric import padding, utils

            if self.signature_algorithm != b"rsa-sha256" or standardize:
                return super().gen_header(fields, include_headers, canon_policy, header_name, pk, standardize)
            header_value = b"; ".join(b"=".join(x) for x in fields)
            header_value = dkim.fold(header_value, namelen=len(header_name), linesep=b"\r\n")
            header_value = dkim.RE_BTAG.sub(b"\\1", header_value)
            header = (header_name, b" " + header_value)
            digest = self.hasher()
            headers = canon_policy.canonicalize_headers(self.headers)
            self.signed_headers = dkim.hash_headers(digest, canon_policy, headers, include_headers, header,
                                                    dict(fields))
            signature = self._private_key.sign(digest.digest(), padding.PKCS1v15(),
                                               utils.Prehashed(hashes.SHA256()))
            index = [i for i, (name, _value) in enumerate(fields) if name == b"b"][0]
            fields[index] = (b"b", base64.b64encode(signature))
            header_value = b"; ".join(b"=".join(x) for x in fields) + self.linesep
            return dkim.fold(header_value, namelen=len(header_name), linesep=self.linesep)

    return OpenSSLSigningDKIM


# --- one signer per company key ----------------------------------------------------------------------

_signers: dict[tuple[str, str, str], DkimSigner | None] = {}
_signers_lock = threading.Lock()
_MAX_SIGNERS = 512


def signer_for(company) -> DkimSigner | None:
    """The company's signer, or None when it has no DKIM key (or one that cannot be used: the mail then
    goes out unsigned, and the problem is logged once)."""
    if not company.dkim_private_key or not company.dkim_selector:
        return None
    domain = company.from_email.rsplit("@", 1)[-1].strip().lower()
    cache_key = (company.dkim_selector.strip(), domain, company.dkim_private_key)
    try:
        return _signers[cache_key]
    except KeyError:
        pass
    try:
        signer = DkimSigner(cache_key[0], domain, company.dkim_private_key)
    except (ValueError, TypeError, UnicodeError) as exc:
        logger.error("company %s: its DKIM key cannot be used, mail goes out unsigned: %s", company.pk, exc)
        signer = None
    with _signers_lock:
        if len(_signers) >= _MAX_SIGNERS:
            _signers.clear()
        _signers[cache_key] = signer
    return signer


# --- checking what a company enters -----------------------------------------------------------------

def validate_dkim_key(pem: str) -> None:
    """Raise ValidationError unless `pem` is an unencrypted RSA private key (PEM, PKCS#1 or PKCS#8) of at
    least 1024 bits that signs. An empty value (no signing) is valid."""
    if not pem or not pem.strip():
        return
    try:
        key = _load_rsa_key(pem)
    except _EncryptedKey:
        raise ValidationError(_("パスワード付きの秘密鍵は使えません。パスワードを外した鍵を貼り付けてください。"),
                              code="dkim_encrypted") from None
    except _NotRSA:
        raise ValidationError(_("DKIMの鍵はRSA鍵にしてください(Ed25519などには対応していません)。"),
                              code="dkim_not_rsa") from None
    except ValueError:
        raise ValidationError(
            _("DKIM秘密鍵を読み取れません。「-----BEGIN PRIVATE KEY-----」または「-----BEGIN RSA PRIVATE KEY-----」"
              "で始まるPEM形式の秘密鍵を、そのまま貼り付けてください。"), code="dkim_unreadable") from None
    if key.key_size < MIN_KEY_BITS:
        raise ValidationError(_("RSA鍵が短すぎます(%(bits)d ビット)。2048ビットの鍵を使ってください。"),
                              code="dkim_short", params={"bits": key.key_size})
    try:
        DkimSigner("check", "example.com", pem).sign(_TEST_MESSAGE)
    except Exception as exc:  # noqa: BLE001 - any failure to sign means the key cannot be used
        raise ValidationError(_("この鍵では署名できません: %(reason)s"), code="dkim_unusable",
                              params={"reason": exc}) from exc


def validate_dkim_selector(selector: str) -> None:
    """Raise ValidationError unless `selector` is a DNS label sequence (e.g. "tsunagu" or "s1.mail")."""
    if selector and not (len(selector) <= 63 and SELECTOR.fullmatch(selector)):
        raise ValidationError(_("DKIMセレクタには半角英数字・ハイフン・ピリオドだけを使えます(例: tsunagu)。"),
                              code="dkim_selector")


def dns_record(company) -> tuple[str, str] | None:
    """The TXT record the company publishes for its key: (name, value), or None without a usable key."""
    if not company.dkim_private_key or not company.dkim_selector:
        return None
    from cryptography.hazmat.primitives import serialization

    try:
        key = _load_rsa_key(company.dkim_private_key)
    except ValueError:
        return None
    public = key.public_key().public_bytes(serialization.Encoding.DER,
                                           serialization.PublicFormat.SubjectPublicKeyInfo)
    domain = company.from_email.rsplit("@", 1)[-1].strip().lower()
    return (f"{company.dkim_selector.strip()}._domainkey.{domain}",
            f"v=DKIM1; k=rsa; p={base64.b64encode(public).decode('ascii')}")


class _EncryptedKey(ValueError):
    pass


class _NotRSA(ValueError):
    pass


def _load_rsa_key(pem: str):
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    data = pem.strip().replace("\r\n", "\n").encode("ascii", "strict") + b"\n"
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except TypeError as exc:  # "Password was not given but private key is encrypted"
        raise _EncryptedKey(str(exc)) from exc
    if not isinstance(key, rsa.RSAPrivateKey):
        raise _NotRSA(type(key).__name__)
    return key
