"""The rule page's Escalation and Mute forms and the maintenance windows page: what they show,
the services' field errors on the forms, roles and tenant isolation."""
from datetime import UTC, timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from apps.alerts.models import MaintenanceWindow, Rule
from apps.alerts.services.channels import create_channel
from apps.alerts.services.maintenance import create_maintenance_window, mute_rule, set_escalation
from apps.alerts.services.rules import create_rule

FMT = "%Y-%m-%dT%H:%M"


@pytest.fixture
def channel(tenants):
    return create_channel(tenants["org"], kind="email", name="desk mail",
                          config={"to": ["desk@example.com"]})


@pytest.fixture
def pager(tenants):
    return create_channel(tenants["org"], kind="email", name="night pager",
                          config={"to": ["pager@example.com"]})


@pytest.fixture
def rule(tenants, channel):
    return create_rule(tenants["org"], name="Feeds down", kind="status", scope="all",
                       channels=[channel.pk])


@pytest.fixture
def window(tenants):
    now = timezone.now()
    return create_maintenance_window(tenants["org"], starts_at=now - timedelta(hours=1),
                                     ends_at=now + timedelta(hours=1),
                                     reason="node upgrade")


def in_utc(delta: timedelta) -> str:
    return (timezone.now().astimezone(UTC) + delta).strftime(FMT)


def detail_url(org, rule):
    return reverse("alert_rule", args=[org.slug, rule.pk])


def escalation_url(org, rule):
    return reverse("alert_rule_escalation", args=[org.slug, rule.pk])


def mute_url(org, rule):
    return reverse("alert_rule_mute", args=[org.slug, rule.pk])


def windows_url(org):
    return reverse("maintenance_windows", args=[org.slug])


def create_window_url(org):
    return reverse("maintenance_window_create", args=[org.slug])


def delete_window_url(org, window):
    return reverse("maintenance_window_delete", args=[org.slug, window.pk])


def test_urls():
    assert reverse("maintenance_windows", args=["acme"]) == "/orgs/acme/alerts/maintenance/"
    assert escalation_url(type("O", (), {"slug": "acme"}), type("R", (), {"pk": 3})) == \
        "/orgs/acme/alerts/rules/3/escalation/"


# --- escalation ---------------------------------------------------------------------------------

def test_the_owner_sets_escalation_and_the_page_shows_it(client, tenants, rule, pager):
    client.force_login(tenants["owner"])
    page = client.get(detail_url(tenants["org"], rule)).content.decode()
    assert 'id="escalation"' in page and "night pager" in page  # a choice of the multi-select
    assert 'id="rule-escalation"><span class="muted">off' in page
    response = client.post(escalation_url(tenants["org"], rule),
                           {"after_minutes": "15", "channels": [pager.pk]})
    assert response.status_code == 302
    assert response.url == detail_url(tenants["org"], rule)
    rule.refresh_from_db()
    assert rule.escalate_after_minutes == 15
    assert list(rule.escalation_channels.all()) == [pager]
    shown = client.get(detail_url(tenants["org"], rule)).content.decode()
    assert "escalates after 15 min unacknowledged to" in shown
    assert reverse("alert_channel", args=[tenants["org"].slug, pager.pk]) in shown


def test_a_member_turns_escalation_off(client, tenants, rule, pager):
    set_escalation(rule, channels=[pager.pk], after_minutes=30)
    client.force_login(tenants["member"])
    response = client.post(escalation_url(tenants["org"], rule), {"after_minutes": "0"})
    assert response.status_code == 302
    rule.refresh_from_db()
    assert rule.escalate_after_minutes == 0 and not rule.escalation_channels.exists()


@pytest.mark.parametrize(("data", "field", "message"), [
    ({"after_minutes": "15"}, "channels", "Escalating needs at least one channel."),
    ({"after_minutes": "-1", "channels": ["CHANNEL"]}, "after_minutes", "greater than or equal"),
    ({"after_minutes": "10081", "channels": ["CHANNEL"]}, "after_minutes", "less than or equal"),
    ({"after_minutes": "soon", "channels": ["CHANNEL"]}, "after_minutes", "whole number"),
])
def test_invalid_escalation_shows_the_errors_and_changes_nothing(client, tenants, rule, pager,
                                                                 data, field, message):
    data = {key: [pager.pk] if value == ["CHANNEL"] else value for key, value in data.items()}
    client.force_login(tenants["owner"])
    response = client.post(escalation_url(tenants["org"], rule), data)
    assert response.status_code == 400
    form = response.context["escalation_form"]
    assert any(message in error for error in form.errors[field]), form.errors
    assert message.split("'")[0] in response.content.decode()
    rule.refresh_from_db()
    assert rule.escalate_after_minutes == 0 and not rule.escalation_channels.exists()


