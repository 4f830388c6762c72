"""Every model is in the admin, and each changelist loads for a superuser."""
import pytest
from django.apps import apps
from django.contrib import admin
from django.urls import reverse

OURS = {"accounts", "feeds", "protocols", "devnet"}


def our_models():
    return [m for m in apps.get_models() if m._meta.app_label in OURS]


def test_every_model_is_registered():
    missing = [m.__name__ for m in our_models() if m not in admin.site._registry]
    assert missing == []


@pytest.mark.parametrize("model", our_models(), ids=lambda m: m.__name__)
def test_changelist_loads(admin_client, model):
    url = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")
    assert admin_client.get(url).status_code == 200
