"""GET /api/v1/audit-events: owners' and admins' sessions and read-write keys read their own
organization's log, newest first, cursor-paginated and filtered; nothing can write it."""
from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from apps.api_keys.services import create_key
from apps.audit.context import Actor, acting_as
from apps.audit.services import record

from .conftest import api, bearer

URL = "/api/v1/audit-events"


def test_a_read_write_key_reads_its_organizations_log(client, tenants, writer):
    _, raw = writer
    with acting_as(Actor(via="session", email="ana@example.com", ip="203.0.113.9")):
        event = record(tenants["org"].pk, "members.role_changed", target_repr="bob@example.com",
                       before={"role": "member"}, after={"role": "admin"})
    response = api(client, "get", "audit-events", raw)
    assert response.status_code == 200
    newest = response.json()["results"][0]
    assert newest == {
        "id": event.pk, "created_at": newest["created_at"], "action": "members.role_changed",
        "target_type": "", "target_id": "", "target_repr": "bob@example.com",
        "before": {"role": "member"}, "after": {"role": "admin"}, "via": "session",
        "actor_email": "ana@example.com", "api_key_prefix": "", "ip": "203.0.113.9"}
    assert [e["action"] for e in response.json()["results"]] == [
        "members.role_changed", "api_keys.created"]  # the writer key's creation


def test_a_read_only_key_is_refused(client, reader):
    response = client.get(URL, **bearer(reader[1]))
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "permission_denied"


@pytest.mark.parametrize(("who", "status"), [("owner", 200), ("admin", 200), ("member", 403),
                                             ("viewer", 403)])
def test_sessions_of_owners_and_admins_only(client, tenants, admin, viewer, who, status):
    user = {"admin": admin, "viewer": viewer}.get(who) or tenants[who]
    client.force_login(user)
    client.post("/orgs/switch/", {"organization": tenants["org"].slug})
    assert client.get(URL).status_code == status


def test_no_key_is_401(client, db):
    assert client.get(URL).status_code == 401


def test_a_key_never_sees_another_organizations_events(client, tenants, writer):
    _, raw = writer
    other_key, other_raw = create_key(tenants["outsider_org"], name="theirs",
                                      scope="read_write")
    record(tenants["outsider_org"].pk, "organization.renamed", target_repr="Their Desk")
    record(tenants["org"].pk, "organization.renamed", target_repr="Our Desk")
    ours = [e["target_repr"] for e in client.get(URL, **bearer(raw)).json()["results"]]
    theirs = [e["target_repr"] for e in client.get(URL, **bearer(other_raw)).json()["results"]]
    assert "Our Desk" in ours and "Their Desk" not in ours
    assert "Their Desk" in theirs and "Our Desk" not in theirs
    assert all(other_key.prefix not in r for r in ours)


def test_filters_by_action_group_actor_and_time(client, tenants, writer):
    _, raw = writer
    org = tenants["org"]
    start = datetime(2026, 11, 26, 12, tzinfo=UTC)
    for hours, action, email in ((0, "organization.renamed", "ana@example.com"),
                                 (1, "api_keys.rotated", "ana@example.com"),
                                 (2, "api_keys.revoked", "cy@example.com")):
        with acting_as(Actor(via="session", email=email)), \
                time_machine.travel(start + timedelta(hours=hours), tick=False):
            record(org.pk, action)

    def actions(**query):
        response = client.get(URL, query, **bearer(raw))
        assert response.status_code == 200, response.json()
        return [e["action"] for e in response.json()["results"]]

    assert actions(action="api_keys.rotated") == ["api_keys.rotated"]
    assert actions(action="api_keys", until="2026-11-27T00:00:00Z") == [
        "api_keys.revoked", "api_keys.rotated"]
    assert actions(actor="ana@example.com") == ["api_keys.rotated", "organization.renamed"]
    assert actions(since="2026-11-26T13:00:00Z", until="2026-11-26T14:00:00+00:00") == [
        "api_keys.rotated"]


@pytest.mark.parametrize(("query", "field"), [
    ({"action": "members.promoted"}, "action"), ({"since": "yesterday"}, "since"),
    ({"until": "2026-11-26T12:00:00"}, "until"),  # no zone: refused, not guessed
    ({"since": "2026-11-27T00:00:00Z", "until": "2026-11-26T00:00:00Z"}, "since"),
    ({"limit": "0"}, "limit")])
def test_bad_filters_are_400_naming_the_parameter(client, writer, query, field):
    response = client.get(URL, query, **bearer(writer[1]))
    assert response.status_code == 400
    assert list(response.json()["error"]["details"]) == [field]


def test_the_log_is_cursor_paginated(client, tenants, writer):
    _, raw = writer
    for n in range(3):
        record(tenants["org"].pk, "alert_rules.created", target_repr=f"rule {n}")
    page = client.get(URL, {"limit": 2}, **bearer(raw)).json()
    assert [e["target_repr"] for e in page["results"]] == ["rule 2", "rule 1"]
    rest = client.get(page["next"], **bearer(raw)).json()
    assert rest["results"][0]["target_repr"] == "rule 0"


@pytest.mark.parametrize("method", ["post", "put", "patch", "delete"])
def test_the_log_cannot_be_written_through_the_api(client, tenants, writer, method):
    event = record(tenants["org"].pk, "organization.renamed", after={"name": "x"})
    response = api(client, method, "audit-events", writer[1], {"action": "forged"})
    assert response.status_code == 405
    event.refresh_from_db()
    assert (event.action, event.after) == ("organization.renamed", {"name": "x"})
