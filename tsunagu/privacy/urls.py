"""The privacy app's URLs: public pages under /privacy/ and the console's pages."""

from django.urls import path

from tsunagu.privacy.views import company_export

urlpatterns = []

# Mounted under /console/ in the `console` namespace (tsunagu/urls.py).
console_patterns = [
    path("privacy/export/", company_export.company_export, name="company_export"),
    path("privacy/export.zip", company_export.company_export_zip, name="company_export_zip"),
    path("privacy/export.json", company_export.company_export_json, name="company_export_json"),
]
