"""The relay's URLs: the candidate's referral link under /r/, and the console's relay pages for companies
and for the operator's staff."""

from django.urls import include, path

from tsunagu.relay.views import company, operator, public

_referral_patterns = [
    path("verify/<str:token>", public.verify, name="verify"),
    path("<str:token>", public.landing, name="landing"),
    path("<str:token>/sent", public.sent, name="sent"),
]

urlpatterns = [
    path("r/", include((_referral_patterns, "relay"))),
]

# Mounted under /console/ in the `console` namespace (tsunagu/urls.py).
console_patterns = [
    # A company's pages.
    path("ledger/", company.ledger, name="ledger"),
    # The operator's desk.
    path("operator/", operator.operator, name="operator"),
    path("operator/<slug:slug>/redeem/", operator.operator_redeem, name="operator_redeem"),
]
