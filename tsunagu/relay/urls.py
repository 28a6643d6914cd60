"""The relay's URLs: the candidate's referral link under /r/, and the console's ledger and operator pages."""

from django.urls import include, path

from tsunagu.relay import views

_referral_patterns = [
    path("verify/<str:token>", views.verify, name="verify"),
    path("<str:token>", views.landing, name="landing"),
    path("<str:token>/sent", views.sent, name="sent"),
]

urlpatterns = [
    path("r/", include((_referral_patterns, "relay"))),
]

# Mounted under /console/ in the `console` namespace (tsunagu/urls.py).
console_patterns = [
    path("ledger/", views.ledger, name="ledger"),
    path("operator/", views.operator, name="operator"),
    path("operator/<slug:slug>/redeem/", views.operator_redeem, name="operator_redeem"),
]
