"""Incidents: the list (newest first, open or all), the incident page with its timeline and
Acknowledge button, and the acknowledge link of notifications (GET changes nothing, POST
acknowledges, a bad token is a 404); roles and tenant isolation."""
from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from apps.alerts.models import Incident, IncidentEvent
from apps.alerts.services import incidents
from apps.alerts.services.incidents import ack_token
from apps.alerts.services.rules import create_rule


@pytest.fixture
def rule(tenants):
    return create_rule(tenants["org"], name="Chainlink stale", kind="status",
                       scope="all")


def make_incident(rule, subject="chainlink:eth-usd", state="open", minutes_ago=5):
    opened = timezone.now() - timedelta(minutes=minutes_ago)
    incident = Incident.objects.create(
        rule=rule, organization=rule.organization, subject=subject, state=state,
        summary=f"{subject} is stale", value="stale", opened_at=opened,
        resolved_at=opened + timedelta(minutes=1) if state == "resolved" else None)
    IncidentEvent.objects.create(incident=incident, at=opened, kind="opened",
                                 detail="stale for 120 s")
    IncidentEvent.objects.create(incident=incident, at=opened + timedelta(seconds=2),
                                 kind="notified", detail="via desk mail (email)")
    IncidentEvent.objects.create(incident=incident, at=opened + timedelta(seconds=3),
                                 kind="notify_failed", detail="via ops chat: Telegram 403")
    return incident


@pytest.fixture
def incident(rule):
    return make_incident(rule)


def list_url(org):
    return reverse("incidents", args=[org.slug])


def detail_url(org, incident):
    return reverse("incident", args=[org.slug, incident.pk])


def ack_url(org, incident):
    return reverse("incident_acknowledge", args=[org.slug, incident.pk])


def link(incident):
    return reverse("incident_ack", args=[ack_token(incident)])


def test_urls(incident):
    assert reverse("incidents", args=["acme"]) == "/orgs/acme/alerts/incidents/"
    assert reverse("incident", args=["acme", 3]) == "/orgs/acme/alerts/incidents/3/"
    assert link(incident).startswith("/alerts/ack/")


def test_the_list_is_newest_first_and_filters_open(client, tenants, rule):
    old = make_incident(rule, "old-feed", minutes_ago=60)
    acked = make_incident(rule, "acked-feed", state="acknowledged", minutes_ago=30)
    resolved = make_incident(rule, "resolved-feed", state="resolved", minutes_ago=20)
    new = make_incident(rule, "new-feed", minutes_ago=1)
    client.force_login(tenants["member"])
    for query in ("", "?state=open", "?state=bogus"):
        page = client.get(list_url(tenants["org"]) + query).content.decode()
        assert page.index("new-feed") < page.index("acked-feed") < page.index("old-feed")
        assert "resolved-feed" not in page
    page = client.get(list_url(tenants["org"]) + "?state=all").content.decode()
    assert page.index("new-feed") < page.index("resolved-feed") < page.index("old-feed")
    for shown in (old, acked, resolved, new):
        assert detail_url(tenants["org"], shown) in page


def test_the_incident_page_shows_the_timeline(client, tenants, incident):
    client.force_login(tenants["member"])
    page = client.get(detail_url(tenants["org"], incident)).content.decode()
    assert "chainlink:eth-usd is stale" in page and "Chainlink stale" in page
    assert page.index("stale for 120 s") < page.index("via desk mail (email)") \
        < page.index("Telegram 403")
    assert "notify_failed" in page and ack_url(tenants["org"], incident) in page


def test_a_member_acknowledges_from_the_incident_page(client, tenants, incident):
    client.force_login(tenants["member"])
    response = client.post(ack_url(tenants["org"], incident), follow=True)
    assert response.status_code == 200
    incident.refresh_from_db()
    assert incident.state == "acknowledged" and incident.acknowledged_at
    event = incident.events.get(kind="acknowledged")
    assert event.detail == f"by {tenants['member'].email}"
    page = response.content.decode()
    assert "Acknowledged" in page and f"by {tenants['member'].email}" in page
    assert ack_url(tenants["org"], incident) not in page  # no button once acknowledged

    again = client.post(ack_url(tenants["org"], incident), follow=True)
    assert "already acknowledged" in again.content.decode()
    assert incident.events.filter(kind="acknowledged").count() == 1


def test_a_resolved_incident_is_not_acknowledged(client, tenants, rule):
    resolved = make_incident(rule, state="resolved")
    client.force_login(tenants["owner"])
    assert ack_url(tenants["org"], resolved) not in client.get(
        detail_url(tenants["org"], resolved)).content.decode()
    client.post(ack_url(tenants["org"], resolved))
    resolved.refresh_from_db()
    assert resolved.state == "resolved" and not resolved.events.filter(kind="acknowledged")


