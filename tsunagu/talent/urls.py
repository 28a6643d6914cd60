"""The console's candidate pages."""

from django.urls import path

from tsunagu.talent import views

# Mounted under /console/ in the `console` namespace (tsunagu/urls.py).
console_patterns = [
    path("candidates/", views.candidates, name="candidates"),
    path("candidates/tags/", views.candidates_tag, name="candidates_tag"),
    path("candidates/saved/", views.saved_search_add, name="saved_search_add"),
    path("candidates/saved/<int:search_id>/delete/", views.saved_search_delete, name="saved_search_delete"),
    path("candidates/<int:candidate_id>/", views.candidate_detail, name="candidate"),
    path("candidates/<int:candidate_id>/edit/", views.candidate_edit, name="candidate_edit"),
    path("candidates/<int:candidate_id>/tags/", views.candidate_tag, name="candidate_tag"),
]
