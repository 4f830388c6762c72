import pytest
from django.urls import reverse

from tests.factories import MembershipFactory


@pytest.fixture
def viewer(client, tenants):
    """A viewer of the tenants' org, logged in with that org selected."""
    user = MembershipFactory(organization=tenants["org"], role="viewer").user
    client.force_login(user)
    switched = client.post(reverse("switch_organization"),
                           {"organization": tenants["org"].slug})
    assert switched.status_code == 302
    return user


@pytest.fixture
def tenants(tenants):
    """The alerts tests' organization is on Pro: they exercise every channel kind (Free allows
    email and webhooks only; tests/billing covers Free's limits)."""
    tenants["org"].plan = "pro"
    tenants["org"].save(update_fields=["plan"])
    return tenants
