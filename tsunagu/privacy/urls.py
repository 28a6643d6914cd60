"""The privacy app's URLs: public pages under /privacy/ and the console's pages."""

from django.urls import path

from tsunagu.privacy.views import policy

urlpatterns = [
    # A company's (or the relay operator's) privacy policy: the stable address mail and pages link to.
    path("policy/<slug:slug>/", policy.policy, name="policy"),
]

# Mounted under /console/ in the `console` namespace (tsunagu/urls.py).
console_patterns = []
