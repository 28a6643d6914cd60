"""Fill in the talent pool fields of candidates that existed before 0004/0005: stage reached, evaluation,
state, dates, automatic tags and search tokens (`tsunagu manage refresh_pool` does the same at any time)."""

from django.db import migrations


def backfill(apps, schema_editor):
    from tsunagu.talent.actions.pool import refresh_whole_pool

    models = (apps.get_model("talent", "Candidate"), apps.get_model("talent", "Application"),
              apps.get_model("talent", "CandidateTag"), apps.get_model("companies", "Company"))
    for company_id in models[3].objects.order_by("pk").values_list("pk", flat=True):
        refresh_whole_pool(company_id, models=models)


class Migration(migrations.Migration):
    atomic = False  # a transaction per chunk of candidates, not one over a whole pool

    dependencies = [
        ("talent", "0005_search_index"),
    ]

    operations = [
        migrations.RunPython(backfill, migrations.RunPython.noop),
    ]
