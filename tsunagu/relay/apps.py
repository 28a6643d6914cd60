from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class RelayConfig(AppConfig):
    name = "tsunagu.relay"
    label = "relay"
    verbose_name = _("キャリアリレー")

    def ready(self):
        from tsunagu.messaging.selectors import TIMELINE_SOURCES
        from tsunagu.relay.selectors import referral_clicks_timeline

        # A message's timeline in the outbox shows the clicks on its referral link (recorded here, in relay).
        if referral_clicks_timeline not in TIMELINE_SOURCES:
            TIMELINE_SOURCES.append(referral_clicks_timeline)
