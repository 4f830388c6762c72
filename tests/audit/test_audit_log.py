"""The audit log itself: what record() writes, who it names by default, and that nothing in it
can be changed or deleted (except with its organization)."""
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import time_machine
from django.contrib import admin
from django.urls import reverse

from apps.audit import actions
from apps.audit.context import SYSTEM, Actor, acting_as, current_actor
from apps.audit.models import AuditEvent, ImmutableError
from apps.audit.selectors import events_for
from apps.audit.services import diff, record
from tests.factories import OrganizationFactory

from .conftest import IP


def test_record_names_the_current_actor_and_the_target(tenants):
    org, owner = tenants["org"], tenants["owner"]
    actor = Actor(via="session", user_id=owner.pk, email=owner.email, ip=IP)
    with acting_as(actor):
        event = record(org.pk, "organization.renamed", target=org, before={"name": "a"},
                       after={"name": "b"})
    assert current_actor() == SYSTEM  # restored on the way out
    event.refresh_from_db()
    assert (event.organization_id, event.action, event.target_type, event.target_id,
            event.target_repr) == (org.pk, "organization.renamed", "accounts.organization",
                                   str(org.pk), org.name)
    assert (event.before, event.after) == ({"name": "a"}, {"name": "b"})
    assert (event.via, event.actor_user, event.actor_email, event.ip) == (
        "session", owner, owner.email, IP)


def test_outside_a_request_the_system_acts(tenants):
    event = record(tenants["org"].pk, "billing.plan_changed", before={"plan": "free"},
                   after={"plan": "pro"})
    assert (event.via, event.actor_user, event.actor_email, event.api_key, event.ip) == (
        "system", None, "", None, None)


def test_an_unknown_action_is_refused(tenants):
    with pytest.raises(ValueError, match=r"apps/audit/actions\.py"):
        record(tenants["org"].pk, "members.promoted")


def test_every_action_has_a_known_group_and_a_label():
    assert {actions.group_of(a) for a in actions.ACTIONS} <= set(actions.GROUPS)
    assert all(label for label in actions.ACTIONS.values())


def test_diff_keeps_only_what_changed():
    assert diff({"name": "a", "role": "member", "gone": 1}, {"name": "a", "role": "admin"}) == (
        {"role": "member", "gone": 1}, {"role": "admin", "gone": None})
    assert diff({"a": 1}, {"a": 1}) == ({}, {})


def test_an_event_cannot_be_changed_or_deleted(tenants):
    event = record(tenants["org"].pk, "organization.renamed", after={"name": "x"})
    event.after = {"name": "forged"}
    with pytest.raises(ImmutableError):
        event.save()
    with pytest.raises(ImmutableError):
        event.delete()
    with pytest.raises(ImmutableError):
        AuditEvent.objects.filter(pk=event.pk).update(after={"name": "forged"})
    with pytest.raises(ImmutableError):
        AuditEvent.objects.filter(pk=event.pk).delete()
    event.refresh_from_db()
    assert event.after == {"name": "x"}


def test_events_go_with_their_organization_and_outlive_their_actor_and_key(tenants, writer):
    key, _ = writer
    owner = tenants["owner"]
    with acting_as(Actor(via="api_key", api_key_id=key.pk, api_key_prefix=key.prefix)):
        by_key = record(tenants["org"].pk, "alert_rules.created", target_repr="r")
    with acting_as(Actor(via="session", user_id=owner.pk, email=owner.email)):
        by_owner = record(tenants["org"].pk, "alert_rules.deleted", target_repr="r")
    key.delete()
    owner.delete()
    by_key.refresh_from_db()
    by_owner.refresh_from_db()
    assert (by_key.api_key, by_key.api_key_prefix) == (None, key.prefix)
    assert (by_owner.actor_user, by_owner.actor_email) == (None, owner.email)
    kept = record(OrganizationFactory().pk, "organization.renamed")
    org_id = tenants["org"].pk
    tenants["org"].delete()
    assert not AuditEvent.objects.filter(organization_id=org_id).exists()
    assert AuditEvent.objects.filter(pk=kept.pk).exists()


def test_the_admin_shows_events_but_cannot_add_change_or_delete_them(admin_client, admin_user,
                                                                    rf, tenants):
    event = record(tenants["org"].pk, "organization.renamed", after={"name": "x"})
    model_admin = admin.site._registry[AuditEvent]
    request = rf.get("/")
    request.user = admin_user
    assert not model_admin.has_add_permission(request)
    assert not model_admin.has_change_permission(request, event)
    assert not model_admin.has_delete_permission(request, event)
    change = reverse("admin:audit_auditevent_change", args=[event.pk])
    assert admin_client.get(change).status_code == 200
    assert admin_client.post(change, {"action": "forged"}).status_code == 403
    delete = reverse("admin:audit_auditevent_delete", args=[event.pk])
    assert admin_client.post(delete, {"post": "yes"}).status_code == 403
    assert AuditEvent.objects.get(pk=event.pk).action == "organization.renamed"


def test_events_for_filters_by_group_action_actor_and_time(tenants):
    org = tenants["org"]
    ana = Actor(via="session", email="ana@example.com")
    key = Actor(via="api_key", api_key_prefix="op_live_abcd1234")
    start = datetime(2026, 11, 26, 12, tzinfo=UTC)
    with acting_as(ana), time_machine.travel(start, tick=False):
        renamed = record(org.pk, "organization.renamed")
    with acting_as(ana), time_machine.travel(start + timedelta(hours=1), tick=False):
        role = record(org.pk, "members.role_changed")
    with acting_as(key), time_machine.travel(start + timedelta(hours=2), tick=False):
        created = record(org.pk, "api_keys.created")
    record(tenants["outsider_org"].pk, "members.role_changed")
    assert list(events_for(org.pk, action_prefix="members")) == [role]
    assert list(events_for(org.pk, action_prefix="api_keys.created")) == [created]
    assert list(events_for(org.pk, action_prefix="api_keys.rotated")) == []
    assert list(events_for(org.pk, actor="ANA@example.com")) == [role, renamed]
    assert list(events_for(org.pk, actor="op_live_abcd1234")) == [created]
    assert list(events_for(org.pk, since=start + timedelta(hours=1),
                           until=start + timedelta(hours=2))) == [role]


def test_every_action_the_code_records_is_registered():
    """record() refuses unknown actions at run time; this finds them before a code path does."""
    root = Path(__file__).resolve().parents[2] / "apps"
    used = set()
    for path in root.rglob("*.py"):
        for call in re.finditer(r"\brecord\((.{0,240})", path.read_text(), re.DOTALL):
            used |= {m for m in re.findall(r'"([a-z_]+\.[a-z_]+)"', call.group(1))
                     if actions.group_of(m) in actions.GROUPS}
    assert len(used) > 30
    assert sorted(used - set(actions.ACTIONS)) == []
