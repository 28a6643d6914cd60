from django.contrib import admin

from tsunagu.lib.admin import ReadOnlyAdmin
from tsunagu.relay.models import (
    Click,
    ConsentRecord,
    Contract,
    Introduction,
    LedgerEntry,
    ProvisionRecord,
    ReferralRequest,
    Registrant,
    RegistrantNote,
    Registration,
    RegistrationRequest,
    RequestEvent,
)


@admin.register(Click)
class ClickAdmin(ReadOnlyAdmin):
    list_display = ["message", "company", "created_at"]


@admin.register(RegistrationRequest)
class RegistrationRequestAdmin(ReadOnlyAdmin):
    list_display = ["email", "company", "created_at", "verified_at"]


@admin.register(Registration)
class RegistrationAdmin(ReadOnlyAdmin):
    list_display = ["email", "company", "credit_status", "created_at"]
    list_filter = ["credit_status"]


@admin.register(LedgerEntry)
class LedgerEntryAdmin(ReadOnlyAdmin):
    list_display = ["company", "kind", "number", "created_at", "note"]
    list_filter = ["kind"]


@admin.register(Contract)
class ContractAdmin(ReadOnlyAdmin):
    list_display = ["company", "ratio", "fee_yen", "starts_on"]


@admin.register(Registrant)
class RegistrantAdmin(ReadOnlyAdmin):
    list_display = ["name", "email", "status", "first_company", "created_at"]
    list_filter = ["status"]


@admin.register(RegistrantNote)
class RegistrantNoteAdmin(ReadOnlyAdmin):
    list_display = ["registrant", "author", "created_at"]


@admin.register(ConsentRecord)
class ConsentRecordAdmin(ReadOnlyAdmin):
    list_display = ["registrant", "kind", "purpose", "version", "company", "given_at", "withdrawn_at"]


@admin.register(ProvisionRecord)
class ProvisionRecordAdmin(ReadOnlyAdmin):
    list_display = ["provided_at", "recipient_name", "registrant", "staff_email"]


@admin.register(ReferralRequest)
class ReferralRequestAdmin(ReadOnlyAdmin):
    list_display = ["title", "company", "status", "created_at"]
    list_filter = ["status"]


@admin.register(Introduction)
class IntroductionAdmin(ReadOnlyAdmin):
    list_display = ["request", "registrant", "status", "outcome", "created_at"]


@admin.register(RequestEvent)
class RequestEventAdmin(ReadOnlyAdmin):
    list_display = ["request", "kind", "actor", "actor_label", "created_at"]
