"""The adapter registry: every module of intake/adapters with an `ADAPTER` is an ATS, and every list of kinds
(the connection form, the command line, the webhook endpoint, the poller, the model's choices) comes from it."""

from tsunagu.intake import adapters
from tsunagu.intake.adapters.base import PolledAdapter, VendorUnavailable
from tsunagu.intake.adapters.lever import LeverApiError
from tsunagu.intake.models import AtsConnection


def test_the_registry_finds_every_ats_in_the_order_they_are_listed():
    assert adapters.kinds() == ["greenhouse", "lever", "ashby", "workable", "generic", "herp"]
    assert adapters.pushed_kinds() == ["greenhouse", "lever", "ashby", "workable", "generic"]
    assert adapters.pulled_kinds() == ["herp"]
    assert isinstance(adapters.adapter_for("herp"), PolledAdapter)
    assert adapters.find_adapter("taleo") is None
    assert all(adapter.label for adapter in adapters.all_adapters())


def test_the_connection_kinds_are_the_registry_s():
    assert list(AtsConnection._meta.get_field("kind").choices) == adapters.kind_choices()
    assert AtsConnection(kind="herp").get_kind_display() == "HERP Hire"


def test_lever_s_api_error_is_a_vendor_outage_that_is_retried():
    assert issubclass(LeverApiError, VendorUnavailable)
