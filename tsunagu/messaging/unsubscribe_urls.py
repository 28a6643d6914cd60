"""The candidate's unsubscribe pages (no login, no cookies): /u/<token> and its preference page."""

from django.urls import path

from tsunagu.messaging import views

app_name = "unsubscribe"
urlpatterns = [
    path("<str:token>", views.unsubscribe, name="confirm"),
    path("<str:token>/preferences", views.unsubscribe_preferences, name="preferences"),
]
