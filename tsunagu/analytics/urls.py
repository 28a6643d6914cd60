"""The console's dashboard, the A/B numbers of template variants, and the operator's figures by company."""

from django.urls import path

from tsunagu.analytics import operator_views, views

# Mounted under /console/ in the `console` namespace (tsunagu/urls.py), before messaging's pages: there
# `templates/<str:kind>/` would take `templates/ab/`.
console_patterns = [
    path("", views.dashboard, name="dashboard"),
    path("templates/ab/", views.template_variants, name="template_variants"),
    # The relay operator's figures across companies (operator staff only).
    path("operator/analytics/", operator_views.operator_analytics, name="operator_analytics"),
    path("operator/analytics.csv", operator_views.operator_analytics_csv, name="operator_analytics_csv"),
]
