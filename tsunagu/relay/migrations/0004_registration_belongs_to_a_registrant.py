# Every registration has its registrant (filled by 0003) and a credit status from now on.

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("relay", "0003_registrants_and_contracts_from_existing_data"),
    ]

    operations = [
        migrations.AlterField(
            model_name="registration",
            name="registrant",
            field=models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name="registrations",
                                    to="relay.registrant"),
        ),
        migrations.AlterField(
            model_name="registration",
            name="credit_status",
            field=models.CharField(choices=[("credited", "クレジット付与"), ("held", "確認待ち"), ("voided", "無効"),
                                            ("duplicate", "登録済みの方")], max_length=16, verbose_name="クレジット"),
        ),
    ]
