"""Existing data into the relay's new shape: each company's registrations-per-slot ratio becomes its
contract (unchanged), each distinct registered person (by normalised e-mail) a registrant, attributed to the
company they first registered through; existing registrations and their credits stay as they were.

The consent texts were not kept word for word before this version: each registrant gets a record of the
consents with their version and time, saying so, rather than a reconstructed wording."""

from django.db import migrations

from tsunagu.talent.normalize import email_key, name_key

UNRECORDED = "(この版より前の同意のため、文言は記録されていません。同意の版: {version})"


def forwards(apps, schema_editor):
    Company = apps.get_model("companies", "Company")
    Contract = apps.get_model("relay", "Contract")
    Registration = apps.get_model("relay", "Registration")
    Registrant = apps.get_model("relay", "Registrant")
    ConsentRecord = apps.get_model("relay", "ConsentRecord")
    for company in Company.objects.filter(is_operator=False).iterator():
        Contract.objects.get_or_create(company=company, defaults={"ratio": company.referral_ratio})
    for registration in Registration.objects.filter(registrant__isnull=True).order_by("created_at", "pk").iterator():
        registrant, created = Registrant.objects.get_or_create(email_key=email_key(registration.email), defaults={
            "email": registration.email, "name": registration.name[:100], "name_key": name_key(registration.name)[:100],
            "desired_job": registration.desired_job[:100], "desired_region": registration.desired_region[:50],
            "first_company_id": registration.company_id,
        })
        registration.registrant = registrant
        registration.credit_status = "credited" if created else "duplicate"
        if not created and registration.ledger_entries.filter(kind="credit").exists():
            registration.credit_status = "credited"  # credited before registrants were one person: it stays
        registration.save(update_fields=["registrant", "credit_status"])
        if created:
            for kind in ("purpose", "provision"):
                ConsentRecord.objects.create(registrant=registrant, kind=kind, version=registration.consent_version,
                                             text=UNRECORDED.format(version=registration.consent_version),
                                             company_id=registration.company_id, given_at=registration.consented_at)


class Migration(migrations.Migration):

    dependencies = [
        ("relay", "0002_registrants_contracts_requests"),
        ("companies", "0005_operator_party"),
    ]

    operations = [
        migrations.RunPython(forwards, migrations.RunPython.noop),
    ]
