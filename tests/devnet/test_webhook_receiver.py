"""The devnet's local webhook receiver: alerts can be tried end to end on `make run`."""
from django.core.cache import cache

from apps.alerts.services.delivery import deliver_webhooks
from apps.alerts.services.webhooks import create_endpoint, send_test


def test_deliveries_to_the_local_receiver_are_listed_with_their_signature_checked(
        client, live_server, admin_user, settings, tenants):
    cache.delete("devnet:webhooks:received")
    settings.OP_OUTBOUND_ALLOWED_HOSTS = ["localhost", "127.0.0.1"]
    url = f"{live_server.url}/devnet/webhooks/receive/"
    endpoint = create_endpoint(tenants["org"], url=url, events=["alert.opened"])
    send_test(endpoint)
    assert deliver_webhooks() == 1
    client.force_login(admin_user)
    page = client.get("/devnet/webhooks/")
    body = page.content.decode()
    assert page.status_code == 200 and "✓ valid" in body and "webhook.test" in body


def test_the_receiver_exists_only_on_the_devnet(client, db, settings):
    settings.OP_NETWORK = "mainnet"
    assert client.post("/devnet/webhooks/receive/", b"{}",
                       content_type="application/json").status_code == 404
