"""The organization's alert channel pages: list and create (a form per kind), the channel's
detail (edit with empty fields keeping the stored settings, test notification, delete), secrets
never rendered, roles and tenant isolation."""
import json

import pytest
from django.core import mail
from django.urls import reverse

from apps.alerts.models import Channel, Rule
from apps.alerts.services.channels import create_channel
from apps.alerts.services.rules import create_rule

BOT_TOKEN = "123456789:AAEhBP0av28xIsn2Lm3GKnbR0x0iC7tQ9eQ"
ROUTING_KEY = "0123456789abcdef0123456789ABCDEF"
SLACK_URL = "http://127.0.0.1:9/services/T000/B000/sEcReTsLaCkPaTh123"  # DNS-free
HOOK_SECRET = "whsec_" + "c2VjcmV0LXNpZ25pbmcta2V5LWZvci10ZXN0cw=="
HOOK = "http://127.0.0.1:9/alert-hook/PaThSeCrEt"


@pytest.fixture(autouse=True)
def _loopback_allowed(settings):
    settings.OP_OUTBOUND_ALLOWED_HOSTS = ["127.0.0.1"]


@pytest.fixture
def email_channel(tenants):
    return create_channel(tenants["org"], kind="email", name="desk mail",
                          config={"to": ["desk@example.com"]})


@pytest.fixture
def telegram(tenants):
    return create_channel(tenants["org"], kind="telegram", name="ops chat",
                          config={"bot_token": BOT_TOKEN, "chat_id": "-100123"})


def list_url(org):
    return reverse("alert_channels", args=[org.slug])


def create_url(org):
    return reverse("alert_channel_create", args=[org.slug])


def detail_url(org, channel):
    return reverse("alert_channel", args=[org.slug, channel.pk])


def action_urls(org, channel):
    return [reverse(name, args=[org.slug, channel.pk]) for name in (
        "alert_channel_update", "alert_channel_test", "alert_channel_delete")]


def config_of(channel) -> dict:
    channel.refresh_from_db()
    return json.loads(channel.config)


def test_urls():
    assert reverse("alert_channels", args=["acme"]) == "/orgs/acme/alerts/channels/"
    assert reverse("alert_channel", args=["acme", 3]) == "/orgs/acme/alerts/channels/3/"


def test_settings_and_nav_link_the_alerts_pages(client, tenants):
    client.force_login(tenants["owner"])
    org = tenants["org"]
    settings_page = client.get(reverse("organization_settings", args=[org.slug]))
    assert reverse("alert_rules", args=[org.slug]) in settings_page.content.decode()
    page = client.get(list_url(org)).content.decode()
    for name in ("alert_rules", "incidents", "webhooks"):
        assert reverse(name, args=[org.slug]) in page


@pytest.mark.parametrize(("data", "kind", "config"), [
    ({"kind": "email", "to": "a@example.com, b@example.com"}, "email",
     {"to": ["a@example.com", "b@example.com"]}),
    ({"kind": "telegram", "bot_token": BOT_TOKEN, "chat_id": "@desk_alerts"}, "telegram",
     {"bot_token": BOT_TOKEN, "chat_id": "@desk_alerts"}),
    ({"kind": "slack", "slack_url": SLACK_URL}, "slack", {"url": SLACK_URL}),
    ({"kind": "pagerduty", "routing_key": ROUTING_KEY}, "pagerduty",
     {"routing_key": ROUTING_KEY}),
    ({"kind": "webhook", "webhook_url": HOOK, "webhook_secret": HOOK_SECRET}, "webhook",
     {"url": HOOK, "secret": HOOK_SECRET}),
])
def test_owner_creates_a_channel_of_each_kind(client, tenants, data, kind, config):
    client.force_login(tenants["owner"])
    # Fields of other kinds are ignored.
    response = client.post(create_url(tenants["org"]),
                           {"name": " desk ", "to": "", "chat_id": "junk", **data})
    channel = Channel.objects.get(organization=tenants["org"])
    assert response.status_code == 302
    assert response["Location"] == detail_url(tenants["org"], channel)
    assert (channel.name, channel.kind, channel.enabled) == ("desk", kind, True)
    assert config_of(channel) == config
    page = client.get(response["Location"]).content.decode()
    assert "Added the channel desk." in page
    for secret in (BOT_TOKEN, ROUTING_KEY, SLACK_URL, HOOK_SECRET, HOOK, "PaThSeCrEt"):
        assert secret not in page
    listing = client.get(list_url(tenants["org"])).content.decode()
    for secret in (BOT_TOKEN, ROUTING_KEY, SLACK_URL, HOOK_SECRET, "PaThSeCrEt"):
        assert secret not in listing


