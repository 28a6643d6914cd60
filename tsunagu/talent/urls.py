"""The console's candidate pages."""

from django.urls import path

from tsunagu.talent import views

# Mounted under /console/ in the `console` namespace (tsunagu/urls.py).
console_patterns = [
    path("candidates/", views.candidates, name="candidates"),
    path("candidates/<int:candidate_id>/", views.candidate_detail, name="candidate"),
]
