import warnings

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class MessagingConfig(AppConfig):
    name = "tsunagu.messaging"
    label = "messaging"
    verbose_name = _("メール")

    def ready(self):
        from anymail.exceptions import AnymailNotSupportedWarning
        from anymail.signals import tracking

        from tsunagu.companies.signals import company_created
        from tsunagu.messaging.actions.provider_events import record_provider_event
        from tsunagu.messaging.actions.templates import install_default_templates

        company_created.connect(lambda sender, company, **kwargs: install_default_templates(company),
                                dispatch_uid="tsunagu.messaging.default_templates", weak=False)

        # Providers' delivery and engagement events, normalised by django-anymail's webhook views.
        tracking.connect(record_provider_event, dispatch_uid="tsunagu.messaging.provider_events")
        # anymail warns on every SendGrid view and backend that SendGrid is no longer among the providers it
        # tests against; Tsunagu's own tests cover the SendGrid paths it uses, so the notice is noise here.
        warnings.filterwarnings("ignore", message="django-anymail has dropped official support for SendGrid",
                                category=AnymailNotSupportedWarning)
