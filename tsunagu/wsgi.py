import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tsunagu.settings")
django_application = get_wsgi_application()

from tsunagu.intake import endpoints  # noqa: E402 - needs Django set up first
from tsunagu.messaging.views import tracking  # noqa: E402

# Tracked links, pixels and ATS webhooks are answered before Django's middleware (see each fast_path):
# they are the highest-volume requests and use nothing of it.
application = endpoints.fast_path(tracking.fast_path(django_application))
