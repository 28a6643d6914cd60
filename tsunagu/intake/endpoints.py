"""The HTTP endpoint every ATS posts its webhooks to: /hooks/<kind>/<token>."""

from django.http import Http404, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from tsunagu.intake import webhooks
from tsunagu.intake.models import AtsConnection


@csrf_exempt
@require_POST
def receive(request, kind: str, token: str):
    connection = AtsConnection.objects.select_related("company").filter(kind=kind, token=token, active=True).first()
    if connection is None or connection.kind not in webhooks.WEBHOOK_KINDS:  # polled ATSs have no webhook
        raise Http404
    receipt = webhooks.receive_delivery(connection, request.headers, request.body)
    return JsonResponse({"detail": receipt.detail}, status=receipt.status_code)
