"""The REST API under /api/v1/: one NinjaAPI with a router per app, and the one error shape of
tsunagu/lib/api_schemas.py for every error it answers."""

import json

from ninja import NinjaAPI
from ninja.errors import HttpError, ValidationError
from ninja.parser import Parser
from ninja.security import HttpBearer

from tsunagu.analytics.api import router as analytics_router
from tsunagu.companies.actions import authenticate_api_key
from tsunagu.intake.api import router as applications_router
from tsunagu.intake.jobs_api import router as jobs_router
from tsunagu.lib.api_schemas import UnknownQueryParameter, unknown_query_body, validation_error_body
from tsunagu.lib.strict_json import clean_text
from tsunagu.messaging.api import router as messages_router
from tsunagu.privacy.api import router as privacy_router
from tsunagu.relay.api import router as relay_router
from tsunagu.relay.operator_api import router as operator_router
from tsunagu.talent.api import router as candidates_router


class ApiKeyAuth(HttpBearer):
    """`Authorization: Bearer <api_key>`; the key decides the company every query is scoped to."""

    def authenticate(self, request, token):
        return authenticate_api_key(token)


class OperatorKeyAuth(HttpBearer):
    """The relay operator's API: only a key of the operator's party (`tsunagu operator key`); a company's key
    is refused (401), as the operator's key is on the company API."""

    def authenticate(self, request, token):
        return authenticate_api_key(token, operator=True)


class UnstorableText(ValueError):
    pass


class TextSafeParser(Parser):
    """JSON bodies whose text can be stored: a NUL character (PostgreSQL takes none) or an unpaired surrogate
    (not UTF-8) anywhere in the body is a 400, never a server error. What the standard parser cannot read
    (not JSON, not UTF-8, nesting past the stack) django-ninja answers with 400 too; numbers and sizes are the
    schemas' business (a 422 naming the field)."""

    def parse_body(self, request):
        value = json.loads(request.body)
        stack = [value]
        while stack:  # iterative: a deep body must not exhaust the stack here
            item = stack.pop()
            if isinstance(item, dict):
                stack.extend(item.keys())
                stack.extend(item.values())
            elif isinstance(item, list):
                stack.extend(item)
            elif isinstance(item, str) and not clean_text(item):
                raise UnstorableText("text with a NUL character or an unpaired surrogate")
        return value


ERRORS_DESCRIPTION = (
    " Errors answer JSON: `{\"detail\": \"<message>\"}` for 400 (a body that is not JSON, not UTF-8, or "
    "holds a NUL character or an unpaired surrogate), 401 (no or wrong key), 404 (not found, or another "
    "company's) and 409 (not possible in the current state); 422 (input that breaks a rule) answers "
    "`{\"detail\": [{\"loc\", \"msg\", \"type\"}], \"errors\": {\"<field>\": [\"<message>\"]}}`: each "
    "problem with where it is, and the same messages by field. Each operation lists the statuses it can answer."
)

api = NinjaAPI(
    title="Tsunagu API",
    version="1.0.0",
    description=(
        "Record application events from your ATS, follow the rejection notices Tsunagu sends, and read the "
        "Career Relay ledger. Every request needs `Authorization: Bearer <api_key>` (shown once by "
        "`tsunagu company create`). Every read and write is scoped to the key's company: another company's "
        "ids answer 404. The relay operator's endpoints under `/api/v1/operator/` take only the operator's key "
        "(`tsunagu operator key`); a company's key is refused there with 401."
    ) + ERRORS_DESCRIPTION,
    auth=ApiKeyAuth(),
    urls_namespace="api",
    parser=TextSafeParser(),
)


@api.exception_handler(ValidationError)
def invalid_input(request, exc: ValidationError):
    return api.create_response(request, validation_error_body(exc.errors), status=422)


@api.exception_handler(UnknownQueryParameter)
def unknown_query_parameter(request, exc: UnknownQueryParameter):
    return api.create_response(request, unknown_query_body(exc), status=422)


@api.exception_handler(HttpError)
def http_error(request, exc: HttpError):
    message = str(exc)
    if isinstance(exc.__cause__, ValueError):  # why the body could not be read (JSON syntax, encoding, text)
        message = f"{message}: {exc.__cause__}"
    return api.create_response(request, {"detail": message}, status=exc.status_code)


api.add_router("/analytics", analytics_router, tags=["analytics"])
api.add_router("/applications", applications_router, tags=["applications"])
api.add_router("/candidates", candidates_router, tags=["candidates"])
api.add_router("/candidates", privacy_router, tags=["candidates"])
api.add_router("/jobs", jobs_router, tags=["jobs"])
api.add_router("/messages", messages_router, tags=["messages"])
api.add_router("/relay", relay_router, tags=["relay"])
api.add_router("/operator", operator_router, tags=["operator"], auth=OperatorKeyAuth())
