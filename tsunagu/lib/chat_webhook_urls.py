"""Which chat incoming-webhook URLs a company may give (Company.chat_webhook_url), what service each is, and
how it is shown once saved. Pure functions: the settings form validates with them, messaging posts with them
(through lib.outbound, the one guard for server-side requests to tenant-given URLs).

Only the chat services' own hosts are accepted, over https: an incoming-webhook URL is a capability the
service hands out, never an address on the tenant's (or our) network.
"""

from __future__ import annotations

import urllib.parse

from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

SLACK = "slack"
# Microsoft Teams' Office 365 connectors (https://<tenant>.webhook.office.com/webhookb2/...): MessageCard.
TEAMS = "teams"
# Teams' Workflows (Power Automate "post to a channel when a webhook request is received"): an Adaptive Card.
TEAMS_WORKFLOW = "teams_workflow"

_EXACT_HOSTS = {"hooks.slack.com": SLACK, "hooks.slack-gov.com": SLACK, "outlook.office.com": TEAMS,
                "outlook.office365.com": TEAMS}
_HOST_SUFFIXES = ((".webhook.office.com", TEAMS), (".logic.azure.com", TEAMS_WORKFLOW),
                  (".api.powerplatform.com", TEAMS_WORKFLOW))
MAX_URL_LENGTH = 2000


def _extra_hosts() -> dict[str, str]:
    """Host -> service for a private deployment's own relay, or a test's local server."""
    return dict(getattr(settings, "TSUNAGU_CHAT_WEBHOOK_HOSTS", None) or {})


def chat_service(url: str) -> str | None:
    """SLACK, TEAMS or TEAMS_WORKFLOW for an acceptable URL, else None."""
    url = (url or "").strip()
    if not url or len(url) > MAX_URL_LENGTH or not url.isascii() or any(ord(ch) < 33 for ch in url):
        return None
    parts = urllib.parse.urlsplit(url)
    if parts.scheme.lower() != "https" or parts.username is not None or parts.password is not None:
        return None
    if parts.fragment or len(parts.path.strip("/")) < 8:
        return None  # a webhook's path is its secret: a bare host is not a webhook
    host = (parts.hostname or "").rstrip(".").lower()
    if host in _extra_hosts():
        return _extra_hosts()[host]
    if host in _EXACT_HOSTS:
        return _EXACT_HOSTS[host]
    for suffix, service in _HOST_SUFFIXES:
        if host.endswith(suffix) and len(host) > len(suffix):
            return service
    return None


def validate_chat_webhook_url(url: str) -> str:
    """The URL as stored, or ValidationError (Japanese) saying what is accepted."""
    url = (url or "").strip()
    if chat_service(url) is None:
        raise ValidationError(_("Slack(https://hooks.slack.com/…)または Microsoft Teams(https://…webhook.office.com/…、"
                                "ワークフローの https://…logic.azure.com/…)の Incoming Webhook の URL を入力してください。"),
                              code="invalid")
    return url


def masked(url: str) -> str:
    """How a saved URL is shown: the service's host and the last four characters, never the secret path."""
    if not url:
        return ""
    parts = urllib.parse.urlsplit(url)
    tail = url.rstrip("/")[-4:]
    return f"{parts.scheme}://{parts.hostname}/…{tail}"
