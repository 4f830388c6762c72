import pytest
from django.urls import reverse


def test_healthz_answers_without_touching_the_database(client):
    # No `db` fixture: any query here would raise.
    response = client.get(reverse("healthz"))
    assert response.json() == {"status": "ok"}


def test_readyz_reports_the_database(client, db, settings):
    settings.REDIS_URL = ""
    response = client.get(reverse("readyz"))
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "checks": {"database": "ok"}}


def test_readyz_is_503_when_redis_is_configured_but_down(client, db, settings):
    settings.REDIS_URL = "redis://127.0.0.1:1/0"  # nothing listens on port 1
    response = client.get(reverse("readyz"))
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unavailable"
    assert body["checks"]["database"] == "ok"
    assert body["checks"]["redis"].startswith("ConnectionError")


@pytest.mark.redis
def test_readyz_checks_the_configured_redis(client, db):
    response = client.get(reverse("readyz"))
    assert response.json()["checks"]["redis"] == "ok"
