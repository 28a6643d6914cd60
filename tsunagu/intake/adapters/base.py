"""What every ATS adapter provides, and helpers they share.

An adapter is everything Tsunagu knows about one ATS: whether it pushes its changes (webhooks) or Tsunagu
pulls them (polling), its label, the credentials it needs and how they are checked, its default stage
mapping, and how a vendor's request or record becomes normalised application events. Adapters read (the
connection they are handed, talent's tables) but never write: the intake actions store what they hand back.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime

import pydantic
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _

from tsunagu.intake.events import IncomingApplicationEvent, IncomingErasure, IncomingJob
from tsunagu.lib import strict_json

# Shared webhook secrets shorter than this are refused: they could be guessed.
MIN_SECRET_LENGTH = 8
# A deletion event naming more applications than this is refused (400): no person has that many, and the
# erasure runs in one transaction.
MAX_DELETED_APPLICATIONS = 200
# An ATS's id as Tsunagu stores it (Application.external_id).
MAX_ID_LENGTH = 200


@dataclass
class Parsed:
    """What the web request learns from a verified body, cheaply, before anything is queued."""

    event_id: str
    action: str
    relevant: bool
    application_id: str = ""
    # Why an event is not relevant, when "not a kind of event Tsunagu follows" would not say it (the outcome HR sees).
    ignored: str = ""


@dataclass
class Outcome:
    """What processing a delivery produced: events to record, or the reason there are none."""

    events: list[IncomingApplicationEvent] = field(default_factory=list)
    ignored: str = ""
    # Jobs a job event describes (recorded with talent's save_job; nothing is mailed when one opens).
    jobs: list[IncomingJob] = field(default_factory=list)
    # People the ATS deleted: erased in Tsunagu too (intake.actions.erasures).
    erasures: list[IncomingErasure] = field(default_factory=list)


class BadPayload(ValueError):
    """A verified body the adapter cannot accept: answered 400 with this reason, nothing stored."""


class VendorUnavailable(Exception):
    """The vendor's API cannot be read just now (e.g. Lever's): the delivery is processed again later."""


class Adapter:
    """An ATS that pushes its changes to Tsunagu's webhook endpoint, signed with a shared secret."""

    kind: str = ""
    # The ATS's name in the console and the command line.
    label: str = ""
    # Where the ATS comes in the console's list and the command line's choices (then by kind).
    position: int = 100
    # False: the ATS posts webhooks; True: Tsunagu polls its API (see PolledAdapter).
    pulled: bool = False
    # Whether the connection keeps a shared signing secret (how webhooks are verified).
    uses_secret: bool = True
    # The `tsunagu ats add --secret/--api-key` help this ATS adds, e.g. "Lever: the webhook's signature token".
    secret_help: str = ""
    api_key_help: str = ""
    # The vendor's public API, used when the connection names no other base URL.
    default_api_url: str = ""
    # Stage names of the ATS -> Tsunagu's stages (talent.stages.Stage) that a new connection starts with.
    default_stage_mapping: dict[str, int] = {}
    # Shown on the connection page when the ATS can send its own rejection mail.
    sends_own_rejection_mail: bool = False

    def check_credentials(self, *, secret: str, api_key: str) -> None:
        """Refuse credentials the connection cannot work with: ValidationError keyed by the form's field."""
        if self.uses_secret and len(secret) < MIN_SECRET_LENGTH:
            raise ValidationError({"secret": _("署名シークレットは8文字以上にしてください。")})

    def verify(self, connection, headers, body: bytes) -> bool:
        raise NotImplementedError

    def parse(self, connection, headers, payload: dict, body: bytes) -> Parsed:
        raise NotImplementedError

    def events(self, connection, payload: dict) -> Outcome:
        """Runs in the worker: may call the vendor's API (raising VendorUnavailable when it is down)."""
        raise NotImplementedError

    def sample(self, connection) -> tuple[dict, bytes, dict]:
        """A harmless, correctly signed test delivery: (headers, body, payload) for "send a test event"."""
        raise NotImplementedError


# --- polling ------------------------------------------------------------------------------------------

class PollError(Exception):
    """A polling round could not read the vendor's API; the message is what HR sees on the connection."""


class RateLimited(PollError):
    """The vendor asked Tsunagu to come back after `retry_after` seconds (HTTP 429): no round before then."""

    def __init__(self, message: str, *, retry_after: float):
        super().__init__(message)
        self.retry_after = retry_after


@dataclass
class Change:
    """A change a polling round found: stored as a queued delivery, processed like a webhook's."""

    event_id: str
    action: str
    application_id: str
    payload: dict


@dataclass
class PolledPage:
    """One page of a round: its changes not stored yet, and the cursor to keep once they are."""

    changes: list[Change]
    cursor: str
    # The last page of a whole sweep over the vendor's records.
    swept: bool = False


