from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class IntakeConfig(AppConfig):
    name = "tsunagu.intake"
    label = "intake"
    verbose_name = _("ATS連携")

    def ready(self):
        from tsunagu.intake import signals  # noqa: F401  (connects intake's part of erasing a person)
