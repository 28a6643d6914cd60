from django.contrib import admin
from django.http import JsonResponse
from django.urls import include, path
from django.views.generic import RedirectView

from tsunagu.api import api
from tsunagu.intake import endpoints as webhook_endpoint
from tsunagu.messaging import tracking


def health(request):
    return JsonResponse({"ok": True})


urlpatterns = [
    path("", RedirectView.as_view(url="/console/", permanent=False)),
    path("healthz", health, name="health"),
    path("api/v1/", api.urls),
    path("console/", include("tsunagu.console_urls")),
    path("r/", include("tsunagu.relay.urls")),
    # Tracked links and the open pixel in mail: answered from the signed token alone (messaging/tracking.py).
    path("t/c/<str:token>", tracking.click, name="track_click"),
    path("t/o/<str:token>.gif", tracking.pixel, name="track_open"),
    path("u/", include("tsunagu.messaging.unsubscribe_urls")),
    path("hooks/<str:kind>/<str:token>", webhook_endpoint.receive, name="webhook"),
    # E-mail providers' event webhooks (django-anymail): /mail/events/<provider>/tracking/
    path("mail/events/", include("tsunagu.messaging.provider_urls")),
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/", admin.site.urls),
]
