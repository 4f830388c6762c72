from django.urls import path

from . import views

urlpatterns = [
    path("pricing/", views.pricing, name="pricing"),
    path("billing/start/", views.start, name="billing_start"),
    path("billing/stripe/webhook/", views.stripe_webhook, name="stripe_webhook"),
    path("orgs/<slug:slug>/billing/", views.billing_page, name="billing"),
    path("orgs/<slug:slug>/billing/checkout/", views.checkout, name="billing_checkout"),
    path("orgs/<slug:slug>/billing/change/", views.change, name="billing_change"),
    path("orgs/<slug:slug>/billing/cancel/", views.cancel, name="billing_cancel"),
    path("orgs/<slug:slug>/billing/portal/", views.portal, name="billing_portal"),
    path("orgs/<slug:slug>/billing/success/", views.success, name="billing_success"),
    path("orgs/<slug:slug>/billing/cancelled/", views.cancelled, name="billing_cancelled"),
]
