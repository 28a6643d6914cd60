"""Companies created before follow-ups existed get the default follow-up sequence and the default wording of
the new kinds (follow-up, its 6- and 12-month steps, new-position invitation, re-application welcome).

Nothing is sent at once because of this: the planner only sends a step that fell due within the last
followups.CATCH_UP_DAYS."""

from django.db import migrations


def install_defaults(apps, schema_editor):
    from tsunagu.messaging.defaults import DEFAULT_FOLLOW_UP_STEPS, DEFAULT_STEP_TEMPLATES, DEFAULT_TEMPLATES

    Company = apps.get_model("companies", "Company")
    MessageTemplate = apps.get_model("messaging", "MessageTemplate")
    FollowUpStep = apps.get_model("messaging", "FollowUpStep")
    wanted = [((str(kind), 0), template) for kind, template in DEFAULT_TEMPLATES.items()]
    wanted += [((str(kind), step), template) for (kind, step), template in DEFAULT_STEP_TEMPLATES.items()]
    for company in Company.objects.all().iterator():
        present = set(MessageTemplate.objects.filter(company=company, variant="", job_category="", stage=0,
                                                     rejection_reason="").values_list("kind", "step"))
        MessageTemplate.objects.bulk_create([
            MessageTemplate(company=company, kind=kind, step=step, version=1, subject=template["subject"],
                            body_text=template["body_text"])
            for (kind, step), template in wanted if (kind, step) not in present
        ])
        if not FollowUpStep.objects.filter(company=company).exists():
            FollowUpStep.objects.bulk_create([
                FollowUpStep(company=company, step=step["step"], kind=str(step["kind"]), delay_days=step["delay_days"],
                             min_stage=int(step["min_stage"]))
                for step in DEFAULT_FOLLOW_UP_STEPS
            ])


class Migration(migrations.Migration):

    dependencies = [
        ("messaging", "0002_sets_suppression_events_follow_ups"),
    ]

    operations = [
        migrations.RunPython(install_defaults, migrations.RunPython.noop),
    ]
