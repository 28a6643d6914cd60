"""Messaging's URLs: what mail links to (tracked links and the open pixel, the unsubscribe pages), the
providers' event webhooks, and the console's outbox, suppression and template pages.

The providers' views are imported on their first request: anymail's Amazon SES view brings in boto3, which
a web process of an installation that does not use SES should not load.
"""

from django.urls import include, path
from django.views.decorators.csrf import csrf_exempt

from tsunagu.messaging.provider_events import WEBHOOK_PROVIDERS
from tsunagu.messaging.views import (
    campaigns,
    follow_ups,
    jobs,
    outbox,
    reapplications,
    suppressions,
    templates,
    tracking,
    unsubscribe,
)

# provider -> the view in views/provider_webhooks.py
PROVIDERS = {
    "sendgrid": "SendGridEventsView",
    "amazon_ses": "AmazonSESEventsView",
    "postmark": "PostmarkEventsView",
    "mailgun": "MailgunEventsView",
}


def _lazy(view_name: str):
    view = None

    @csrf_exempt  # providers post without a CSRF token; each view checks its own secret or signature
    def dispatch(request, *args, **kwargs):
        nonlocal view
        if view is None:
            from tsunagu.messaging.views import provider_webhooks

            view = getattr(provider_webhooks, view_name).as_view()
        return view(request, *args, **kwargs)

    return dispatch


_unsubscribe_patterns = [
    path("<str:token>", unsubscribe.unsubscribe, name="confirm"),
    path("<str:token>/preferences", unsubscribe.unsubscribe_preferences, name="preferences"),
]

_provider_patterns = [
    path(f"{provider}/tracking/", _lazy(PROVIDERS[provider]), name=f"mail_events_{provider}")
    for provider in WEBHOOK_PROVIDERS
]

urlpatterns = [
    # Tracked links and the open pixel in mail: answered from the signed token alone (views/tracking.py),
    # also before Django's middleware (tracking.fast_path in tsunagu/wsgi.py).
    path("t/c/<str:token>", tracking.click, name="track_click"),
    path("t/o/<str:token>.gif", tracking.pixel, name="track_open"),
    # The candidate's unsubscribe pages (no login, no cookies): /u/<token> and its preference page.
    path("u/", include((_unsubscribe_patterns, "unsubscribe"))),
    # E-mail providers' event webhooks (django-anymail): /mail/events/<provider>/tracking/
    path("mail/events/", include(_provider_patterns)),
]

# Mounted under /console/ in the `console` namespace (tsunagu/urls.py), after every other app's pages:
# `templates/<str:kind>/` would otherwise take the fixed paths other apps have under templates/.
console_patterns = [
    path("outbox/", outbox.outbox, name="outbox"),
    path("outbox/<int:message_id>/", outbox.message_detail, name="message"),
    path("outbox/<int:message_id>/cancel/", outbox.message_cancel, name="message_cancel"),
    path("outbox/<int:message_id>/send-now/", outbox.message_send_now, name="message_send_now"),
    path("outbox/cancel/", outbox.messages_cancel, name="messages_cancel"),
    # Jobs and their rediscovery shortlist (views/jobs.py).
    path("jobs/", jobs.jobs, name="jobs"),
    path("jobs/<int:job_id>/", jobs.job_detail, name="job"),
    path("jobs/<int:job_id>/status/", jobs.job_status, name="job_status"),
    path("jobs/<int:job_id>/follow/", jobs.job_follow, name="job_follow"),
    path("suppressions/", suppressions.suppressions, name="suppressions"),
    path("suppressions/add/", suppressions.suppression_add, name="suppression_add"),
    path("suppressions/<int:suppression_id>/lift/", suppressions.suppression_lift, name="suppression_lift"),
    path("templates/", templates.templates, name="templates"),
    path("templates/new/", templates.template_new, name="template_new"),
    path("templates/coverage/", templates.template_coverage, name="template_coverage"),
    # (templates/ab/, the A/B numbers, is analytics' page: its patterns come before these.)
    path("templates/follow-ups/", follow_ups.follow_ups, name="follow_ups"),
    path("templates/follow-ups/add/", follow_ups.follow_up_add, name="follow_up_add"),
    path("templates/follow-ups/<int:step_id>/", follow_ups.follow_up_update, name="follow_up_update"),
    path("templates/follow-ups/<int:step_id>/delete/", follow_ups.follow_up_delete, name="follow_up_delete"),
    path("templates/<str:kind>/", templates.template_edit, name="template_edit"),
    path("templates/<str:kind>/preview/", templates.template_preview, name="template_preview"),
    path("templates/<str:kind>/variants/add/", templates.template_variant_add, name="template_variant_add"),
    path("templates/<str:kind>/retire/", templates.template_retire, name="template_retire"),
    path("reapplications/", reapplications.reapplication_list, name="reapplications"),
    path("reapplications/mail/", reapplications.reapplication_mail, name="reapplication_mail"),
    path("reapplications/<int:reapplication_id>/", reapplications.reapplication_detail, name="reapplication"),
    path("reapplications/<int:reapplication_id>/review/", reapplications.reapplication_review,
         name="reapplication_review"),
    path("reapplications/<int:reapplication_id>/merge/", reapplications.reapplication_merge,
         name="reapplication_merge"),
    # Re-contact campaigns (views/campaigns.py).
    path("campaigns/", campaigns.campaigns, name="campaigns"),
    path("campaigns/new/", campaigns.campaign_new, name="campaign_new"),
    path("campaigns/<int:campaign_id>/", campaigns.campaign_detail, name="campaign"),
    path("campaigns/<int:campaign_id>/cancel/", campaigns.campaign_cancel, name="campaign_cancel"),
]