def test_pages_show_what_identifies_a_channel_but_no_secret(client, tenants, telegram):
    create_channel(tenants["org"], kind="slack", name="slack", config={"url": SLACK_URL})
    create_channel(tenants["org"], kind="pagerduty", name="pd",
                   config={"routing_key": ROUTING_KEY})
    client.force_login(tenants["member"])
    page = client.get(list_url(tenants["org"])).content.decode()
    assert "-100123" in page and "…" + BOT_TOKEN[-4:] in page and BOT_TOKEN not in page
    assert "127.0.0.1" in page and "sEcReTsLaCkPaTh123" not in page
    assert "…CDEF" in page and ROUTING_KEY not in page
    detail = client.get(detail_url(tenants["org"], telegram)).content.decode()
    assert "-100123" in detail and BOT_TOKEN not in detail


def test_a_generated_webhook_secret_is_shown_once(client, tenants):
    client.force_login(tenants["member"])
    response = client.post(create_url(tenants["org"]),
                           {"name": "hook", "kind": "webhook", "webhook_url": HOOK})
    assert response.status_code == 200 and "no-store" in response["Cache-Control"]
    secret = config_of(Channel.objects.get())["secret"]
    assert secret.startswith("whsec_") and secret in response.content.decode()
    assert "you will not see this secret again" in response.content.decode()
    for url in (list_url(tenants["org"]), detail_url(tenants["org"], Channel.objects.get())):
        assert secret not in client.get(url).content.decode()


@pytest.mark.parametrize(("data", "errors"), [
    ({"kind": "telegram", "bot_token": "not-a-token", "chat_id": "-1"},
     ["A bot token looks like"]),
    ({"kind": "telegram", "bot_token": "", "chat_id": ""},
     ["Enter the bot token", "Enter the chat id"]),
    ({"kind": "email", "to": "nope, a@example.com"}, ["Not an email address: nope."]),
    ({"kind": "pagerduty", "routing_key": "short"}, ["32 letters and digits"]),
    ({"kind": "slack", "slack_url": "http://10.0.0.7/services/x"}, ["10.0.0.7"]),
    ({"kind": "webhook", "webhook_url": ""}, ["Enter a URL."]),
    ({"kind": "sms"}, ["Select a valid choice"]),
    ({"kind": "email", "to": "a@example.com", "name": ""}, ["A channel needs a name."]),
])
def test_invalid_input_shows_form_errors(client, tenants, settings, data, errors):
    settings.OP_OUTBOUND_ALLOWED_HOSTS = []
    client.force_login(tenants["owner"])
    response = client.post(create_url(tenants["org"]), {"name": "x", **data})
    assert response.status_code == 400
    page = response.content.decode()
    for error in errors:
        assert error in page
    assert 'class="errorlist' in page
    assert not Channel.objects.exists()


def test_a_refused_form_does_not_echo_typed_secrets(client, tenants):
    client.force_login(tenants["owner"])
    response = client.post(create_url(tenants["org"]), {
        "name": "x", "kind": "telegram", "bot_token": BOT_TOKEN, "chat_id": "not a chat"})
    assert response.status_code == 400
    page = response.content.decode()
    assert "A chat id is a number" in page and BOT_TOKEN not in page
    assert 'value="not a chat"' in page  # the rest is kept for correction


def test_edit_renames_and_empty_fields_keep_the_stored_settings(client, tenants, telegram):
    client.force_login(tenants["owner"])
    url = reverse("alert_channel_update", args=[tenants["org"].slug, telegram.pk])
    response = client.post(url, {"name": "renamed", "bot_token": "", "chat_id": ""})
    assert response.status_code == 302
    telegram.refresh_from_db()
    assert (telegram.name, telegram.enabled) == ("renamed", False)
    assert config_of(telegram) == {"bot_token": BOT_TOKEN, "chat_id": "-100123"}

    # Only the chat id typed: the token is kept.
    client.post(url, {"name": "renamed", "enabled": "on", "chat_id": "@new_channel"})
    assert config_of(telegram) == {"bot_token": BOT_TOKEN, "chat_id": "@new_channel"}
    telegram.refresh_from_db()
    assert telegram.enabled


def test_enabling_clears_the_disabled_reason(client, tenants, email_channel):
    Channel.objects.filter(pk=email_channel.pk).update(enabled=False,
                                                       disabled_reason="every recipient refused")
    client.force_login(tenants["member"])
    page = client.get(list_url(tenants["org"])).content.decode()
    assert "disabled" in page and "every recipient refused" in page
    client.post(reverse("alert_channel_update", args=[tenants["org"].slug, email_channel.pk]),
                {"name": "desk mail", "enabled": "on"})
    email_channel.refresh_from_db()
    assert email_channel.enabled and email_channel.disabled_reason == ""


