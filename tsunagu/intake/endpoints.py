"""The HTTP endpoint every ATS posts its webhooks to: /hooks/<kind>/<token>."""

from django.http import Http404, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from tsunagu.intake import webhooks


@csrf_exempt
@require_POST
def receive(request, kind: str, token: str):
    connection = webhooks.webhook_connection(kind, token)  # None for polled ATSs: they have no webhook
    if connection is None:
        raise Http404
    receipt = webhooks.receive_delivery(connection, request.headers, request.body)
    return JsonResponse({"detail": receipt.detail}, status=receipt.status_code)