class PollRound:
    """One round against one connection, made by PolledAdapter.start_round."""

    # HTTP requests made so far.
    requests: int = 0

    def pages(self) -> Iterator[PolledPage]:
        """Read page after page within the round's budget; raises PollError (or RateLimited) when the vendor
        refuses. What a page found is stored before the next page is read."""
        raise NotImplementedError


# Given event ids, answers those the connection's delivery log already holds.
StoredEventIds = Callable[[list[str]], set[str]]


class PolledAdapter(Adapter):
    """An ATS without webhooks: Tsunagu polls its API (the loop, lease and writes: intake.actions.polling)."""

    pulled = True
    uses_secret = False
    # The console's refusal of "poll now" while the vendor asked us to wait, with %(time)s.
    paused_message: str = ""

    def verify(self, connection, headers, body) -> bool:
        return False  # nothing posted to a polled connection is believed

    def parse(self, connection, headers, payload, body):
        raise NotImplementedError(f"{self.label} is polled, not pushed")

    def sample(self, connection):
        raise NotImplementedError(f"{self.label} is polled, not pushed")

    def start_round(self, connection, *, already_stored: StoredEventIds) -> PollRound:
        raise NotImplementedError


# --- helpers ------------------------------------------------------------------------------------------

def hmac_sha256_hex(secret: str, message: bytes) -> str:
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def signatures_match(expected: str, presented: str | None) -> bool:
    """Whether a presented hex digest is the expected one. A header holds whatever the sender put there:
    only ASCII text can be a digest (and compare_digest raises TypeError on any other)."""
    if not isinstance(presented, str) or not presented.strip() or not presented.isascii():
        return False
    return hmac.compare_digest(expected.lower(), presented.strip().lower())


def sha256_header_matches(header: str | None, separator: str, secret: str, message: bytes) -> bool:
    """A `sha256<separator><hex>` header (Greenhouse uses a space, Ashby and ours "=") over message."""
    scheme, _separator, signature = (header or "").partition(separator)
    return scheme == "sha256" and signatures_match(hmac_sha256_hex(secret, message), signature)


def payload_hash(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()


def parse_time(value) -> datetime:
    """An ISO 8601 string or epoch milliseconds from a vendor, as an aware datetime (now when absent, or
    when no date: a number past year 9999, an impossible date)."""
    try:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return datetime.fromtimestamp(value / 1000, tz=UTC)
        if isinstance(value, str) and value:
            parsed = parse_datetime(value.replace("Z", "+00:00"))
            if parsed is not None:
                return parsed if timezone.is_aware(parsed) else timezone.make_aware(parsed, UTC)
    except (OverflowError, ValueError, OSError):
        pass
    return timezone.now()


def load_json(body: bytes):
    """A webhook body as JSON within strict_json's limits (depth, numbers, text); BadPayload otherwise."""
    try:
        return strict_json.loads(body)
    except strict_json.MalformedJSON as exc:
        raise BadPayload(f"malformed JSON: {exc}") from None


def header_id(headers, name: str) -> str:
    """A delivery id a vendor sends in a header: printable ASCII (it is stored), "" when absent."""
    value = headers.get(name) or ""
    if not (value.isascii() and value.isprintable()):
        raise BadPayload(f"{name} must be printable ASCII")
    return value


def text_field(payload: dict, key: str) -> str:
    """A documented string field of the body ("" when absent); any other type is refused."""
    value = payload.get(key)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise BadPayload(f"{key} must be a string")
    return value


def validated(model: type[pydantic.BaseModel], value, where: str) -> pydantic.BaseModel:
    """`value` checked against the vendor's documented shape (the fields an adapter reads); BadPayload
    listing each wrong field otherwise, so what events() reads later cannot fail on a type."""
    try:
        return model.model_validate(value)
    except pydantic.ValidationError as exc:
        raise BadPayload(f"{where}: " + "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or '(root)'}: {e['msg']}" for e in exc.errors()[:10])) from None


class Shape(pydantic.BaseModel):
    """Base of the adapters' payload shapes: only the fields they read are declared; others pass."""

    model_config = pydantic.ConfigDict(extra="allow")


# Ids as vendors send them.
Identifier = pydantic.StrictStr | pydantic.StrictInt
# The application ids a deletion event names (a list of bounded length; each id checked by known_ids).
DeletedIds = pydantic.conlist(Identifier, max_length=MAX_DELETED_APPLICATIONS)


def known_ids(values, where: str) -> tuple[str, ...]:
    """Ids from a validated body as Tsunagu stores them (text, no blanks, no repeats); BadPayload when one is
    longer than any id Tsunagu keeps."""
    ids = [str(value).strip() for value in values or () if value not in (None, "")]
    if any(len(value) > MAX_ID_LENGTH for value in ids):
        raise BadPayload(f"{where}: an id is longer than {MAX_ID_LENGTH} characters")
    return tuple(dict.fromkeys(value for value in ids if value))
# An ISO 8601 string or epoch milliseconds (parse_time reads both).
Stamp = pydantic.StrictStr | pydantic.StrictInt | pydantic.StrictFloat | None
