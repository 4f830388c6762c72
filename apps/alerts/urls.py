from django.urls import path

from . import views

_ENDPOINT = "orgs/<slug:slug>/webhooks/<int:endpoint_id>/"

urlpatterns = [
    path("orgs/<slug:slug>/webhooks/", views.webhooks, name="webhooks"),
    path("orgs/<slug:slug>/webhooks/create/", views.create, name="webhook_create"),
    path(_ENDPOINT, views.webhook, name="webhook"),
    path(f"{_ENDPOINT}edit/", views.update, name="webhook_update"),
    path(f"{_ENDPOINT}rotate/", views.rotate, name="webhook_rotate"),
    path(f"{_ENDPOINT}test/", views.send_test, name="webhook_test"),
    path(f"{_ENDPOINT}delete/", views.delete, name="webhook_delete"),
    path(f"{_ENDPOINT}messages/<str:msg_id>/redeliver/", views.redeliver,
         name="webhook_redeliver"),
]
