from django.shortcuts import get_object_or_404
from ninja import Router

from tsunagu.talent.models import Application
from tsunagu.talent.schemas import ApplicationOut, application_out

router = Router()


@router.get("/{external_id}", response=ApplicationOut, summary="Read an application and its notice")
def get_application(request, external_id: str):
    application = get_object_or_404(
        Application.objects.select_related("candidate", "job"), company=request.auth, external_id=external_id
    )
    return application_out(application)
