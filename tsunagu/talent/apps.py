from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class TalentConfig(AppConfig):
    name = "tsunagu.talent"
    label = "talent"
    verbose_name = _("候補者と応募")
