from django.contrib import admin
from django.http import JsonResponse
from django.urls import include, path
from django.views.generic import RedirectView

from tsunagu.api import api
from tsunagu.intake import endpoints as webhook_endpoint


def health(request):
    return JsonResponse({"ok": True})


urlpatterns = [
    path("", RedirectView.as_view(url="/console/", permanent=False)),
    path("healthz", health, name="health"),
    path("api/v1/", api.urls),
    path("console/", include("tsunagu.console_urls")),
    path("r/", include("tsunagu.relay.urls")),
    path("hooks/<str:kind>/<str:token>", webhook_endpoint.receive, name="webhook"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/", admin.site.urls),
]
