"""/api/v1/alerts/: a rule's escalation and mute, maintenance windows; scoped to the caller's
organization, writes need a read-write key, refusals name the field."""
import json
from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone

from apps.alerts.models import MaintenanceWindow
from apps.alerts.services.channels import create_channel
from apps.alerts.services.maintenance import create_maintenance_window, mute_rule, set_escalation
from apps.alerts.services.rules import create_rule
from apps.api_keys.services import create_key
from tests.api.conftest import _fresh_api_state, bearer  # noqa: F401 (autouse: no rate limits)


@pytest.fixture
def writer(tenants):
    return create_key(tenants["org"], name="w", scope="read_write")[1]


@pytest.fixture
def reader(tenants):
    return create_key(tenants["org"], name="r", scope="read")[1]


@pytest.fixture
def channel(tenants):
    return create_channel(tenants["org"], kind="email", name="ops",
                          config={"to": ["ops@example.com"]})


@pytest.fixture
def rule(tenants, channel):
    return create_rule(tenants["org"], name="down", kind="status", scope="all",
                       channels=[channel.pk])


def call(client, method, path, raw, body=None):
    extra = {"content_type": "application/json"}
    if body is not None:
        extra["data"] = json.dumps(body)
    return getattr(client, method)(f"/api/v1/alerts/{path}", **extra, **bearer(raw))


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def later(**delta) -> datetime:
    return timezone.now().replace(microsecond=0) + timedelta(**delta)


def details(response) -> dict:
    body = response.json()
    assert body["error"]["code"] == "invalid_request", body
    return body["error"]["details"]


# --- the rule output ----------------------------------------------------------------------------

def test_rules_show_escalation_and_mute_read_only(client, writer, rule, channel):
    shown = call(client, "get", f"rules/{rule.pk}", writer).json()
    assert (shown["escalation_channels"], shown["escalate_after_minutes"],
            shown["muted_until"]) == ([], 0, None)
    set_escalation(rule, channels=[channel.pk], after_minutes=20)
    until = later(hours=2)
    mute_rule(rule, until=until)
    listed = call(client, "get", "rules", writer).json()["results"][0]
    assert (listed["escalation_channels"], listed["escalate_after_minutes"],
            listed["muted_until"]) == ([channel.pk], 20, iso(until))
    # the rule's PUT does not take them, nor change them
    changed = call(client, "put", f"rules/{rule.pk}", writer, {
        "name": "down", "kind": "status", "scope": "all", "escalate_after_minutes": 0,
        "muted_until": None, "escalation_channels": []})
    assert changed.status_code == 200, changed.json()
    assert (changed.json()["escalate_after_minutes"], changed.json()["muted_until"]) == (
        20, iso(until))


# --- escalation ---------------------------------------------------------------------------------

def test_escalation_is_set_and_turned_off(client, writer, rule, channel):
    response = call(client, "put", f"rules/{rule.pk}/escalation", writer,
                    {"channels": [channel.pk], "after_minutes": 15})
    assert response.status_code == 200, response.json()
    assert (response.json()["escalation_channels"],
            response.json()["escalate_after_minutes"]) == ([channel.pk], 15)
    rule.refresh_from_db()
    assert rule.escalate_after_minutes == 15 and list(rule.escalation_channels.all()) == [channel]
    off = call(client, "put", f"rules/{rule.pk}/escalation", writer,
               {"channels": [], "after_minutes": 0})
    assert off.status_code == 200
    assert (off.json()["escalation_channels"], off.json()["escalate_after_minutes"]) == ([], 0)


@pytest.mark.parametrize(("body", "field"), [
    ({"channels": [], "after_minutes": 15}, "channels"),  # escalating needs a channel
    ({"channels": [2_000_000_000], "after_minutes": 15}, "channels"),  # unknown
    ({"channels": ["1"], "after_minutes": 15}, "channels"),  # not a JSON integer
    ({"channels": [], "after_minutes": -1}, "after_minutes"),
    ({"channels": [], "after_minutes": 10081}, "after_minutes"),
    ({"channels": [], "after_minutes": "15"}, "after_minutes"),
    ({"channels": [], "after_minutes": 1.5}, "after_minutes"),
    ({"after_minutes": 0}, "channels"),  # required
    ({"channels": []}, "after_minutes"),
])
def test_invalid_escalation_is_refused_with_the_field(client, writer, rule, body, field):
    response = call(client, "put", f"rules/{rule.pk}/escalation", writer, body)
    assert response.status_code == 400
    assert field in details(response)
    rule.refresh_from_db()
    assert rule.escalate_after_minutes == 0 and not rule.escalation_channels.exists()