def test_another_organizations_channel_is_not_a_choice(client, tenants, rule):
    theirs = create_channel(tenants["outsider_org"], kind="email", name="theirs",
                            config={"to": ["them@example.com"]})
    client.force_login(tenants["owner"])
    response = client.post(escalation_url(tenants["org"], rule),
                           {"after_minutes": "5", "channels": [theirs.pk]})
    assert response.status_code == 400
    assert "channels" in response.context["escalation_form"].errors
    assert not rule.escalation_channels.exists()


# --- mute ---------------------------------------------------------------------------------------

def test_the_owner_mutes_until_a_utc_time_then_unmutes(client, tenants, rule):
    client.force_login(tenants["owner"])
    until = in_utc(timedelta(hours=3))
    response = client.post(mute_url(tenants["org"], rule), {"until": until})
    assert response.status_code == 302
    rule.refresh_from_db()
    assert rule.muted_until.astimezone(UTC).strftime(FMT) == until
    assert rule.muted_until.utcoffset() == timedelta(0)
    page = client.get(detail_url(tenants["org"], rule)).content.decode()
    assert "muted</span> until" in page and until.replace("T", " ") + " UTC" in page
    assert 'name="unmute"' in page

    response = client.post(mute_url(tenants["org"], rule), {"unmute": "1"})
    assert response.status_code == 302
    rule.refresh_from_db()
    assert rule.muted_until is None
    page = client.get(detail_url(tenants["org"], rule)).content.decode()
    assert "not muted" in page and 'name="unmute"' not in page


@pytest.mark.parametrize(("until", "message"), [
    ("", "When the mute ends, in UTC."),
    ("tomorrow", "Enter a valid date/time."),
    (None, "A time with a zone, in the next 90 days."),  # in the past
    ("FAR", "A time with a zone, in the next 90 days."),
])
def test_an_invalid_mute_shows_the_error_and_changes_nothing(client, tenants, rule, until,
                                                             message):
    until = {None: in_utc(-timedelta(hours=1)),
             "FAR": in_utc(timedelta(days=91))}.get(until, until)
    client.force_login(tenants["member"])
    response = client.post(mute_url(tenants["org"], rule), {"until": until})
    assert response.status_code == 400
    assert response.context["mute_form"].errors["until"] == [message]
    assert message in response.content.decode()
    rule.refresh_from_db()
    assert rule.muted_until is None


def test_the_rule_page_mentions_a_current_maintenance_window(client, tenants, rule, window):
    client.force_login(tenants["member"])
    page = client.get(detail_url(tenants["org"], rule)).content.decode()
    assert "Maintenance window</a> until" in page


# --- maintenance windows ------------------------------------------------------------------------

def test_the_page_lists_current_upcoming_and_past_windows(client, tenants, window):
    now = timezone.now()
    upcoming = MaintenanceWindow.objects.create(
        organization=tenants["org"], starts_at=now + timedelta(days=1),
        ends_at=now + timedelta(days=1, hours=2), reason="db migration")
    past = MaintenanceWindow.objects.create(
        organization=tenants["org"], starts_at=now - timedelta(days=2),
        ends_at=now - timedelta(days=2) + timedelta(hours=1), reason="old work")
    MaintenanceWindow.objects.create(organization=tenants["outsider_org"],
                                     starts_at=now, ends_at=now + timedelta(hours=1),
                                     reason="their work")
    client.force_login(tenants["member"])
    response = client.get(windows_url(tenants["org"]))
    assert response.status_code == 200
    assert list(response.context["current"]) == [window]
    assert list(response.context["upcoming"]) == [upcoming]
    assert list(response.context["past"]) == [past]
    page = response.content.decode()
    assert "node upgrade" in page and "db migration" in page and "old work" in page
    assert "their work" not in page
    assert create_window_url(tenants["org"]) in page
    assert delete_window_url(tenants["org"], window) in page
    assert windows_url(tenants["org"]) in client.get(
        reverse("alert_rules", args=[tenants["org"].slug])).content.decode()  # in the nav


def test_the_owner_creates_a_window_in_utc(client, tenants):
    client.force_login(tenants["owner"])
    starts, ends = in_utc(timedelta(hours=2)), in_utc(timedelta(hours=4))
    response = client.post(create_window_url(tenants["org"]),
                           {"starts_at": starts, "ends_at": ends, "reason": " upgrade "})
    assert response.status_code == 302 and response.url == windows_url(tenants["org"])
    window = MaintenanceWindow.objects.get(organization=tenants["org"])
    assert window.starts_at.astimezone(UTC).strftime(FMT) == starts
    assert window.ends_at.astimezone(UTC).strftime(FMT) == ends
    assert window.reason == "upgrade"


