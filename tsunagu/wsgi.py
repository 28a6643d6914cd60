import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tsunagu.settings")
django_application = get_wsgi_application()

from tsunagu.messaging.tracking import fast_path  # noqa: E402 - needs Django set up first

# Tracked links and pixels are answered before Django's middleware (see tracking.fast_path): they are
# the highest-volume requests and use nothing of it.
application = fast_path(django_application)
