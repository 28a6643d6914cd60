"""What every part of the REST API shares: the error bodies, and the input types that make the document state
the rules the API enforces.

Errors: one shape for every error, documented on every operation that can answer it.

- 400 (a body that is not JSON we accept), 401 (no or wrong key), 404 (not this company's, or none),
  409 (not possible in the current state): `{"detail": "<message>"}`.
- 422 (input that breaks a rule): `{"detail": [{"loc", "msg", "type"}, ...], "errors": {"<field>": [...]}}`,
  django-ninja's list of issues plus the same messages by field, whether the schema or an action found them.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from typing import Annotated, Any

from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from ninja import Schema
from ninja.schema import DjangoGetter
from pydantic import AfterValidator, BeforeValidator, ConfigDict, Field, model_validator

# Text that reaches a query: PostgreSQL takes no NUL character in text (JSON bodies holding one are refused
# whole by the API's parser, a 400).
NO_NUL = r"^[^\x00]*$"
# Some character other than white space.
NOT_BLANK = r"\S"
_NUMBER = re.compile(r"\s*[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?\s*")


class InputSchema(Schema):
    """A JSON body (or a part of one): only a JSON object is one. django-ninja would otherwise read the fields
    as attributes of any value (`"abc"` would give a `title` of "Abc")."""

    @model_validator(mode="before")
    @classmethod
    def an_object(cls, values: Any) -> Any:
        # Runs inside django-ninja's own validator, which has wrapped the value it was given.
        given = values._obj if isinstance(values, DjangoGetter) else values
        if not isinstance(given, dict):
            raise ValueError("must be a JSON object")
        return values


def _iso_text(value: Any) -> Any:
    # pydantic would read a number (or a numeric string, as in a query) as a Unix time; the document says an
    # ISO 8601 string, so that is all we take.
    if not isinstance(value, str) or _NUMBER.fullmatch(value):
        raise ValueError("must be an ISO 8601 string, e.g. 2026-11-21T10:00:00+09:00 or 2026-11-21")
    return value


def _storable_instant(value: datetime) -> datetime:
    # In UTC: PostgreSQL refuses offsets past 15:59 (RFC 3339 allows 23:59). A day inside Python's range, so
    # that no time zone shift (the company's, for a time without an offset) leaves it.
    if value.tzinfo is not None:
        try:
            value = value.astimezone(UTC)
        except OverflowError:
            raise ValueError("out of range") from None
    if not datetime.min + timedelta(days=1) <= value.replace(tzinfo=None) <= datetime.max - timedelta(days=1):
        raise ValueError("out of range")
    return value


IsoDateTime = Annotated[datetime, BeforeValidator(_iso_text), AfterValidator(_storable_instant)]
IsoDate = Annotated[date, BeforeValidator(_iso_text)]


def _json_integer(value: Any) -> Any:
    # A JSON integer: 46 or 46.0 (JSON Schema counts both), not "46" or true, which pydantic would take.
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError("must be an integer")
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def json_int(**limits: int) -> Any:
    """A JSON integer within `limits` (ge, le...). The limits come before the check so that the document
    shows them as minimum/maximum even on an optional field."""
    return Annotated[int, Field(**limits), BeforeValidator(_json_integer)]


class ErrorOut(Schema):
    model_config = ConfigDict(json_schema_extra={"examples": [{"detail": "Not Found"}]})

    detail: str = Field(description="What went wrong, in words")


class ValidationIssue(Schema):
    loc: list[str | int] = Field(description="Where: the part of the request (body, query or path), then the "
                                             "field's path, e.g. [\"body\", \"payload\", \"candidate\", \"email\"]")
    msg: str = Field(description="What is wrong, in words")
    type: str = Field(description="The kind of problem, e.g. missing, string_too_long, enum, value_error")
    ctx: dict[str, Any] | None = Field(None, description="The rule's parameters, e.g. {\"max_length\": 200}")


class ValidationErrorOut(Schema):
    model_config = ConfigDict(json_schema_extra={"examples": [{
        "detail": [{"loc": ["body", "payload", "candidate", "email"], "type": "value_error",
                    "msg": "Value error, not a valid e-mail address"}],
        "errors": {"candidate.email": ["Value error, not a valid e-mail address"]},
    }]})

    detail: list[ValidationIssue] = Field(description="Each problem found, with where it is")
    errors: dict[str, list[str]] = Field(description="The same messages by field (a dotted path; __all__ for the "
                                                     "request as a whole)")


def error_responses(*codes: int) -> dict[int, type[Schema]]:
    """The documented bodies of these error status codes, for a route's `response=`."""
    return {code: ValidationErrorOut if code == 422 else ErrorOut for code in codes}


# How many leading parts of an issue's location name the request part (and, for a body, the parameter).
_PREFIX = {"body": 2, "query": 1, "path": 1, "header": 1, "cookie": 1, "form": 2, "file": 2}


def _field(loc) -> str:
    parts = list(loc)[_PREFIX.get(loc[0], 0) if loc else 0:]
    return ".".join(str(part) for part in parts) or NON_FIELD_ERRORS


class UnknownQueryParameter(Exception):
    """A query names a parameter the operation does not take: answered 422 (tsunagu/api.py), because a
    misspelt filter would otherwise silently list everything."""

    def __init__(self, names: list[str]):
        super().__init__(", ".join(names))
        self.names = names


def refuse_unknown_query(request, filters: type) -> None:
    """Raise UnknownQueryParameter when the request's query has a parameter that `filters` (the operation's
    Query schema) does not declare."""
    known = {field.alias or name for name, field in filters.model_fields.items()}
    unknown = sorted(set(request.GET) - known)
    if unknown:
        raise UnknownQueryParameter(unknown)


def unknown_query_body(error: UnknownQueryParameter) -> dict:
    return validation_error_body([{"loc": ["query", name], "msg": "unknown query parameter",
                                   "type": "extra_forbidden"} for name in error.names])


def validation_error_body(issues: list[dict]) -> dict:
    """The 422 body for django-ninja's list of issues."""
    by_field: dict[str, list[str]] = {}
    for issue in issues:
        by_field.setdefault(_field(issue.get("loc") or ()), []).append(str(issue.get("msg", "")))
    return {"detail": issues, "errors": by_field}


def django_validation_error_body(exc: ValidationError) -> dict:
    """The 422 body for an action's ValidationError (fields of the JSON body)."""
    by_field = exc.message_dict if hasattr(exc, "error_dict") else {NON_FIELD_ERRORS: exc.messages}
    issues = [
        {"loc": ["body", "payload"] + ([] if field == NON_FIELD_ERRORS else [field]), "msg": message,
         "type": "value_error"}
        for field, messages in by_field.items() for message in messages
    ]
    return {"detail": issues, "errors": {field: list(messages) for field, messages in by_field.items()}}
