from django.contrib import admin

from tsunagu.lib.admin import ReadOnlyAdmin
from tsunagu.talent.models import (
    Application,
    ApplicationEvent,
    Candidate,
    CandidateTag,
    Job,
    Reapplication,
    SavedSearch,
)


@admin.register(Job)
class JobAdmin(ReadOnlyAdmin):
    list_display = ["title", "category", "company", "external_id", "created_at"]
    search_fields = ["title", "external_id"]


@admin.register(Candidate)
class CandidateAdmin(ReadOnlyAdmin):
    list_display = ["name", "email", "company", "created_at"]
    search_fields = ["email_key", "name_key"]


@admin.register(Application)
class ApplicationAdmin(ReadOnlyAdmin):
    list_display = ["external_id", "company", "candidate", "job", "status", "stage", "rejected_at"]
    list_filter = ["status"]
    search_fields = ["external_id"]


@admin.register(ApplicationEvent)
class ApplicationEventAdmin(ReadOnlyAdmin):
    list_display = ["application", "company", "source", "event_id", "status", "occurred_at", "applied", "outcome"]
    list_filter = ["source", "applied"]


@admin.register(CandidateTag)
class CandidateTagAdmin(ReadOnlyAdmin):
    list_display = ["label", "kind", "automatic", "candidate", "company"]
    list_filter = ["kind", "automatic"]


@admin.register(SavedSearch)
class SavedSearchAdmin(ReadOnlyAdmin):
    list_display = ["name", "company", "user", "created_at"]


@admin.register(Reapplication)
class ReapplicationAdmin(ReadOnlyAdmin):
    list_display = ["candidate", "company", "match", "status", "created_at"]
    list_filter = ["match", "status"]
