from django.urls import path

from . import views

urlpatterns = [
    path("dashboard/", views.overview, name="overview"),
    path("pairs/<str:slug>/", views.pair_detail, name="pair"),
    path("pairs/<str:slug>/history.json", views.pair_history, name="pair_history"),
    path("pairs/<str:slug>/watch/", views.watch, name="watch"),
    path("health/", views.health, name="health"),
    path("health/pause/", views.pause_sync, name="pause_sync"),
    path("protocols/<slug:slug>/", views.protocol_detail, name="protocol"),
]
