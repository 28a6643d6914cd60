"""Signed tokens for links in mail: nothing in a URL can be enumerated or forged."""

from django.core import signing

_REFERRAL_SALT = "tsunagu.relay.referral"
_VERIFY_SALT = "tsunagu.relay.verify"


def referral_token(message_id: int) -> str:
    return signing.Signer(salt=_REFERRAL_SALT, sep=".").sign(signing.b62_encode(message_id))


def message_id_from_referral(token: str) -> int | None:
    try:
        return signing.b62_decode(signing.Signer(salt=_REFERRAL_SALT, sep=".").unsign(token))
    except (signing.BadSignature, ValueError):
        return None


def verify_token(request_id: int) -> str:
    return signing.TimestampSigner(salt=_VERIFY_SALT, sep=".").sign(signing.b62_encode(request_id))


class ExpiredToken(Exception):
    pass


def _timed_id(salt: str, token: str, max_age_days: int) -> int | None:
    """The id a timestamped token carries, None for a forged one; ExpiredToken when it is too old."""
    signer = signing.TimestampSigner(salt=salt, sep=".")
    try:
        return signing.b62_decode(signer.unsign(token, max_age=max_age_days * 86400))
    except signing.SignatureExpired as exc:
        raise ExpiredToken from exc
    except (signing.BadSignature, ValueError):
        return None


def request_id_from_verify(token: str, *, max_age_days: int) -> int | None:
    """The registration request id, None for a forged token; ExpiredToken when it is too old."""
    return _timed_id(_VERIFY_SALT, token, max_age_days)


_INTRODUCTION_SALT = "tsunagu.relay.introduction-consent"


def introduction_token(introduction_id: int) -> str:
    """The registrant's personal link to consent to (or decline) one introduction; it carries when it was made,
    so it expires (relay.actions.introductions.CONSENT_LINK_DAYS)."""
    return signing.TimestampSigner(salt=_INTRODUCTION_SALT, sep=".").sign(signing.b62_encode(introduction_id))


def introduction_id_from_token(token: str, *, max_age_days: int) -> int | None:
    """The introduction id, None for a forged token; ExpiredToken when it is too old."""
    return _timed_id(_INTRODUCTION_SALT, token, max_age_days)


# The person's privacy links: their page about their data at a relay registrant's (from the operator's mail),
# the one-click "stay in the pool" of a re-consent mail, and the confirmation of a deletion they asked for.
_REGISTRANT_PRIVACY_SALT = "tsunagu.privacy.registrant"
_STAY_SALT = "tsunagu.privacy.stay"
_DELETION_SALT = "tsunagu.privacy.confirm-deletion"


def registrant_privacy_token(registrant_id: int) -> str:
    return signing.Signer(salt=_REGISTRANT_PRIVACY_SALT, sep=".").sign(signing.b62_encode(registrant_id))


def registrant_id_from_privacy_token(token: str) -> int | None:
    try:
        return signing.b62_decode(signing.Signer(salt=_REGISTRANT_PRIVACY_SALT, sep=".").unsign(token))
    except (signing.BadSignature, ValueError):
        return None


def stay_token(candidate_id: int) -> str:
    return signing.TimestampSigner(salt=_STAY_SALT, sep=".").sign(signing.b62_encode(candidate_id))


def candidate_id_from_stay_token(token: str, *, max_age_days: int) -> int | None:
    """The candidate id, None for a forged token; ExpiredToken when it is too old."""
    return _timed_id(_STAY_SALT, token, max_age_days)


def deletion_token(request_id: int) -> str:
    return signing.TimestampSigner(salt=_DELETION_SALT, sep=".").sign(signing.b62_encode(request_id))


def request_id_from_deletion_token(token: str, *, max_age_days: int) -> int | None:
    """The privacy request id, None for a forged token; ExpiredToken when it is too old."""
    return _timed_id(_DELETION_SALT, token, max_age_days)


_ACCESS_SALT = "tsunagu.privacy.access"


def access_token(request_id: int) -> str:
    """The person's link, mailed to the address on record, to see, download and correct their data."""
    return signing.TimestampSigner(salt=_ACCESS_SALT, sep=".").sign(signing.b62_encode(request_id))


def request_id_from_access_token(token: str, *, max_age_days: int) -> int | None:
    """The privacy request id, None for a forged token; ExpiredToken when it is too old."""
    return _timed_id(_ACCESS_SALT, token, max_age_days)