def test_another_organizations_channel_is_unknown(client, writer, rule, tenants):
    theirs = create_channel(tenants["outsider_org"], kind="email", name="theirs",
                            config={"to": ["them@example.com"]})
    response = call(client, "put", f"rules/{rule.pk}/escalation", writer,
                    {"channels": [theirs.pk], "after_minutes": 5})
    assert response.status_code == 400
    assert details(response) == {"channels": ["Unknown channels."]}


# --- mute ---------------------------------------------------------------------------------------

def test_a_rule_is_muted_with_a_zone_and_unmuted_with_null(client, writer, rule):
    until = later(hours=5)
    offset = until.astimezone(timezone.get_fixed_timezone(120)).isoformat()  # +02:00
    response = call(client, "put", f"rules/{rule.pk}/mute", writer, {"until": offset})
    assert response.status_code == 200, response.json()
    assert response.json()["muted_until"] == iso(until)
    rule.refresh_from_db()
    assert rule.muted_until == until
    unmuted = call(client, "put", f"rules/{rule.pk}/mute", writer, {"until": None})
    assert unmuted.status_code == 200 and unmuted.json()["muted_until"] is None
    rule.refresh_from_db()
    assert rule.muted_until is None


@pytest.mark.parametrize("until", [
    "PAST", "FAR", "NAIVE", "tomorrow", 1767225600, "", "MISSING"])
def test_invalid_mutes_are_refused_with_the_field(client, writer, rule, until):
    value = {"PAST": iso(later(hours=-1)), "FAR": iso(later(days=91)),
             "NAIVE": later(hours=1).astimezone(UTC).replace(tzinfo=None).isoformat()}.get(
        until, until)
    response = call(client, "put", f"rules/{rule.pk}/mute", writer,
                    {} if until == "MISSING" else {"until": value})
    assert response.status_code == 400
    assert "until" in details(response)
    rule.refresh_from_db()
    assert rule.muted_until is None


# --- maintenance windows ------------------------------------------------------------------------

def test_windows_are_created_listed_and_deleted(client, writer, tenants):
    starts, ends = later(hours=-1), later(hours=1)
    current = call(client, "post", "maintenance-windows", writer,
                   {"starts_at": iso(starts), "ends_at": iso(ends), "reason": " upgrade "})
    assert current.status_code == 201, current.json()
    assert {k: v for k, v in current.json().items() if k != "id"} == {
        "starts_at": iso(starts), "ends_at": iso(ends), "reason": "upgrade", "state": "current"}
    upcoming = call(client, "post", "maintenance-windows", writer,
                    {"starts_at": iso(later(days=1)), "ends_at": iso(later(days=2))}).json()
    assert (upcoming["state"], upcoming["reason"]) == ("upcoming", "")
    past = MaintenanceWindow.objects.create(organization=tenants["org"],
                                            starts_at=later(days=-2), ends_at=later(days=-1))
    MaintenanceWindow.objects.create(organization=tenants["outsider_org"],
                                     starts_at=starts, ends_at=ends)
    listed = call(client, "get", "maintenance-windows?limit=2", writer).json()
    assert [w["id"] for w in listed["results"]] == [past.pk, upcoming["id"]]
    assert listed["results"][0]["state"] == "past" and listed["next"]
    rest = client.get(listed["next"], **bearer(writer)).json()
    assert [w["id"] for w in rest["results"]] == [current.json()["id"]]

    assert call(client, "delete", f"maintenance-windows/{upcoming['id']}",
                writer).status_code == 204
    assert not MaintenanceWindow.objects.filter(pk=upcoming["id"]).exists()
    assert call(client, "delete", f"maintenance-windows/{upcoming['id']}",
                writer).status_code == 404


