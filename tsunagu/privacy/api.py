"""The person's rights through the REST API, on the candidates resource: erase a candidate (DELETE) and read
everything held about them (export). The DELETE joins the talent router's `/{candidate_id}` path (one path,
one router in django-ninja); the export is a path of its own."""

from django.shortcuts import get_object_or_404
from ninja import Path, Router, Status

from tsunagu.companies.access_log import log_api, presented_api_key
from tsunagu.companies.models import AccessAction
from tsunagu.lib.api_schemas import error_responses
from tsunagu.privacy.actions.erasure import erase_candidate
from tsunagu.privacy.models import ErasureReason
from tsunagu.privacy.person_export import candidate_export
from tsunagu.talent.api import MAX_ID
from tsunagu.talent.api import router as candidates_router
from tsunagu.talent.models import Candidate

router = Router()


def _live_candidate(request, candidate_id: int) -> Candidate:
    return get_object_or_404(Candidate.objects.select_related("company"), company=request.auth, pk=candidate_id,
                             erased_at__isnull=True)


@candidates_router.delete("/{candidate_id}", response={204: None, **error_responses(401, 404, 422)},
                          summary="Erase a candidate's personal data")
def delete_candidate(request, candidate_id: int = Path(..., ge=1, le=MAX_ID)):
    """Erases the person's personal data everywhere the company's data lives (the candidate, its applications'
    personal fields, its messages and their events, the registration details kept for the company): the rows
    stay, anonymised, so that counts stay true. Afterwards the candidate and its applications answer 404, and
    events the ATS sends about those applications are ignored. A record that an erasure happened is kept,
    without the data. The address is not kept, so the person may be mailed again if they apply again."""
    erase_candidate(_live_candidate(request, candidate_id), reason=ErasureReason.API, actor="API",
                    api_key=presented_api_key(request))
    return Status(204, None)


@router.get("/{candidate_id}/export", response={200: dict, **error_responses(401, 404, 422)},
            summary="Everything held about a candidate (for the person's access request)")
def export_candidate(request, candidate_id: int = Path(..., ge=1, le=MAX_ID)):
    """What the company holds about the person, why, since when, until when and who received it: the same
    document the person downloads from their own page."""
    candidate = _live_candidate(request, candidate_id)
    log_api(request, AccessAction.EXPORT, "candidate", candidate.pk)
    return candidate_export(candidate)
