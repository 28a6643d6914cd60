"""Secrets at rest: model fields whose column holds a Fernet token while Python code reads the plaintext.

The keys are `settings.TSUNAGU_ENCRYPTION_KEYS`, newest first (from TSUNAGU_ENCRYPTION_KEY or the data dir's
`encryption_key` file, see config.encryption_keys). A stored value is `enc:v1:<Fernet token>`, made with the
newest key; any of the keys opens it, so a new key can be put in front before `tsunagu secrets rotate`
re-encrypts the stored values with it. The empty string stays empty, so "is it set?" needs no key.

What a database cannot do with such a column: search, sort or compare it. Every lookup but `isnull` and
`exact ""` is refused instead of silently matching nothing.
"""

from __future__ import annotations

from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import FieldError, ImproperlyConfigured
from django.db import models
from django.db.models.lookups import Exact

PREFIX = "enc:v1:"
HOW_TO_FIX = ("Set TSUNAGU_ENCRYPTION_KEY (or the data dir's encryption_key file) to the key the database was "
              "encrypted with, newest key first and older ones after it (comma-separated, or one a line); "
              "after restoring a database from a backup, restore the encryption_key file of the same backup.")


class DecryptionError(ImproperlyConfigured):
    """A stored secret that none of the configured keys opens: the wrong key, or a value that is not ours."""


def _keys() -> tuple[str, ...]:
    keys = tuple(getattr(settings, "TSUNAGU_ENCRYPTION_KEYS", None) or ())
    if not keys:
        raise ImproperlyConfigured("TSUNAGU_ENCRYPTION_KEYS is empty: no key to encrypt secrets with.")
    return keys


@lru_cache(maxsize=8)
def _fernets(keys: tuple[str, ...]) -> tuple[Fernet, MultiFernet]:
    fernets = [Fernet(key) for key in keys]
    return fernets[0], MultiFernet(fernets)


@lru_cache(maxsize=1024)
def _decrypt_token(keys: tuple[str, ...], token: str) -> str:
    # Cached: a company or connection is read on many requests, and a token never changes its plaintext.
    return _fernets(keys)[1].decrypt(token.encode("ascii")).decode("utf-8")


def encrypt(plaintext: str) -> str:
    """The value to store for `plaintext`, encrypted with the newest key ("" stays "")."""
    if plaintext == "":
        return ""
    return PREFIX + _fernets(_keys())[1].encrypt(plaintext.encode("utf-8")).decode("ascii")


def decrypt(stored: str, *, what: str = "an encrypted value") -> str:
    """The plaintext of a stored value; DecryptionError, naming `what` and the fix, when no key opens it."""
    if stored == "":
        return ""
    if not stored.startswith(PREFIX):
        raise DecryptionError(f"{what} is not encrypted (it does not start with {PREFIX!r}); "
                              "run `tsunagu manage migrate`, which encrypts the stored secrets.")
    keys = _keys()
    try:
        return _decrypt_token(keys, stored[len(PREFIX):])
    except (InvalidToken, UnicodeError) as exc:
        raise DecryptionError(f"Cannot decrypt {what}: none of the {len(keys)} configured encryption key(s) "
                              f"opens it. {HOW_TO_FIX}") from exc


def is_current(stored: str) -> bool:
    """Whether a stored value is empty or already encrypted with the newest key (nothing for rotation to do)."""
    if stored == "":
        return True
    if not stored.startswith(PREFIX):
        return False
    try:
        _fernets(_keys())[0].decrypt(stored[len(PREFIX):].encode("ascii"))
    except (InvalidToken, UnicodeError):
        return False
    return True


def encrypted_fields(model) -> list[models.Field]:
    return [field for field in model._meta.concrete_fields if isinstance(field, EncryptedMixin)]


def _refuse_lookup(self):
    raise FieldError(f"{self.lhs.output_field.model._meta.label}.{self.lhs.output_field.name} is encrypted: "
                     f"the database cannot match it ({self.lookup_name!r}); only isnull and exact \"\" work.")


class _EmptyOnlyExact(Exact):
    """`field=""` works (the empty string is stored as is); `field="x"` would never match, so it is refused."""

    def get_prep_lookup(self):
        if self.rhs != "":
            _refuse_lookup(self)
        return super().get_prep_lookup()


class EncryptedMixin:
    """Encrypts on the way into the database and decrypts on the way out; validation and forms see plaintext
    (a CharField's max_length counts plaintext characters). The column is `text`: a token is longer than
    its plaintext."""

    def get_internal_type(self):
        return "TextField"

    def from_db_value(self, value, expression, connection):
        if value is None:
            return value
        return decrypt(value, what=f"{self.model._meta.label}.{self.name}")

    def get_db_prep_save(self, value, connection):
        value = super().get_db_prep_save(value, connection)
        if value is None:
            return value
        return encrypt(value)


class EncryptedCharField(EncryptedMixin, models.CharField):
    pass


class EncryptedTextField(EncryptedMixin, models.TextField):
    pass


for _field_class in (EncryptedCharField, EncryptedTextField):
    for _name, _lookup in models.Field.get_class_lookups().items():
        if _name == "exact":
            _field_class.register_lookup(_EmptyOnlyExact)
        elif _name != "isnull":
            _field_class.register_lookup(
                type(f"Encrypted{_lookup.__name__}", (_lookup,), {"get_prep_lookup": _refuse_lookup}))
