"""The console's pages of companies: signing in, switching company, settings and API keys."""

from django.contrib.auth import views as auth_views
from django.urls import path

from tsunagu.companies import views

# Mounted under /console/ in the `console` namespace (tsunagu/urls.py).
console_patterns = [
    path("login/", views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("company/switch/", views.switch_company, name="switch_company"),
    path("settings/", views.settings_page, name="settings"),
    path("settings/api-keys/", views.api_key_create, name="api_key_create"),
    path("settings/api-keys/<int:key_id>/revoke/", views.api_key_revoke, name="api_key_revoke"),
]
