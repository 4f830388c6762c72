"""`GET /api/v1/status` is public for the availability probe — that exact path, not every path
that starts with it: anything else under /api/v1/ still needs a key."""
import pytest

from apps.api_keys import runtime
from apps.api_keys.services import create_key


@pytest.fixture(autouse=True)
def _fresh_key_cache():
    runtime.reset()
    yield
    runtime.reset()


def test_the_status_endpoint_itself_needs_no_key(client, db):
    response = client.get("/api/v1/status")
    assert response.status_code == 200
    assert response.json()["status"] == "ok"


@pytest.mark.parametrize("path", ["/api/v1/statusx", "/api/v1/status-anything",
                                  "/api/v1/status/", "/api/v1/status/x"])
def test_a_path_that_only_starts_like_the_status_endpoint_needs_a_key(client, db, path):
    response = client.get(path)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "not_authenticated"
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_with_a_key_such_a_path_is_an_api_404_not_the_status_answer(client, tenants):
    _, raw = create_key(tenants["org"], name="reader", created_by=tenants["owner"])
    response = client.get("/api/v1/statusx", HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


@pytest.mark.parametrize("path", ["/api/v1/schema/", "/api/v1/docs/", "/api/v1/redoc/"])
def test_the_schema_and_documentation_pages_stay_public(client, db, path):
    assert client.get(path).status_code == 200
