from django.urls import path

from . import views

urlpatterns = [
    path("devnet/", views.devnet_page, name="devnet"),
    path("devnet/faults/", views.inject_fault, name="devnet_inject"),
    path("devnet/faults/clear/", views.clear_faults, name="devnet_clear"),
    path("devnet/webhooks/", views.received_webhooks, name="devnet_webhooks"),
    path("devnet/webhooks/receive/", views.receive_webhook, name="devnet_webhook_receive"),
]
