"""The REST API under /api/v1/: one NinjaAPI with a router per app."""

from ninja import NinjaAPI
from ninja.security import HttpBearer

from tsunagu.companies.actions import authenticate_api_key
from tsunagu.intake.api import router as applications_router
from tsunagu.messaging.api import router as messages_router
from tsunagu.relay.api import router as relay_router
from tsunagu.relay.operator_api import router as operator_router


class ApiKeyAuth(HttpBearer):
    """`Authorization: Bearer <api_key>`; the key decides the company every query is scoped to."""

    def authenticate(self, request, token):
        return authenticate_api_key(token)


class OperatorKeyAuth(HttpBearer):
    """The relay operator's API: only a key of the operator's party (`tsunagu operator key`); a company's key
    is refused (401), as the operator's key is on the company API."""

    def authenticate(self, request, token):
        return authenticate_api_key(token, operator=True)


api = NinjaAPI(
    title="Tsunagu API",
    version="1.0.0",
    description=(
        "Record application events from your ATS, follow the rejection notices Tsunagu sends, and read the "
        "Career Relay ledger. Every request needs `Authorization: Bearer <api_key>` (shown once by "
        "`tsunagu company create`). Every read and write is scoped to the key's company: another company's "
        "ids answer 404. The relay operator's endpoints under `/api/v1/operator/` take only the operator's key "
        "(`tsunagu operator key`); a company's key is refused there with 401."
    ),
    auth=ApiKeyAuth(),
    urls_namespace="api",
)


api.add_router("/applications", applications_router, tags=["applications"])
api.add_router("/messages", messages_router, tags=["messages"])
api.add_router("/relay", relay_router, tags=["relay"])
api.add_router("/operator", operator_router, tags=["operator"], auth=OperatorKeyAuth())
