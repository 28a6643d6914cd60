"""Django's admin as a window, not a door: every state change goes through an app's actions (validation,
the ledger's numbering, the outbox's keys), so the admin shows rows and changes none."""

from django.contrib import admin


class ReadOnlyAdmin(admin.ModelAdmin):
    """View only: no add, change or delete. Secrets are left out with `exclude` where a model holds any."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
