from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


def _restore_search_triggers(sender, using="default", **kwargs):
    from tsunagu.talent.actions.search_index import restore_sqlite_triggers

    restore_sqlite_triggers(using)


class TalentConfig(AppConfig):
    name = "tsunagu.talent"
    label = "talent"
    verbose_name = _("候補者と応募")

    def ready(self):
        post_migrate.connect(_restore_search_triggers, sender=self)
