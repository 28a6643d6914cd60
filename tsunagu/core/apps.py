from django.apps import AppConfig
from django.utils.module_loading import autodiscover_modules


class CoreConfig(AppConfig):
    name = "tsunagu.core"
    label = "core"
    verbose_name = "Tsunagu core"

    def ready(self):
        # Register every app's queue tasks in every process (web, worker, scheduler), not only in
        # huey's own consumer command.
        autodiscover_modules("tasks")
