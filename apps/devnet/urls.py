from django.urls import path

from . import views

urlpatterns = [
    path("devnet/", views.devnet_page, name="devnet"),
    path("devnet/faults/", views.inject_fault, name="devnet_inject"),
    path("devnet/faults/clear/", views.clear_faults, name="devnet_clear"),
]
