# The kinds of ATS come from the adapters (intake/adapters/): a new ATS changes no table. No data changes.

from django.db import migrations, models

import tsunagu.intake.adapters


class Migration(migrations.Migration):

    dependencies = [
        ('intake', '0003_delivery_claims'),
    ]

    operations = [
        migrations.AlterField(
            model_name='atsconnection',
            name='kind',
            field=models.CharField(choices=tsunagu.intake.adapters.kind_choices, max_length=16, verbose_name='種類'),
        ),
    ]
