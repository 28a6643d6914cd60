"""Posting a short message to a company's Slack or Microsoft Teams channel through its incoming webhook
(Company.chat_webhook_url), through lib.outbound: https only, the chat services' hosts only
(lib.chat_webhook_urls), public addresses only, bounded in time and size. Reads and one request; no writes.

What is posted names the person and the job and links to the console: no e-mail address or phone number
leaves for the chat service.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass

from tsunagu.lib import outbound
from tsunagu.lib.chat_webhook_urls import SLACK, TEAMS, TEAMS_WORKFLOW, chat_service

logger = logging.getLogger(__name__)


class ChatPostFailed(Exception):
    """The post did not go through but may later (network, 5xx, 429): the task retries."""


@dataclass(frozen=True)
class ChatMessage:
    title: str
    lines: tuple[str, ...]
    link: str
    link_text: str

    def plain(self) -> str:
        return "\n".join([self.title, *self.lines, f"{self.link_text}: {self.link}"])


def _slack_escape(text: str) -> str:
    # Slack's mrkdwn: &, < and > are control characters (links, mentions), escaped as entities.
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def payload(service: str, message: ChatMessage) -> dict:
    """The JSON the service's incoming webhook takes."""
    if service == SLACK:
        lines = [f"*{_slack_escape(message.title)}*", *(_slack_escape(line) for line in message.lines),
                 f"<{message.link}|{_slack_escape(message.link_text)}>"]
        return {"text": "\n".join(lines)}
    if service == TEAMS:
        # An Office 365 connector card (MessageCard): title, text and a button.
        return {
            "@type": "MessageCard", "@context": "https://schema.org/extensions", "summary": message.title,
            "title": message.title, "text": "\n\n".join(message.lines),
            "potentialAction": [{"@type": "OpenUri", "name": message.link_text,
                                 "targets": [{"os": "default", "uri": message.link}]}],
        }
    if service == TEAMS_WORKFLOW:
        # Teams' Workflows webhook takes a message with an Adaptive Card attachment.
        card = {
            "$schema": "http://adaptivecards.io/schemas/adaptive-card.json", "type": "AdaptiveCard", "version": "1.4",
            "body": [{"type": "TextBlock", "text": message.title, "weight": "Bolder", "wrap": True},
                     *({"type": "TextBlock", "text": line, "wrap": True} for line in message.lines)],
            "actions": [{"type": "Action.OpenUrl", "title": message.link_text, "url": message.link}],
        }
        return {"type": "message", "attachments": [
            {"contentType": "application/vnd.microsoft.card.adaptive", "contentUrl": None, "content": card}]}
    raise ValueError(f"unknown chat service {service!r}")


def post(url: str, message: ChatMessage) -> bool:
    """Post to the webhook. True when the service took it; False when it refused for good (a 4xx other than
    429: a deleted webhook, a revoked token, a URL that is not a webhook); ChatPostFailed when a later try may
    succeed."""
    service = chat_service(url)
    if service is None:
        logger.warning("chat webhook not posted: the stored URL is not an accepted chat webhook")
        return False
    body = json.dumps(payload(service, message), ensure_ascii=False).encode()
    try:
        response = outbound.post(url, body, headers={"Content-Type": "application/json; charset=utf-8"})
    except outbound.OutboundError as exc:
        raise ChatPostFailed(exc.detail) from None
    if response.ok:
        return True
    if response.status == 429 or response.status >= 500:
        raise ChatPostFailed(f"{service} webhook answered {response.status}")
    logger.warning("chat webhook refused the post for good: %s answered %s", service, response.status)
    return False
