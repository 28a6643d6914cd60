from django.urls import path

from tsunagu.relay import views

app_name = "relay"
urlpatterns = [
    path("verify/<str:token>", views.verify, name="verify"),
    path("<str:token>", views.landing, name="landing"),
    path("<str:token>/sent", views.sent, name="sent"),
]
