import json

import pytest
from django.core.serializers.json import DjangoJSONEncoder

from apps.api_keys.services import create_key
from apps.audit.models import AuditEvent
from tests.api.conftest import _fresh_api_state, bearer  # noqa: F401 (autouse: no rate limits)
from tests.factories import MembershipFactory

IP = "203.0.113.9"  # every request of these tests comes from here


@pytest.fixture
def admin(tenants):
    return MembershipFactory(organization=tenants["org"], role="admin").user


@pytest.fixture
def viewer(tenants):
    return MembershipFactory(organization=tenants["org"], role="viewer").user


@pytest.fixture
def writer(tenants):
    """A read-write key of the tenants' org, as (ApiKey, plaintext)."""
    return create_key(tenants["org"], name="writer", scope="read_write",
                      created_by=tenants["owner"])


@pytest.fixture
def reader(tenants):
    return create_key(tenants["org"], name="reader", created_by=tenants["owner"])


@pytest.fixture
def as_owner(client, tenants):
    """The client logged in as the owner, the tenants' org selected."""
    client.force_login(tenants["owner"])
    client.post("/orgs/switch/", {"organization": tenants["org"].slug})
    return client


def api(client, method, path, raw, body=None):
    """An API call with the key `raw`, from IP."""
    extra = {"content_type": "application/json", "REMOTE_ADDR": IP}
    if body is not None:
        extra["data"] = json.dumps(body)
    return getattr(client, method)(f"/api/v1/{path}", **extra, **bearer(raw))


def last(action: str) -> AuditEvent:
    """The newest event of `action` (there must be one)."""
    return AuditEvent.objects.filter(action=action).latest("id")


def stored_json(event: AuditEvent) -> str:
    return json.dumps([event.before, event.after, event.target_repr], default=str)


def encoded(when) -> str:
    """A time as the log stores it (DjangoJSONEncoder: milliseconds, Z)."""
    return DjangoJSONEncoder().default(when)
