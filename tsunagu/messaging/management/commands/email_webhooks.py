"""`tsunagu manage email_webhooks`: the event-webhook URL to paste into each e-mail provider."""

import json
from urllib.parse import quote, urlsplit

from django.conf import settings
from django.core.management.base import BaseCommand
from django.urls import reverse

from tsunagu.messaging.provider_events import WEBHOOK_PROVIDERS


def webhook_urls() -> dict[str, str]:
    """provider -> URL with the basic-auth secret in it (https://user:password@host/mail/events/...)."""
    user, _, password = settings.ANYMAIL["WEBHOOK_SECRET"].partition(":")
    base = urlsplit(settings.BASE_URL)
    credentials = f"{quote(user, safe='')}:{quote(password, safe='')}@"
    return {
        provider: f"{base.scheme}://{credentials}{base.netloc}{reverse(f'mail_events_{provider}')}"
        for provider in WEBHOOK_PROVIDERS
    }


class Command(BaseCommand):
    help = "Print the event-webhook URL (with its secret) to enter at each e-mail provider, as one JSON object."

    def handle(self, *args, **options):
        urls = webhook_urls()
        configured = settings.TSUNAGU_EMAIL_PROVIDER
        self.stdout.write(json.dumps({"provider": configured or None,
                                      "webhook_url": urls.get(configured),
                                      "all": urls}, ensure_ascii=False))
