"""URLs of the providers' event webhooks, mounted at /mail/events/ (anymail's own paths under it).

The views are imported on their first request: anymail's Amazon SES view brings in boto3, which a web
process of an installation that does not use SES should not load.
"""

from django.urls import path
from django.views.decorators.csrf import csrf_exempt

# provider -> the view in provider_webhooks
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
            from tsunagu.messaging import provider_webhooks

            view = getattr(provider_webhooks, view_name).as_view()
        return view(request, *args, **kwargs)

    return dispatch


urlpatterns = [
    path(f"{provider}/tracking/", _lazy(view_name), name=f"mail_events_{provider}")
    for provider, view_name in PROVIDERS.items()
]
