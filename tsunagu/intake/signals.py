"""Intake's part of erasing a candidate (tsunagu.privacy.signals): the ATS deliveries that carried the person's
data keep their id and outcome, not the payload."""

from django.dispatch import receiver

from tsunagu.intake.actions.deliveries import forget_payloads
from tsunagu.privacy.signals import candidate_erased


@receiver(candidate_erased)
def forget_erased_candidates_payloads(sender, *, company, application_external_ids, counts, **kwargs):
    counts["intake.webhookdelivery"] = forget_payloads(company, application_external_ids)
