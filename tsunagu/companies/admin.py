from django.contrib import admin

from tsunagu.companies.models import ApiKey, Company, Membership, OperatorProfile


@admin.register(Company)
class CompanyAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "delay_minutes", "send_window", "referral_ratio", "created_at"]
    search_fields = ["name", "slug"]


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ["user", "company", "role"]
    list_filter = ["role"]


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    list_display = ["prefix", "company", "label", "created_at", "last_used_at", "revoked_at"]
    readonly_fields = ["prefix", "secret_hash"]


admin.site.register(OperatorProfile)