def test_a_viewer_sees_the_pages_but_cannot_acknowledge(client, tenants, incident, viewer):
    assert client.get(list_url(tenants["org"])).status_code == 200
    detail = client.get(detail_url(tenants["org"], incident))
    assert detail.status_code == 200 and "stale for 120 s" in detail.content.decode()
    assert ack_url(tenants["org"], incident) not in detail.content.decode()
    assert client.post(ack_url(tenants["org"], incident)).status_code == 403
    incident.refresh_from_db()
    assert incident.state == "open"


def test_an_outsider_gets_404_everywhere(client, tenants, incident):
    client.force_login(tenants["outsider"])
    own = tenants["outsider_org"]
    assert client.get(list_url(tenants["org"])).status_code == 404
    assert client.get(list_url(own)).status_code == 200
    assert "chainlink:eth-usd" not in client.get(list_url(own) + "?state=all").content.decode()
    for org in (tenants["org"], own):
        assert client.get(detail_url(org, incident)).status_code == 404
        assert client.post(ack_url(org, incident)).status_code == 404
    incident.refresh_from_db()
    assert incident.state == "open"


def test_pages_need_a_login_and_the_right_method(client, tenants, incident):
    assert client.get(list_url(tenants["org"])).status_code == 302
    assert client.post(ack_url(tenants["org"], incident)).status_code == 302
    client.force_login(tenants["owner"])
    assert client.get(ack_url(tenants["org"], incident)).status_code == 405
    assert client.post(detail_url(tenants["org"], incident)).status_code == 405
    incident.refresh_from_db()
    assert incident.state == "open"


# --- the acknowledge link of notifications -------------------------------------------------------

def test_the_link_get_only_asks_for_confirmation(client, tenants, incident):
    for _ in range(2):  # a mail scanner, then the person
        response = client.get(link(incident))
        assert response.status_code == 200
    page = response.content.decode()
    assert "Acknowledge this incident?" in page and "Acme Risk" in page
    assert "Chainlink stale" in page and "chainlink:eth-usd is stale" in page
    assert 'method="post"' in page and "csrfmiddlewaretoken" in page
    assert response["Referrer-Policy"] == "no-referrer" and "no-store" in response["Cache-Control"]
    incident.refresh_from_db()
    assert incident.state == "open" and not incident.events.filter(kind="acknowledged")


def test_the_link_post_acknowledges_without_a_login(tenants, incident):
    browser = Client(enforce_csrf_checks=True)
    url = link(incident)
    assert browser.post(url).status_code == 403  # CSRF still applies
    incident.refresh_from_db()
    assert incident.state == "open"

    browser.get(url)
    response = browser.post(url, {"csrfmiddlewaretoken": browser.cookies["csrftoken"].value})
    assert response.status_code == 200
    assert "Acknowledged" in response.content.decode()
    incident.refresh_from_db()
    assert incident.state == "acknowledged"
    assert incident.events.get(kind="acknowledged").detail == "by link in a notification"
    assert detail_url(tenants["org"], incident) not in response.content.decode()

    again = browser.post(url, {"csrfmiddlewaretoken": browser.cookies["csrftoken"].value})
    assert again.status_code == 200 and "already acknowledged" in again.content.decode()
    assert incident.events.filter(kind="acknowledged").count() == 1


def test_the_link_records_a_logged_in_user(client, tenants, incident):
    client.force_login(tenants["owner"])
    response = client.post(link(incident))
    assert response.status_code == 200
    assert detail_url(tenants["org"], incident) in response.content.decode()
    assert incident.events.get(kind="acknowledged").detail == f"by {tenants['owner'].email}"


def test_a_bad_or_tampered_token_is_not_found(client, tenants, incident):
    token = ack_token(incident)
    for bad in ("nope", token[:-2] + ("AA" if not token.endswith("AA") else "BB"),
                ack_token(Incident(pk=incident.pk + 1000))):
        assert client.get(reverse("incident_ack", args=[bad])).status_code == 404
        assert client.post(reverse("incident_ack", args=[bad])).status_code == 404
    incident.refresh_from_db()
    assert incident.state == "open"


def test_an_expired_token_is_not_found(client, tenants, incident, monkeypatch):
    token = ack_token(incident)
    monkeypatch.setattr(incidents, "ACK_MAX_AGE", timedelta(seconds=-1))
    assert client.get(reverse("incident_ack", args=[token])).status_code == 404
