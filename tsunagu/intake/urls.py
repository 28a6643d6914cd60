"""Intake's URLs: the ATS webhook endpoint, and the console's import and connection pages."""

from django.urls import path

from tsunagu.intake import endpoints, views

urlpatterns = [
    # Also answered before Django's middleware (endpoints.fast_path in tsunagu/wsgi.py).
    path("hooks/<str:kind>/<str:token>", endpoints.receive, name="webhook"),
]

# Mounted under /console/ in the `console` namespace (tsunagu/urls.py).
console_patterns = [
    path("imports/", views.imports, name="imports"),
    path("imports/<int:job_id>/", views.import_detail, name="import_detail"),
    path("imports/<int:job_id>/progress/", views.import_progress, name="import_progress"),
    path("connections/", views.connections, name="connections"),
    path("connections/<int:connection_id>/", views.connection_detail, name="connection"),
    path("connections/<int:connection_id>/test/", views.connection_test, name="connection_test"),
    path("connections/<int:connection_id>/poll/", views.connection_poll, name="connection_poll"),
    path("connections/<int:connection_id>/reveal/", views.connection_reveal, name="connection_reveal"),
]
