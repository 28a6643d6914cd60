from ninja import Router, Schema
from pydantic import ConfigDict

from tsunagu.relay.selectors import ledger_summary

router = Router()


class LedgerOut(Schema):
    model_config = ConfigDict(json_schema_extra={"examples": [{
        "credits": 23, "slots_earned": 2, "slots_redeemed": 1, "slots_available": 1, "ratio": 10,
        "credits_to_next_slot": 7,
    }]})

    credits: int
    slots_earned: int
    slots_redeemed: int
    slots_available: int
    ratio: int
    credits_to_next_slot: int


@router.get("/ledger", response=LedgerOut, summary="The Career Relay ledger: credits and free referral slots")
def get_ledger(request):
    """One credit per distinct candidate who registered and verified; one slot per `ratio` credits."""
    summary = ledger_summary(request.auth)
    return {**summary.__dict__, "credits_to_next_slot": summary.credits_to_next_slot}
