from django.conf import settings


def console(request):
    return {
        "capture_mode": settings.EMAIL_BACKEND.endswith("CaptureEmailBackend"),
        "current_company": getattr(request, "company", None),
        "current_membership": getattr(request, "membership", None),
    }
