"""/api/v1/webhooks: the endpoints' API, scoped to the caller's organization."""
import pytest

from apps.alerts import signing
from apps.alerts.models import WebhookEndpoint
from apps.alerts.services.delivery import deliver_webhooks
from apps.alerts.services.webhooks import create_endpoint
from apps.api_keys.services import create_key
from tests.api.conftest import bearer
from tests.factories import AssetFactory, MembershipFactory, PairFactory

from .receiver import Receiver


@pytest.fixture
def receiver(settings):
    settings.OP_OUTBOUND_ALLOWED_HOSTS = ["127.0.0.1"]
    receiver = Receiver()
    yield receiver
    receiver.close()


@pytest.fixture
def writer(tenants):
    return create_key(tenants["org"], name="w", scope="read_write")[1]


def create(client, raw, receiver, **extra):
    body = {"url": f"{receiver.url}/in", "events": ["alert.opened"], **extra}
    return client.post("/api/v1/webhooks", body, content_type="application/json", **bearer(raw))


def test_creating_an_endpoint_returns_its_secret_once(client, writer, receiver):
    response = create(client, writer, receiver, description="desk")
    assert response.status_code == 201
    body = response.json()
    assert body["secret"].startswith("whsec_") and body["events"] == ["alert.opened"]
    listed = client.get("/api/v1/webhooks", **bearer(writer)).json()["results"]
    assert [e["id"] for e in listed] == [body["id"]] and "secret" not in listed[0]
    assert "secret" not in client.get(f"/api/v1/webhooks/{body['id']}", **bearer(writer)).json()


def test_private_urls_unknown_events_and_pairs_are_refused(client, writer, settings):
    settings.OP_OUTBOUND_ALLOWED_HOSTS = []
    response = client.post("/api/v1/webhooks", {
        "url": "http://169.254.169.254/latest", "events": ["price.updated"],
        "pairs": ["NOPE-USD"]}, content_type="application/json", **bearer(writer))
    assert response.status_code == 400
    assert set(response.json()["error"]["details"]) == {"url", "pairs"}
    bad_event = client.post("/api/v1/webhooks", {"url": "https://x.example", "events": ["x"]},
                            content_type="application/json", **bearer(writer))
    assert bad_event.status_code == 400 and "events" in bad_event.json()["error"]["details"]


def test_a_test_event_is_delivered_signed_and_shows_its_attempt(client, writer, receiver):
    created = create(client, writer, receiver).json()
    queued = client.post(f"/api/v1/webhooks/{created['id']}/test", **bearer(writer))
    assert queued.status_code == 202 and queued.json()["status"] == "pending"
    deliver_webhooks()
    [request] = receiver.requests
    signing.verify(created["secret"], request.headers, request.body)
    messages = client.get(f"/api/v1/webhooks/{created['id']}/messages",
                          **bearer(writer)).json()["results"]
    assert messages[0]["status"] == "delivered"
    assert messages[0]["recent_attempts"][0]["status_code"] == 200
    again = client.post(f"/api/v1/webhooks/{created['id']}/messages/{messages[0]['msg_id']}"
                        "/redeliver", **bearer(writer))
    assert again.status_code == 202 and again.json()["status"] == "pending"


def test_update_rotate_and_delete(client, writer, receiver):
    PairFactory(base=AssetFactory(symbol="ETH"))
    created = create(client, writer, receiver).json()
    url = f"/api/v1/webhooks/{created['id']}"
    updated = client.put(url, {"url": f"{receiver.url}/v2", "events": ["price.updated"],
                               "pairs": ["ETH-USD"], "enabled": True},
                         content_type="application/json", **bearer(writer))
    assert updated.status_code == 200 and updated.json()["pairs"] == ["ETH-USD"]
    rotated = client.post(f"{url}/rotate-secret", **bearer(writer)).json()
    assert rotated["secret"] != created["secret"]
    assert client.delete(url, **bearer(writer)).status_code == 204
    assert not WebhookEndpoint.objects.filter(pk=created["id"]).exists()


def test_other_organizations_endpoints_are_invisible(client, writer, tenants, receiver):
    theirs = create_endpoint(tenants["outsider_org"], url=f"{receiver.url}/t",
                             events=["alert.opened"])
    for method, path in (("get", ""), ("put", ""), ("delete", ""), ("post", "/test"),
                         ("post", "/rotate-secret"), ("get", "/messages")):
        response = getattr(client, method)(f"/api/v1/webhooks/{theirs.pk}{path}",
                                           content_type="application/json", **bearer(writer))
        assert response.status_code == 404, (method, path)
    assert client.get("/api/v1/webhooks", **bearer(writer)).json()["results"] == []
    theirs.refresh_from_db()
    assert theirs.enabled


def test_read_only_keys_and_viewers_cannot_change_endpoints(client, tenants, receiver):
    _, reader = create_key(tenants["org"], name="r")
    assert create(client, reader, receiver).status_code == 403
    viewer = MembershipFactory(organization=tenants["org"], role="viewer").user
    client.force_login(viewer)
    client.post("/orgs/switch/", {"organization": tenants["org"].slug})
    response = client.post("/api/v1/webhooks", {"url": f"{receiver.url}/in",
                                                "events": ["alert.opened"]},
                           content_type="application/json")
    assert response.status_code == 403
    assert client.get("/api/v1/webhooks").status_code == 200
