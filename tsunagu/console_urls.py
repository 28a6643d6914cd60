"""The console: one URL namespace over the views of every app."""

from django.contrib.auth import views as auth_views
from django.urls import path

from tsunagu.analytics import views as analytics
from tsunagu.companies import views as companies
from tsunagu.intake import views as intake
from tsunagu.messaging import template_views as templates
from tsunagu.messaging import views as messaging
from tsunagu.relay import views as relay
from tsunagu.talent import views as talent

app_name = "console"
urlpatterns = [
    path("", analytics.dashboard, name="dashboard"),
    path("login/", companies.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("company/switch/", companies.switch_company, name="switch_company"),
    path("settings/", companies.settings_page, name="settings"),
    path("settings/api-keys/", companies.api_key_create, name="api_key_create"),
    path("settings/api-keys/<int:key_id>/revoke/", companies.api_key_revoke, name="api_key_revoke"),
    path("outbox/", messaging.outbox, name="outbox"),
    path("outbox/<int:message_id>/", messaging.message_detail, name="message"),
    path("outbox/<int:message_id>/cancel/", messaging.message_cancel, name="message_cancel"),
    path("outbox/<int:message_id>/send-now/", messaging.message_send_now, name="message_send_now"),
    path("outbox/cancel/", messaging.messages_cancel, name="messages_cancel"),
    path("suppressions/", messaging.suppressions, name="suppressions"),
    path("suppressions/add/", messaging.suppression_add, name="suppression_add"),
    path("suppressions/<int:suppression_id>/lift/", messaging.suppression_lift, name="suppression_lift"),
    path("templates/", templates.templates, name="templates"),
    path("templates/new/", templates.template_new, name="template_new"),
    path("templates/coverage/", templates.template_coverage, name="template_coverage"),
    path("templates/ab/", templates.template_variants, name="template_variants"),
    path("templates/follow-ups/", templates.follow_ups, name="follow_ups"),
    path("templates/follow-ups/add/", templates.follow_up_add, name="follow_up_add"),
    path("templates/follow-ups/<int:step_id>/", templates.follow_up_update, name="follow_up_update"),
    path("templates/follow-ups/<int:step_id>/delete/", templates.follow_up_delete, name="follow_up_delete"),
    path("templates/<str:kind>/", templates.template_edit, name="template_edit"),
    path("templates/<str:kind>/preview/", templates.template_preview, name="template_preview"),
    path("templates/<str:kind>/variants/add/", templates.template_variant_add, name="template_variant_add"),
    path("templates/<str:kind>/retire/", templates.template_retire, name="template_retire"),
    path("candidates/", talent.candidates, name="candidates"),
    path("candidates/<int:candidate_id>/", talent.candidate_detail, name="candidate"),
    path("imports/", intake.imports, name="imports"),
    path("imports/<int:job_id>/", intake.import_detail, name="import_detail"),
    path("imports/<int:job_id>/progress/", intake.import_progress, name="import_progress"),
    path("connections/", intake.connections, name="connections"),
    path("connections/<int:connection_id>/", intake.connection_detail, name="connection"),
    path("connections/<int:connection_id>/test/", intake.connection_test, name="connection_test"),
    path("connections/<int:connection_id>/poll/", intake.connection_poll, name="connection_poll"),
    path("ledger/", relay.ledger, name="ledger"),
    path("operator/", relay.operator, name="operator"),
    path("operator/<slug:slug>/redeem/", relay.operator_redeem, name="operator_redeem"),
]
