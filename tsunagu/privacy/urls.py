"""The privacy app's URLs: the person's pages under /privacy/ (signed links, no login) and the console's pages."""

from django.urls import path

from tsunagu.privacy.views import company_export, console, person, policy

urlpatterns = [
    # A company's (or the relay operator's) privacy policy: the stable address mail and pages link to.
    path("policy/<slug:slug>/", policy.policy, name="policy"),
    path("m/<str:token>/", person.company_person, name="person"),
    path("p/<str:token>/", person.registrant_person, name="registrant_person"),
    path("data/<str:token>/", person.data, name="data"),
    path("data/<str:token>/my-data.json", person.data_download, name="data_download"),
    path("confirm/<str:token>/", person.confirm_deletion, name="confirm_deletion"),
    path("stay/<str:token>/", person.stay, name="stay"),
]

# Mounted under /console/ in the `console` namespace (tsunagu/urls.py).
console_patterns = [
    path("privacy/requests/", console.requests, name="privacy_requests"),
    path("privacy/requests/new/", console.request_new, name="privacy_request_new"),
    path("privacy/requests/<int:pk>/", console.request_detail, name="privacy_request"),
    path("privacy/requests/<int:pk>/carry-out/", console.request_carry_out, name="privacy_request_carry_out"),
    path("privacy/requests/<int:pk>/cancel/", console.request_cancel, name="privacy_request_cancel"),
    path("privacy/requests/<int:pk>/export.json", console.request_export, name="privacy_request_export"),
    path("privacy/retention/", console.retention, name="privacy_retention"),
    path("privacy/retention/ask/", console.retention_ask, name="privacy_retention_ask"),
    path("operator/privacy/requests/", console.operator_requests, name="operator_privacy_requests"),
    path("operator/privacy/requests/new/", console.operator_request_new, name="operator_privacy_request_new"),
    path("operator/privacy/requests/<int:pk>/", console.operator_request_detail, name="operator_privacy_request"),
    path("operator/privacy/requests/<int:pk>/carry-out/", console.operator_request_carry_out,
         name="operator_privacy_request_carry_out"),
    path("operator/privacy/requests/<int:pk>/cancel/", console.operator_request_cancel,
         name="operator_privacy_request_cancel"),
    path("operator/privacy/requests/<int:pk>/export.json", console.operator_request_export,
         name="operator_privacy_request_export"),
    path("operator/privacy/retention/", console.operator_retention, name="operator_privacy_retention"),
    path("privacy/export/", company_export.company_export, name="company_export"),
    path("privacy/export.zip", company_export.company_export_zip, name="company_export_zip"),
    path("privacy/export.json", company_export.company_export_json, name="company_export_json"),
]