@pytest.mark.parametrize(("body", "field"), [
    ({"starts_at": "H2", "ends_at": "H1"}, "ends_at"),  # before it starts
    ({"starts_at": "H-3", "ends_at": "H-1"}, "ends_at"),  # over already
    ({"starts_at": "H1", "ends_at": "H800"}, "ends_at"),  # longer than 30 days
    ({"starts_at": "NAIVE", "ends_at": "H2"}, "starts_at"),
    ({"starts_at": "H1", "ends_at": "soon"}, "ends_at"),
    ({"starts_at": "H1", "ends_at": None}, "ends_at"),
    ({"ends_at": "H2"}, "starts_at"),
    ({"starts_at": "H1", "ends_at": "H2", "reason": 5}, "reason"),
    ({"starts_at": "H1", "ends_at": "H2", "reason": "x" * 201}, "reason"),
])
def test_invalid_windows_are_refused_with_the_field(client, writer, body, field):
    def value(raw):
        if raw == "NAIVE":
            return later(hours=1).astimezone(UTC).replace(tzinfo=None).isoformat()
        if isinstance(raw, str) and raw.startswith("H") and raw[1:].lstrip("-").isdigit():
            return iso(later(hours=int(raw[1:])))
        return raw

    response = call(client, "post", "maintenance-windows", writer,
                    {key: value(raw) for key, raw in body.items()})
    assert response.status_code == 400
    assert field in details(response)
    assert not MaintenanceWindow.objects.exists()


# --- keys and tenants ---------------------------------------------------------------------------

def test_read_only_keys_read_but_cannot_write(client, tenants, reader, rule, channel):
    window = create_maintenance_window(tenants["org"], starts_at=later(hours=1),
                                       ends_at=later(hours=2))
    for method, path, body in (
            ("put", f"rules/{rule.pk}/escalation", {"channels": [channel.pk],
                                                    "after_minutes": 5}),
            ("put", f"rules/{rule.pk}/mute", {"until": iso(later(hours=1))}),
            ("post", "maintenance-windows", {"starts_at": iso(later(hours=1)),
                                             "ends_at": iso(later(hours=2))}),
            ("delete", f"maintenance-windows/{window.pk}", None)):
        response = call(client, method, path, reader, body)
        assert response.status_code == 403, (method, path)
    assert call(client, "get", "maintenance-windows", reader).status_code == 200
    assert call(client, "get", f"rules/{rule.pk}", reader).json()["muted_until"] is None
    rule.refresh_from_db()
    assert rule.escalate_after_minutes == 0 and rule.muted_until is None
    assert list(MaintenanceWindow.objects.all()) == [window]


def test_other_organizations_rules_and_windows_are_invisible(client, writer, tenants):
    other = tenants["outsider_org"]
    theirs = create_channel(other, kind="email", name="theirs",
                            config={"to": ["them@example.com"]})
    rule = create_rule(other, name="theirs", kind="status", scope="all")
    window = create_maintenance_window(other, starts_at=later(hours=1),
                                       ends_at=later(hours=2))
    for method, path, body in (
            ("put", f"rules/{rule.pk}/escalation", {"channels": [theirs.pk],
                                                    "after_minutes": 5}),
            ("put", f"rules/{rule.pk}/mute", {"until": iso(later(hours=1))}),
            ("put", f"rules/{rule.pk}/mute", {"until": None}),
            ("delete", f"maintenance-windows/{window.pk}", None)):
        response = call(client, method, path, writer, body)
        assert response.status_code == 404, (method, path)
        assert response.json()["error"]["code"] == "not_found"
    assert call(client, "get", "maintenance-windows", writer).json()["results"] == []
    rule.refresh_from_db()
    assert rule.escalate_after_minutes == 0 and rule.muted_until is None
    assert MaintenanceWindow.objects.filter(pk=window.pk).exists()


def test_writes_need_a_key(client, rule):
    response = client.put(f"/api/v1/alerts/rules/{rule.pk}/mute",
                          data=json.dumps({"until": None}), content_type="application/json")
    assert response.status_code == 401
