from django.apps import apps
from django.contrib import admin
from django.urls import include, path

from apps.billing.views import signup

from . import views

urlpatterns = [
    path("api/v1/", include("oracle_platform.api_urls")),  # first: the busiest routes
    path("", views.home, name="home"),
    path("healthz", views.healthz, name="healthz"),
    path("readyz", views.readyz, name="readyz"),
    path("accounts/signup/", signup, name="account_signup"),  # with a plan; before allauth's
    path("accounts/", include("allauth.urls")),
    path("", include("apps.accounts.urls")),
    path("", include("apps.api_keys.urls")),
    path("", include("apps.alerts.urls")),
    path("", include("apps.billing.urls")),
    path("", include("apps.dashboard.urls")),
    path("", include("apps.status.urls")),
    path("admin/", admin.site.urls),
]

if apps.is_installed("apps.devnet"):  # a development tool: settings/devnet.py installs it
    urlpatterns.append(path("", include("apps.devnet.urls")))

handler404 = "oracle_platform.views.page_not_found"
handler500 = "oracle_platform.views.server_error"
