"""The applications resource of the REST API: record an application event, read an application."""

from django.shortcuts import get_object_or_404
from ninja import Path, Router, Status

from tsunagu.companies.access_log import log_api
from tsunagu.companies.models import AccessAction
from tsunagu.intake.actions.events import ERASED_OUTCOME, record_application_event
from tsunagu.intake.schemas import ApplicationIn, ApplicationOut, application_out
from tsunagu.lib.api_schemas import NO_NUL, error_responses
from tsunagu.talent.models import Application

router = Router()


@router.post("", response={200: ApplicationOut, 201: ApplicationOut, **error_responses(400, 401, 409, 422)},
             summary="Create or update an application (upsert by external_id)")
def upsert_application(request, payload: ApplicationIn):
    """Answers 201 when the application is new, 200 when it existed. A change to `rejected` plans the
    rejection notice (delay and send window of the company); a change back cancels it if not yet sent.
    An application whose person's data was erased answers 409 and changes nothing."""
    company = request.auth
    result = record_application_event(company, payload.to_event(company, source="api"))
    if result.outcome == ERASED_OUTCOME:
        return Status(409, {"detail": "the person's data was erased: this application takes no more events"})
    return Status(201 if result.created else 200, application_out(result.application))


# The operation id it had when this read lived in the talent app: API clients generated from the
# document name their method after it.
@router.get("/{external_id}", response={200: ApplicationOut, **error_responses(401, 404, 422)},
            summary="Read an application and its notice", operation_id="tsunagu_talent_api_get_application")
def get_application(request, external_id: str = Path(..., pattern=NO_NUL)):
    application = get_object_or_404(
        Application.objects.select_related("candidate", "job"), company=request.auth, external_id=external_id,
        candidate__erased_at__isnull=True)
    log_api(request, AccessAction.VIEW, "application", application.pk)
    return application_out(application)
