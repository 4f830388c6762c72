from django.urls import path

from . import views

urlpatterns = [
    path("health/", views.health, name="health"),
    path("health/pause/", views.pause_sync, name="pause_sync"),
    path("protocols/<slug:slug>/", views.protocol_detail, name="protocol"),
]
