from django.contrib import admin

from tsunagu.lib.admin import ReadOnlyAdmin
from tsunagu.relay.models import Click, LedgerEntry, Registration, RegistrationRequest


@admin.register(Click)
class ClickAdmin(ReadOnlyAdmin):
    list_display = ["message", "company", "created_at"]


@admin.register(RegistrationRequest)
class RegistrationRequestAdmin(ReadOnlyAdmin):
    list_display = ["email", "company", "created_at", "verified_at"]


@admin.register(Registration)
class RegistrationAdmin(ReadOnlyAdmin):
    list_display = ["email", "company", "created_at"]


@admin.register(LedgerEntry)
class LedgerEntryAdmin(ReadOnlyAdmin):
    list_display = ["company", "kind", "number", "created_at", "note"]
    list_filter = ["kind"]
