from django.contrib import admin

from tsunagu.intake.models import AtsConnection, ImportJob, WebhookDelivery
from tsunagu.lib.admin import ReadOnlyAdmin


@admin.register(AtsConnection)
class AtsConnectionAdmin(ReadOnlyAdmin):
    list_display = ["company", "kind", "active", "refused_signatures", "last_polled_at", "created_at"]
    list_filter = ["kind", "active"]
    # The signing secret and the vendor's API key stay out of the admin (the token is not editable, so
    # not shown either).
    exclude = ["secret", "api_key"]


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(ReadOnlyAdmin):
    list_display = ["received_at", "connection", "action", "event_id", "status", "application_external_id"]
    list_filter = ["status"]
    search_fields = ["event_id", "application_external_id"]


@admin.register(ImportJob)
class ImportJobAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "company", "filename", "dry_run", "status", "imported", "updated", "skipped"]
    list_filter = ["status", "dry_run"]
