"""The Host header: ALLOWED_HOSTS (tsunagu.config.allowed_hosts) refuses every host but ours with 400, except
for the health check, which load balancers and orchestrators probe by the instance's address."""

from __future__ import annotations

from django.core.exceptions import DisallowedHost
from django.http import JsonResponse

HEALTH_PATH = "/healthz"


class HealthCheckAnyHostMiddleware:
    """Answer GET /healthz whatever the Host (placed before CommonMiddleware, which checks it). A request with
    one of our hosts goes on to the real view as before; only the probes that name an address get this
    answer, which says as much as the view does."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.path_info == HEALTH_PATH and request.method in ("GET", "HEAD"):
            try:
                request.get_host()
            except DisallowedHost:
                return JsonResponse({"ok": True})
        return self.get_response(request)
