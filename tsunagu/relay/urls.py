"""The relay's URLs: the candidate's referral link under /r/, and the console's relay pages for companies
and for the operator's staff."""

from django.urls import include, path

from tsunagu.relay.views import (
    company,
    operator,
    operator_identity,
    operator_provisions,
    operator_registrants,
    operator_review,
    public,
    requests_desk,
)
from tsunagu.relay.views import consent as introduction_consent

_referral_patterns = [
    path("verify/<str:token>", public.verify, name="verify"),
    # The registrant's answer to one introduction (before the catch-all personal link below).
    path("consent/<str:token>", introduction_consent.introduction_consent, name="introduction_consent"),
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
    path("referrals/", company.referral_requests, name="referral_requests"),
    path("referrals/<int:pk>/", company.referral_request, name="referral_request"),
    path("referrals/<int:pk>/close/", company.referral_request_close, name="referral_request_close"),
    path("referrals/introductions/<int:pk>/outcome/", company.introduction_outcome, name="introduction_outcome"),
    # The operator's side of referral requests.
    path("operator/requests/", requests_desk.desk_requests, name="desk_requests"),
    path("operator/requests/<int:pk>/", requests_desk.desk_request, name="desk_request"),
    path("operator/requests/<int:pk>/propose/", requests_desk.desk_propose, name="desk_propose"),
    path("operator/requests/introductions/<int:pk>/withdraw/", requests_desk.desk_withdraw, name="desk_withdraw"),
    # The operator's desk.
    path("operator/", operator.operator, name="operator"),
    path("operator/companies/<slug:slug>/", operator.operator_company, name="operator_company"),
    path("operator/companies/<slug:slug>/contract/", operator.operator_contract, name="operator_contract"),
    path("operator/companies/<slug:slug>/redeem/", operator.operator_redeem, name="operator_redeem"),
    path("operator/registrants/", operator_registrants.registrants, name="operator_registrants"),
    path("operator/registrants.csv", operator_registrants.registrants_csv, name="operator_registrants_csv"),
    path("operator/registrants/<int:pk>/", operator_registrants.registrant, name="operator_registrant"),
    path("operator/registrants/<int:pk>/status/", operator_registrants.registrant_status,
         name="operator_registrant_status"),
    path("operator/registrants/<int:pk>/notes/", operator_registrants.registrant_note,
         name="operator_registrant_note"),
    path("operator/registrants/<int:pk>/profile/", operator_registrants.registrant_profile,
         name="operator_registrant_profile"),
    path("operator/registrants/<int:pk>/withdraw-consents/", operator_registrants.registrant_withdraw_consents,
         name="operator_registrant_withdraw_consents"),
    # The record of provision to third parties (第三者提供の記録).
    path("operator/provisions/", operator_provisions.provisions, name="operator_provisions"),
    path("operator/provisions.csv", operator_provisions.provisions_csv, name="operator_provisions_csv"),
    path("operator/review/", operator_review.review_queue, name="operator_review"),
    path("operator/registrations/<int:pk>/approve/", operator_review.approve, name="operator_approve"),
    path("operator/registrations/<int:pk>/void/", operator_review.void, name="operator_void"),
    path("operator/registrations/<int:pk>/reverse/", operator_review.reverse, name="operator_reverse"),
    path("operator/identity/", operator_identity.identity, name="operator_identity"),
    path("operator/identity/api-keys/", operator_identity.api_key_create, name="operator_api_key_create"),
    path("operator/identity/api-keys/<int:key_id>/revoke/", operator_identity.api_key_revoke,
         name="operator_api_key_revoke"),
]
