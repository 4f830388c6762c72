from django.urls import path

from . import views

urlpatterns = [
    path("orgs/<slug:slug>/api-keys/", views.api_keys, name="api_keys"),
    path("orgs/<slug:slug>/api-keys/create/", views.create, name="api_key_create"),
    path("orgs/<slug:slug>/api-keys/<int:key_id>/rotate/", views.rotate, name="api_key_rotate"),
    path("orgs/<slug:slug>/api-keys/<int:key_id>/revoke/", views.revoke, name="api_key_revoke"),
]
