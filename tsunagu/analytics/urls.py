"""The console's dashboard, and the A/B numbers of template variants."""

from django.urls import path

from tsunagu.analytics import views

# Mounted under /console/ in the `console` namespace (tsunagu/urls.py), before messaging's pages: there
# `templates/<str:kind>/` would take `templates/ab/`.
console_patterns = [
    path("", views.dashboard, name="dashboard"),
    path("templates/ab/", views.template_variants, name="template_variants"),
]
