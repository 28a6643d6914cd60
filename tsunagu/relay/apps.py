from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class RelayConfig(AppConfig):
    name = "tsunagu.relay"
    label = "relay"
    verbose_name = _("キャリアリレー")

    def ready(self):
        from tsunagu.companies.signals import company_created
        from tsunagu.messaging.selectors import TIMELINE_SOURCES
        from tsunagu.relay.actions.contracts import ensure_contract
        from tsunagu.relay.selectors import referral_clicks_timeline

        # Every client company starts with the default contract (ratio 10, no fee), which operator staff edit.
        company_created.connect(lambda sender, company, **kwargs: None if company.is_operator
                                else ensure_contract(company), dispatch_uid="tsunagu.relay.contract", weak=False)

        # A message's timeline in the outbox shows the clicks on its referral link (recorded here, in relay).
        if referral_clicks_timeline not in TIMELINE_SOURCES:
            TIMELINE_SOURCES.append(referral_clicks_timeline)
