"""The console's dashboard and analysis pages, the A/B numbers of template variants, and the operator's
figures by company."""

from django.urls import path

from tsunagu.analytics import cost_views, operator_views, table_views, views

# Mounted under /console/ in the `console` namespace (tsunagu/urls.py), before messaging's pages: there
# `templates/<str:kind>/` would take `templates/ab/`.
console_patterns = [
    path("", views.dashboard, name="dashboard"),
    path("analytics/report/", views.report, name="analytics_report"),
    path("analytics/funnel/", table_views.funnel_page, name="analytics_funnel"),
    path("analytics/funnel.csv", table_views.funnel_csv, name="analytics_funnel_csv"),
    path("analytics/trend.csv", table_views.trend_csv, name="analytics_trend_csv"),
    path("analytics/variants.csv", table_views.variants_csv, name="analytics_variants_csv"),
    path("analytics/costs/", cost_views.hiring_costs, name="hiring_costs"),
    path("templates/ab/", views.template_variants, name="template_variants"),
    # The relay operator's figures across companies (operator staff only).
    path("operator/analytics/", operator_views.operator_analytics, name="operator_analytics"),
    path("operator/analytics.csv", operator_views.operator_analytics_csv, name="operator_analytics_csv"),
]
