"""Privacy's tables in Django's admin, read-only: requests are carried out and erasures made by the actions."""

from django.contrib import admin

from tsunagu.lib.admin import ReadOnlyAdmin
from tsunagu.privacy.models import Erasure, PoolConsent, PrivacyRequest


@admin.register(PrivacyRequest)
class PrivacyRequestAdmin(ReadOnlyAdmin):
    list_display = ["company", "kind", "channel", "status", "received_at", "due_on", "done_at"]
    list_filter = ["kind", "status"]
    raw_id_fields = ["candidate", "registrant"]


@admin.register(Erasure)
class ErasureAdmin(ReadOnlyAdmin):
    list_display = ["company", "subject_kind", "subject_id", "reason", "actor", "created_at"]
    list_filter = ["reason"]


@admin.register(PoolConsent)
class PoolConsentAdmin(ReadOnlyAdmin):
    list_display = ["company", "candidate", "version", "given_at", "withdrawn_at"]
    raw_id_fields = ["candidate"]
