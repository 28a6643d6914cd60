"""Consent records keep the SHA-256 of their text, what they were for, a keyed hash of the address and their
withdrawal; registration forms keep the texts they showed; provisions to third parties get their record.

Existing consents get the hash of the text they hold and the purpose their kind meant; each introduction
already consented to gets its provision record (the items as the registrant's record holds them now)."""

import hashlib

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

PURPOSES = {
    "purpose": ("career_support", "キャリア支援(キャリア相談・求人のご紹介・そのためのご連絡)"),
    "provision": ("provision_to_partners", "提携する求人企業への情報提供(企業ごとに改めて同意)"),
}
PROFILE_FIELDS = ("name", "email", "phone", "desired_job", "desired_region")


def forwards(apps, schema_editor):
    ConsentRecord = apps.get_model("relay", "ConsentRecord")
    ProvisionRecord = apps.get_model("relay", "ProvisionRecord")
    for record in ConsentRecord.objects.select_related("company", "introduction__request").iterator(chunk_size=500):
        record.text_hash = hashlib.sha256(record.text.encode()).hexdigest()
        if record.kind in PURPOSES:
            record.purpose, record.purpose_label = PURPOSES[record.kind]
        else:
            company = record.company
            record.purpose = f"introduction:{company.slug}" if company else "introduction"
            title = record.introduction.request.title if record.introduction else ""
            record.purpose_label = (f"{company.name if company else ''}への推薦" + (f"(求人: {title})" if title else ""))[:300]
        record.save(update_fields=["text_hash", "purpose", "purpose_label"])
        introduction = record.introduction
        if record.kind == "introduction" and introduction is not None and introduction.status == "introduced":
            registrant = introduction.registrant
            items = [field for field in PROFILE_FIELDS if getattr(registrant, field)]
            if introduction.recommendation:
                items.append("recommendation")
            proposer = introduction.proposed_by
            ProvisionRecord.objects.create(
                provided_at=introduction.consented_at or record.given_at, recipient=record.company,
                recipient_name=record.company.name if record.company else "", registrant=registrant,
                introduction=introduction, request_title=introduction.request.title[:200], items=items,
                consent=record, staff=proposer, staff_email=proposer.email if proposer else "")


class Migration(migrations.Migration):

    dependencies = [
        ('companies', '0009_reapplication_settings'),
        ('relay', '0005_registration_phone'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name='ProvisionRecord',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('provided_at', models.DateTimeField(verbose_name='提供日時')),
                ('recipient_name', models.CharField(max_length=200, verbose_name='提供先')),
                ('request_title', models.CharField(blank=True, max_length=200, verbose_name='求人')),
                ('items', models.JSONField(default=list)),
                ('staff_email', models.CharField(blank=True, max_length=254, verbose_name='担当者')),
            ],
            options={
                'verbose_name': '第三者提供の記録',
                'verbose_name_plural': '第三者提供の記録',
                'ordering': ['-provided_at', '-pk'],
            },
        ),
        migrations.AddField(
            model_name='consentrecord',
            name='ip_hash',
            field=models.CharField(blank=True, max_length=32),
        ),
        migrations.AddField(
            model_name='consentrecord',
            name='purpose',
            field=models.CharField(blank=True, max_length=100),
        ),
        migrations.AddField(
            model_name='consentrecord',
            name='purpose_label',
            field=models.CharField(blank=True, max_length=300),
        ),
        migrations.AddField(
            model_name='consentrecord',
            name='text_hash',
            field=models.CharField(blank=True, max_length=64),
        ),
        migrations.AddField(
            model_name='consentrecord',
            name='withdrawn_at',
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name='consentrecord',
            name='withdrawn_via',
            field=models.CharField(blank=True, max_length=300),
        ),
        migrations.AddField(
            model_name='registrationrequest',
            name='consent_texts',
            field=models.JSONField(blank=True, default=dict),
        ),
        migrations.AddField(
            model_name='registrationrequest',
            name='ip_hash',
            field=models.CharField(blank=True, max_length=32),
        ),
        migrations.AddIndex(
            model_name='consentrecord',
            index=models.Index(fields=['registrant', 'withdrawn_at'], name='relay_conse_registr_dcaa9c_idx'),
        ),
        migrations.AddField(
            model_name='provisionrecord',
            name='consent',
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='provisions', to='relay.consentrecord'),
        ),
        migrations.AddField(
            model_name='provisionrecord',
            name='introduction',
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='provisions', to='relay.introduction'),
        ),
        migrations.AddField(
            model_name='provisionrecord',
            name='recipient',
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to='companies.company'),
        ),
        migrations.AddField(
            model_name='provisionrecord',
            name='registrant',
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='provisions', to='relay.registrant'),
        ),
        migrations.AddField(
            model_name='provisionrecord',
            name='staff',
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL),
        ),
        migrations.AddIndex(
            model_name='provisionrecord',
            index=models.Index(fields=['provided_at'], name='relay_provi_provide_ad7e45_idx'),
        ),
        migrations.AddIndex(
            model_name='provisionrecord',
            index=models.Index(fields=['recipient', 'provided_at'], name='relay_provi_recipie_0542f6_idx'),
        ),
        migrations.RunPython(forwards, migrations.RunPython.noop),
    ]
