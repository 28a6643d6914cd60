"""The console's dashboard."""

from django.urls import path

from tsunagu.analytics import views

# Mounted under /console/ in the `console` namespace (tsunagu/urls.py).
console_patterns = [
    path("", views.dashboard, name="dashboard"),
]
