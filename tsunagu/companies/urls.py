"""The console's pages of companies: signing in, switching company, settings and API keys."""

from django.contrib.auth import views as auth_views
from django.urls import path

from tsunagu.companies import access_log_views, two_factor_views, views

# Mounted under /console/ in the `console` namespace (tsunagu/urls.py).
console_patterns = [
    path("login/", views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    # The second factor (TOTP): the code after the password, and the user's own enrolment.
    path("login/code/", two_factor_views.two_factor_verify, name="two_factor_verify"),
    path("account/two-factor/", two_factor_views.two_factor, name="two_factor"),
    path("account/two-factor/start/", two_factor_views.two_factor_start, name="two_factor_start"),
    path("account/two-factor/confirm/", two_factor_views.two_factor_confirm, name="two_factor_confirm"),
    path("account/two-factor/disable/", two_factor_views.two_factor_disable, name="two_factor_disable"),
    path("account/two-factor/qr.svg", two_factor_views.two_factor_qr, name="two_factor_qr"),
    path("company/switch/", views.switch_company, name="switch_company"),
    path("settings/", views.settings_page, name="settings"),
    path("settings/api-keys/", views.api_key_create, name="api_key_create"),
    path("settings/api-keys/<int:key_id>/revoke/", views.api_key_revoke, name="api_key_revoke"),
    # Who read or changed personal data: the company's access log, and its CSV (GET only: nothing changes it).
    path("access-log/", access_log_views.access_log, name="access_log"),
    path("access-log.csv", access_log_views.access_log_csv, name="access_log_csv"),
]
