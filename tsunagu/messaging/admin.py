"""Messaging's tables in Django's admin, read-only: a change there would bypass the actions (the outbox's
keys and states, the template history, the suppression list's holds)."""

from django.contrib import admin

from tsunagu.lib.admin import ReadOnlyAdmin
from tsunagu.messaging.models import (
    Campaign,
    CapturedMail,
    FollowUpStep,
    Message,
    MessageEvent,
    MessageTemplate,
    Suppression,
)


@admin.register(MessageTemplate)
class MessageTemplateAdmin(ReadOnlyAdmin):
    list_display = ["company", "kind", "job_category", "stage", "rejection_reason", "step", "variant", "version",
                    "retired", "created_at"]
    list_filter = ["kind", "retired"]


@admin.register(Message)
class MessageAdmin(ReadOnlyAdmin):
    list_display = ["to_email", "kind", "status", "company", "send_at", "sent_at", "attempts"]
    list_filter = ["status", "kind"]
    search_fields = ["to_email", "key", "message_id"]
    raw_id_fields = ["application", "template"]


@admin.register(MessageEvent)
class MessageEventAdmin(ReadOnlyAdmin):
    list_display = ["message", "kind", "source", "occurred_at", "machine"]
    list_filter = ["kind", "source", "machine"]
    raw_id_fields = ["message"]


@admin.register(Suppression)
class SuppressionAdmin(ReadOnlyAdmin):
    list_display = ["email", "reason", "company", "created_at"]
    list_filter = ["reason"]
    search_fields = ["email_key"]
    raw_id_fields = ["message"]


@admin.register(FollowUpStep)
class FollowUpStepAdmin(ReadOnlyAdmin):
    list_display = ["company", "step", "kind", "delay_days", "min_stage", "active"]


@admin.register(CapturedMail)
class CapturedMailAdmin(ReadOnlyAdmin):
    list_display = ["to", "subject", "message_id", "created_at"]
    search_fields = ["to", "message_id"]


@admin.register(Campaign)
class CampaignAdmin(ReadOnlyAdmin):
    list_display = ["name", "company", "kind", "status", "send_at", "per_hour", "audience_size", "created_at"]
    list_filter = ["status", "kind"]
    raw_id_fields = ["job"]
