# The registrations-per-slot ratio is the operator's: it moved into relay.Contract (relay 0003).

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ("companies", "0005_operator_party"),
        ("relay", "0003_registrants_and_contracts_from_existing_data"),
    ]

    operations = [
        migrations.RemoveField(model_name="company", name="referral_ratio"),
    ]