@pytest.mark.parametrize(("starts", "ends", "field", "message"), [
    ("", "H4", "starts_at", "When the window starts, in UTC."),
    ("H2", "soon", "ends_at", "Enter a valid date/time."),
    ("H4", "H2", "ends_at", "Must be after starts_at."),
    ("H-4", "H-2", "ends_at", "Must be in the future."),
    ("H2", "H800", "ends_at", "A window lasts at most 30 days."),
])
def test_an_invalid_window_shows_the_error(client, tenants, starts, ends, field, message):
    def typed(value):
        return in_utc(timedelta(hours=int(value[1:]))) if value.startswith("H") else value

    client.force_login(tenants["member"])
    response = client.post(create_window_url(tenants["org"]),
                           {"starts_at": typed(starts), "ends_at": typed(ends)})
    assert response.status_code == 400
    assert response.context["form"].errors[field] == [message]
    assert message in response.content.decode()
    assert not MaintenanceWindow.objects.exists()


def test_a_member_deletes_a_window(client, tenants, window):
    client.force_login(tenants["member"])
    response = client.post(delete_window_url(tenants["org"], window))
    assert response.status_code == 302
    assert not MaintenanceWindow.objects.exists()


# --- roles and tenants --------------------------------------------------------------------------

def post_everything(client, org, rule, window):
    return [
        client.post(escalation_url(org, rule), {"after_minutes": "0"}).status_code,
        client.post(mute_url(org, rule), {"until": in_utc(timedelta(hours=1))}).status_code,
        client.post(mute_url(org, rule), {"unmute": "1"}).status_code,
        client.post(create_window_url(org), {"starts_at": in_utc(timedelta(hours=1)),
                                             "ends_at": in_utc(timedelta(hours=2))}).status_code,
        client.post(delete_window_url(org, window)).status_code,
    ]


def test_a_viewer_sees_the_pages_but_every_post_is_forbidden(client, tenants, rule, window,
                                                             viewer, pager):
    set_escalation(rule, channels=[pager.pk], after_minutes=10)
    mute_rule(rule, until=timezone.now() + timedelta(hours=1))
    detail = client.get(detail_url(tenants["org"], rule))
    page = detail.content.decode()
    assert detail.status_code == 200 and "escalates after 10 min" in page and "muted" in page
    assert escalation_url(tenants["org"], rule) not in page
    assert mute_url(tenants["org"], rule) not in page
    listing = client.get(windows_url(tenants["org"]))
    assert listing.status_code == 200 and "node upgrade" in listing.content.decode()
    assert create_window_url(tenants["org"]) not in listing.content.decode()
    assert delete_window_url(tenants["org"], window) not in listing.content.decode()
    assert post_everything(client, tenants["org"], rule, window) == [403] * 5
    rule.refresh_from_db()
    assert rule.escalate_after_minutes == 10 and rule.muted_until is not None
    assert list(MaintenanceWindow.objects.all()) == [window]


def test_an_outsider_gets_404_everywhere(client, tenants, rule, window):
    client.force_login(tenants["outsider"])
    own = tenants["outsider_org"]
    assert client.get(windows_url(tenants["org"])).status_code == 404
    assert client.get(windows_url(own)).status_code == 200
    assert "node upgrade" not in client.get(windows_url(own)).content.decode()
    assert post_everything(client, tenants["org"], rule, window) == [404] * 5
    # through their own slug: the window create succeeds for their own organization, the rest
    # name objects of another organization
    codes = post_everything(client, own, rule, window)
    assert codes[:3] == [404] * 3 and codes[4] == 404
    rule.refresh_from_db()
    assert rule.muted_until is None and Rule.objects.get(pk=rule.pk).name == "Feeds down"
    assert list(MaintenanceWindow.objects.filter(organization=tenants["org"])) == [window]


def test_pages_need_a_login_and_the_right_method(client, tenants, rule, window):
    assert client.get(windows_url(tenants["org"])).status_code == 302
    assert client.post(mute_url(tenants["org"], rule), {"unmute": "1"}).status_code == 302
    client.force_login(tenants["owner"])
    assert client.post(windows_url(tenants["org"])).status_code == 405
    assert client.get(delete_window_url(tenants["org"], window)).status_code == 405
    assert client.get(escalation_url(tenants["org"], rule)).status_code == 405
    assert client.get(mute_url(tenants["org"], rule)).status_code == 405
    assert MaintenanceWindow.objects.exists()