def test_an_invalid_edit_shows_errors_and_changes_nothing(client, tenants, telegram):
    client.force_login(tenants["owner"])
    response = client.post(
        reverse("alert_channel_update", args=[tenants["org"].slug, telegram.pk]),
        {"name": "renamed", "enabled": "on", "bot_token": "bad"})
    assert response.status_code == 400
    page = response.content.decode()
    assert "A bot token looks like" in page and BOT_TOKEN not in page
    telegram.refresh_from_db()
    assert telegram.name == "ops chat"
    assert config_of(telegram)["bot_token"] == BOT_TOKEN

    response = client.post(
        reverse("alert_channel_update", args=[tenants["org"].slug, telegram.pk]),
        {"name": " ", "enabled": "on"})
    assert response.status_code == 400 and "A channel needs a name." in response.content.decode()


def test_send_test_notification_mails_an_email_channel(client, tenants, email_channel):
    client.force_login(tenants["member"])
    response = client.post(reverse("alert_channel_test",
                                   args=[tenants["org"].slug, email_channel.pk]), follow=True)
    assert response.status_code == 200
    assert "Test notification sent" in response.content.decode()
    [message] = mail.outbox
    assert message.to == ["desk@example.com"] and "Test notification" in message.subject


def test_a_failed_test_notification_says_why(client, tenants, settings):
    settings.OP_OUTBOUND_ALLOWED_HOSTS = ["127.0.0.1"]
    channel = create_channel(tenants["org"], kind="webhook", name="hook",
                             config={"url": HOOK})
    settings.OP_OUTBOUND_ALLOWED_HOSTS = []  # the URL is now blocked: a permanent failure
    client.force_login(tenants["owner"])
    response = client.post(reverse("alert_channel_test", args=[tenants["org"].slug, channel.pk]),
                           follow=True)
    page = response.content.decode()
    assert "The test notification failed" in page and "disabled" in page
    channel.refresh_from_db()
    assert not channel.enabled


def test_delete_removes_the_channel_from_its_rules(client, tenants, email_channel):
    rule = create_rule(tenants["org"], name="r", kind="status", scope="all",
                       channels=[email_channel.pk])
    client.force_login(tenants["owner"])
    response = client.post(reverse("alert_channel_delete",
                                   args=[tenants["org"].slug, email_channel.pk]))
    assert response.status_code == 302 and response["Location"] == list_url(tenants["org"])
    assert not Channel.objects.exists()
    assert Rule.objects.get(pk=rule.pk).channels.count() == 0


def test_a_viewer_sees_the_pages_but_every_post_is_forbidden(client, tenants, telegram, viewer):
    listing = client.get(list_url(tenants["org"]))
    assert listing.status_code == 200 and "ops chat" in listing.content.decode()
    assert create_url(tenants["org"]) not in listing.content.decode()
    detail = client.get(detail_url(tenants["org"], telegram))
    assert detail.status_code == 200 and "Send test notification" not in detail.content.decode()
    data = {"name": "x", "kind": "email", "to": "a@example.com", "enabled": "on"}
    assert client.post(create_url(tenants["org"]), data).status_code == 403
    for url in action_urls(tenants["org"], telegram):
        assert client.post(url, data).status_code == 403, url
    telegram.refresh_from_db()
    assert telegram.name == "ops chat" and Channel.objects.count() == 1


def test_an_outsider_gets_404_everywhere(client, tenants, telegram):
    client.force_login(tenants["outsider"])
    assert client.get(list_url(tenants["org"])).status_code == 404
    assert client.get(detail_url(tenants["org"], telegram)).status_code == 404
    own = tenants["outsider_org"]
    assert client.get(list_url(own)).status_code == 200
    assert client.get(detail_url(own, telegram)).status_code == 404
    data = {"name": "x", "kind": "email", "to": "a@example.com", "enabled": "on"}
    for org in (tenants["org"], own):
        for url in action_urls(org, telegram):
            assert client.post(url, data).status_code == 404, url
    assert client.post(create_url(tenants["org"]), data).status_code == 404
    telegram.refresh_from_db()
    assert telegram.name == "ops chat" and Channel.objects.count() == 1
    assert not mail.outbox


def test_pages_need_a_login_and_the_right_method(client, tenants, telegram):
    assert client.get(list_url(tenants["org"])).status_code == 302
    assert client.post(reverse("alert_channel_delete",
                               args=[tenants["org"].slug, telegram.pk])).status_code == 302
    client.force_login(tenants["owner"])
    assert client.post(list_url(tenants["org"])).status_code == 405
    assert client.get(reverse("alert_channel_delete",
                              args=[tenants["org"].slug, telegram.pk])).status_code == 405
    assert Channel.objects.exists()
