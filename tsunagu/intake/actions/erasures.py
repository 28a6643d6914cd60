"""People an ATS deleted are erased in Tsunagu too (privacy's erase_candidate, reason "ats").

A deletion event names the person by the ATS's ids: their deleted applications, or the ATS's own id of the
candidate, which the deliveries received about them carry. Applications are found as every event finds them,
by (company, external id), and only in the connection's company: another company's candidate with the same id
is never touched. The deletion delivery's payload (with Greenhouse, the person's name) is not kept either.
"""

from __future__ import annotations

from django.db import transaction

from tsunagu.intake.events import IncomingErasure
from tsunagu.intake.models import AtsConnection, WebhookDelivery
from tsunagu.privacy.actions.erasure import erase_candidate
from tsunagu.privacy.models import ErasureReason
from tsunagu.talent.models import Application, Candidate

NOBODY_KNOWN = "ignored: no application of this company matches the deleted person: nothing erased"
ALREADY_ERASED = "ignored: already erased"


@transaction.atomic
def erase_deleted_people(connection: AtsConnection, erasures: list[IncomingErasure],
                         delivery: WebhookDelivery) -> tuple[int, str]:
    """Erase the company's candidates the deletions name, in one transaction, and empty the delivery's payload.
    Returns (how many were erased now, the outcome HR reads: counts only, no names)."""
    WebhookDelivery.objects.filter(pk=delivery.pk).update(payload={}, application_external_id="")
    external_ids: set[str] = set()
    for erasure in erasures:
        external_ids.update(erasure.application_ids)
        external_ids.update(_applications_of_vendor_candidate(connection, erasure))
    candidates = list(Candidate.objects.filter(
        company=connection.company,
        pk__in=Application.objects.filter(company=connection.company,
                                          external_id__in=sorted(external_ids)).values("candidate_id"),
    ).order_by("pk"))
    if not candidates:
        return 0, NOBODY_KNOWN
    erased = 0
    for candidate in candidates:
        if candidate.erased_at is None:
            erase_candidate(candidate, reason=ErasureReason.ATS, actor=f"ATS {connection.kind}")
            erased += 1
    if not erased:
        return 0, ALREADY_ERASED
    already = len(candidates) - erased
    return erased, f"erased {erased} candidate(s)" + (f"; {already} already erased" if already else "")


def _applications_of_vendor_candidate(connection: AtsConnection, erasure: IncomingErasure) -> set[str]:
    """The applications whose deliveries (from this company's connections of the same ATS) carried the vendor's
    id of the deleted candidate at `candidate_id_path`."""
    if not (erasure.candidate_id and erasure.candidate_id_path):
        return set()
    lookup = "payload__" + "__".join(erasure.candidate_id_path)
    found = (WebhookDelivery.objects
             .filter(connection__company=connection.company, connection__kind=connection.kind,
                     **{lookup: erasure.candidate_id})
             .exclude(application_external_id="")
             .values_list("application_external_id", flat=True).distinct())
    return set(found)
