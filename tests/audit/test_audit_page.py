"""The organization's audit page: owners and admins read it; members and viewers are refused;
other tenants get 404. Filters, pages, and the before → after of each change."""
import pytest
from django.urls import reverse

from apps.accounts.views import AUDIT_PAGE_SIZE
from apps.audit.context import Actor, acting_as
from apps.audit.services import record

from .conftest import IP


def audit_url(org, **query):
    url = reverse("organization_audit", args=[org.slug])
    return url + ("?" + "&".join(f"{k}={v}" for k, v in query.items()) if query else "")


@pytest.mark.parametrize(("who", "status"), [("owner", 200), ("admin", 200), ("member", 403),
                                             ("viewer", 403), ("outsider", 404)])
def test_only_owners_and_admins_read_the_audit_page(client, tenants, admin, viewer, who,
                                                     status):
    record(tenants["org"].pk, "organization.renamed", target_repr="Acme Risk")
    user = {"admin": admin, "viewer": viewer}.get(who) or tenants[who]
    client.force_login(user)
    response = client.get(audit_url(tenants["org"]))
    assert response.status_code == status
    assert (b"Organization renamed" in response.content) == (status == 200)


def test_the_settings_page_links_the_audit_log_for_owners_and_admins_only(client, tenants):
    link = audit_url(tenants["org"]).encode()
    client.force_login(tenants["owner"])
    assert link in client.get(reverse("organization_settings",
                                      args=[tenants["org"].slug])).content
    client.force_login(tenants["member"])
    assert link not in client.get(reverse("organization_settings",
                                          args=[tenants["org"].slug])).content


def test_the_page_shows_who_what_when_from_where_and_the_change(as_owner, tenants):
    as_owner.post(reverse("organization_settings", args=[tenants["org"].slug]),
                  {"name": "Acme Hedging"}, REMOTE_ADDR=IP)
    with acting_as(Actor(via="api_key", api_key_prefix="op_live_abcd1234", ip="198.51.100.4")):
        record(tenants["org"].pk, "api_keys.revoked", target_repr="ci (op_live_zz…)")
    html = as_owner.get(audit_url(tenants["org"])).content.decode()
    for shown in ("Organization renamed", "Acme Hedging", "<del>Acme Risk</del>",
                  "<ins>Acme Hedging</ins>", tenants["owner"].email, IP, "Session",
                  "API key revoked", "op_live_abcd1234…", "198.51.100.4", "API key"):
        assert shown in html, shown
    assert html.index("<strong>ci (op_live_zz…)</strong>") \
        < html.index("<strong>Acme Hedging</strong>")  # newest first


def test_the_page_never_shows_another_organizations_events(as_owner, tenants):
    record(tenants["outsider_org"].pk, "organization.renamed", target_repr="Secret Desk")
    response = as_owner.get(audit_url(tenants["org"]))
    assert b"Secret Desk" not in response.content


def test_the_page_filters_by_group_and_actor(as_owner, tenants):
    org = tenants["org"]
    with acting_as(Actor(via="session", email="ana@example.com")):
        record(org.pk, "members.role_changed", target_repr="bob@example.com")
    with acting_as(Actor(via="session", email="cy@example.com")):
        record(org.pk, "alert_rules.created", target_repr="ETH above 3500")
    by_group = as_owner.get(audit_url(org, group="members")).content
    assert b"bob@example.com" in by_group and b"ETH above 3500" not in by_group
    by_actor = as_owner.get(audit_url(org, actor="cy@example.com")).content
    assert b"ETH above 3500" in by_actor and b"bob@example.com" not in by_actor
    refused = as_owner.get(audit_url(org, group="nonsense"))
    assert refused.status_code == 400 and b"errorlist" in refused.content


def test_the_page_is_paginated(as_owner, tenants):
    for n in range(AUDIT_PAGE_SIZE + 1):
        record(tenants["org"].pk, "alert_rules.created", target_repr=f"rule-{n:03d}")
    first = as_owner.get(audit_url(tenants["org"])).content.decode()
    assert f"rule-{AUDIT_PAGE_SIZE:03d}" in first and "rule-000<" not in first
    assert 'rel="next"' in first
    second = as_owner.get(audit_url(tenants["org"], page=2)).content.decode()
    assert "rule-000<" in second and f"rule-{AUDIT_PAGE_SIZE:03d}" not in second


def test_the_page_has_no_way_to_change_the_log(as_owner, tenants):
    record(tenants["org"].pk, "organization.renamed")
    assert as_owner.post(audit_url(tenants["org"])).status_code == 405
    assert b'method="post"' not in as_owner.get(audit_url(tenants["org"])).content.split(
        b'id="main"')[1]
