"""Every URL: each app owns its patterns (its urls.py); the console's pages share the `console` namespace."""

from django.contrib import admin
from django.http import JsonResponse
from django.urls import include, path
from django.views.generic import RedirectView

from tsunagu.analytics import urls as analytics
from tsunagu.api import api
from tsunagu.companies import urls as companies
from tsunagu.intake import urls as intake
from tsunagu.messaging import urls as messaging
from tsunagu.privacy import urls as privacy
from tsunagu.relay import urls as relay
from tsunagu.talent import urls as talent


def health(request):
    return JsonResponse({"ok": True})


# Messaging's last: its `templates/<str:kind>/` would take any fixed path under templates/ listed after it.
console_patterns = [
    *analytics.console_patterns,
    *companies.console_patterns,
    *talent.console_patterns,
    *intake.console_patterns,
    *privacy.console_patterns,
    *relay.console_patterns,
    *messaging.console_patterns,
]

urlpatterns = [
    path("", RedirectView.as_view(url="/console/", permanent=False)),
    path("healthz", health, name="health"),
    path("api/v1/", api.urls),
    path("console/", include((console_patterns, "console"))),
    path("privacy/", include((privacy.urlpatterns, "privacy"))),
    *relay.urlpatterns,
    *messaging.urlpatterns,
    *intake.urlpatterns,
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/", admin.site.urls),
]
