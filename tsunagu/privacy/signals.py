"""Signals for the apps above privacy (intake), which privacy cannot call: sent inside the erasure's
transaction, so a receiver's writes commit or roll back with it."""

from django.dispatch import Signal

# A company's candidate was erased: kwargs company, candidate_id, application_external_ids, counts (a dict the
# receiver adds its rows-changed to).
candidate_erased = Signal()
