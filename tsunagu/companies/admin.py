from django.contrib import admin

from tsunagu.companies.models import AccessLog, ApiKey, AuditEvent, Company, Membership, OperatorProfile
from tsunagu.lib.admin import ReadOnlyAdmin


@admin.register(Company)
class CompanyAdmin(ReadOnlyAdmin):
    list_display = ["name", "slug", "delay_minutes", "send_window", "created_at"]
    search_fields = ["name", "slug"]
    exclude = ["dkim_private_key"]


@admin.register(Membership)
class MembershipAdmin(ReadOnlyAdmin):
    list_display = ["user", "company", "role"]
    list_filter = ["role"]


@admin.register(ApiKey)
class ApiKeyAdmin(ReadOnlyAdmin):
    list_display = ["prefix", "company", "label", "created_at", "last_used_at", "revoked_at"]
    exclude = ["secret_hash"]


@admin.register(OperatorProfile)
class OperatorProfileAdmin(ReadOnlyAdmin):
    list_display = ["user"]


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "company", "actor", "action", "target"]
    list_filter = ["action"]
    search_fields = ["actor", "target", "company__slug"]


@admin.register(AccessLog)
class AccessLogAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "company", "actor", "channel", "action", "subject_kind", "subject_id",
                    "subject_count"]
    list_filter = ["channel", "action", "subject_kind"]
    search_fields = ["actor", "company__slug"]
    # The admin's own count over millions of rows would be a full scan per page.
    show_full_result_count = False
