"""The organization's alert rule pages: list (with channels and open incident counts) and
create, the rule's detail (edit incl. enabled, delete, recent incidents), the services' field
errors on the form, roles and tenant isolation."""
import pytest
from django.urls import reverse
from django.utils import timezone

from apps.alerts.models import Incident, Rule
from apps.alerts.services.channels import create_channel
from apps.alerts.services.rules import create_rule
from tests.factories import AssetFactory, FeedFactory, PairFactory


@pytest.fixture
def eth(db):
    return PairFactory(base=AssetFactory(symbol="ETH"))


@pytest.fixture
def channel(tenants):
    return create_channel(tenants["org"], kind="email", name="desk mail",
                          config={"to": ["desk@example.com"]})


@pytest.fixture
def rule(tenants, eth, channel):
    return create_rule(tenants["org"], name="ETH above 4k", kind="price_above",
                       scope="pair", target="ETH-USD",
                       params={"price": "4000", "hysteresis_bps": "25"},
                       channels=[channel.pk])


def list_url(org):
    return reverse("alert_rules", args=[org.slug])


def create_url(org):
    return reverse("alert_rule_create", args=[org.slug])


def detail_url(org, rule):
    return reverse("alert_rule", args=[org.slug, rule.pk])


def action_urls(org, rule):
    return [reverse(name, args=[org.slug, rule.pk])
            for name in ("alert_rule_update", "alert_rule_delete")]


def rule_data(**extra):
    return {"name": "ETH below 3k", "kind": "price_below", "scope": "pair", "target": "ETH-USD",
            "price": "3000.5", "for_seconds": "30", "resolve_after_seconds": "120",
            "severity": "critical", **extra}


def incident(rule, subject="ETH-USD", state="open", minutes_ago=0):
    return Incident.objects.create(
        rule=rule, organization=rule.organization, subject=subject, state=state,
        summary=f"{subject} above 4000", value="4012.5",
        opened_at=timezone.now() - timezone.timedelta(minutes=minutes_ago))


def test_urls():
    assert reverse("alert_rules", args=["acme"]) == "/orgs/acme/alerts/rules/"
    assert reverse("alert_rule", args=["acme", 3]) == "/orgs/acme/alerts/rules/3/"


def test_owner_creates_a_price_rule_with_channels(client, tenants, eth, channel):
    client.force_login(tenants["owner"])
    response = client.post(create_url(tenants["org"]), rule_data(channels=[channel.pk]))
    rule = Rule.objects.get(organization=tenants["org"])
    assert response.status_code == 302 and response["Location"] == detail_url(tenants["org"], rule)
    assert (rule.name, rule.kind, rule.scope, rule.target, rule.params) == (
        "ETH below 3k", "price_below", "pair", "ETH-USD", {"price": "3000.5"})
    assert (rule.for_seconds, rule.resolve_after_seconds, rule.severity) == (30, 120, "critical")
    assert list(rule.channels.all()) == [channel] and rule.enabled
    page = client.get(response["Location"]).content.decode()
    assert "Added the rule ETH below 3k." in page and "below 3000.5" in page


@pytest.mark.parametrize(("data", "params"), [
    ({"kind": "deviation", "scope": "all", "target": "", "bps": "50"}, {"bps": "50"}),
    ({"kind": "status", "scope": "all", "statuses": ["down"]}, {"statuses": ["down"]}),
    ({"kind": "status", "scope": "all"}, {"statuses": ["stale", "down"]}),
    ({"kind": "consensus_unavailable", "scope": "pair"}, {}),
])
def test_a_member_creates_rules_of_other_kinds(client, tenants, eth, data, params):
    client.force_login(tenants["member"])
    # Parameters of other kinds are ignored; without channels it is fine.
    response = client.post(create_url(tenants["org"]),
                           {**rule_data(price="1", for_seconds="", resolve_after_seconds=""),
                            **data})
    assert response.status_code == 302
    rule = Rule.objects.get()
    assert rule.params == params and rule.kind == data["kind"]
    assert (rule.for_seconds, rule.resolve_after_seconds) == (0, 60)
    assert rule.target == ("" if data["scope"] == "all" else "ETH-USD")


def test_a_feed_rule_with_hysteresis(client, tenants):
    feed = FeedFactory()
    client.force_login(tenants["owner"])
    response = client.post(create_url(tenants["org"]), rule_data(
        kind="price_above", scope="feed", target=feed.key, hysteresis_bps="100"))
    assert response.status_code == 302
    assert Rule.objects.get().params == {"price": "3000.5", "hysteresis_bps": "100"}


@pytest.mark.parametrize(("data", "errors"), [
    ({"scope": "all", "target": ""}, ["A price rule is about one feed or one pair."]),
    ({"price": ""}, ["A price rule needs a price."]),
    ({"price": "-3"}, ["Must be above 0"]),
    ({"price": "lots"}, ["A decimal number"]),
    ({"target": "NOPE-USD"}, ["No pair &#x27;NOPE-USD&#x27;."]),
    ({"kind": "price_move", "scope": "pair", "target": "ETH-USD", "percent": ""},
     ["A move rule needs a percentage"]),
    ({"kind": "health_below", "scope": "all"}, ["A health rule needs a score"]),
    ({"kind": "deviation", "scope": "feed", "target": "nope", "bps": "20000"},
     ["No feed &#x27;nope&#x27;.", "at most 10000"]),
    ({"kind": "status", "scope": "all", "statuses": ["sleepy"]}, ["Select a valid choice"]),
    ({"kind": "consensus_unavailable", "scope": "protocol", "target": "chainlink"},
     ["Consensus is a pair&#x27;s"]),
    ({"hysteresis_bps": "5000"}, ["at most 1000"]),
    ({"for_seconds": "-1"}, ["greater than or equal to 0"]),
    ({"severity": "meh"}, ["Select a valid choice"]),
    ({"name": ""}, ["A rule needs a name."]),
    ({"channels": ["999999"]}, ["Select a valid choice"]),
])
def test_invalid_input_shows_form_errors(client, tenants, eth, data, errors):
    client.force_login(tenants["owner"])
    response = client.post(create_url(tenants["org"]), rule_data(**data))
    assert response.status_code == 400
    page = response.content.decode()
    for error in errors:
        assert error in page
    assert 'class="errorlist' in page
    assert not Rule.objects.exists()


def test_another_organizations_channel_is_refused(client, tenants, eth):
    theirs = create_channel(tenants["outsider_org"], kind="email", name="theirs",
                            config={"to": ["x@example.com"]})
    client.force_login(tenants["owner"])
    response = client.post(create_url(tenants["org"]), rule_data(channels=[theirs.pk]))
    assert response.status_code == 400 and "theirs" not in response.content.decode()
    assert not Rule.objects.exists()


def test_the_list_shows_the_rules_with_channels_and_open_incidents(client, tenants, rule):
    incident(rule, "ETH-USD")
    incident(rule, "feed-a", state="acknowledged")
    incident(rule, "feed-b", state="resolved")
    client.force_login(tenants["member"])
    page = client.get(list_url(tenants["org"])).content.decode()
    assert "ETH above 4k" in page and "desk mail" in page and "ETH-USD" in page
    assert "above 4000 (hysteresis 25 bps)" in page
    assert f'href="{detail_url(tenants["org"], rule)}#incidents">2</a>' in page


def test_the_detail_shows_recent_incidents(client, tenants, rule):
    old = incident(rule, "old-subject", state="resolved", minutes_ago=30)
    new = incident(rule, "new-subject", minutes_ago=1)
    client.force_login(tenants["member"])
    page = client.get(detail_url(tenants["org"], rule)).content.decode()
    assert page.index("new-subject") < page.index("old-subject")
    assert reverse("incident", args=[tenants["org"].slug, new.pk]) in page
    assert reverse("incident", args=[tenants["org"].slug, old.pk]) in page


def test_edit_changes_the_rule_and_disables_it(client, tenants, rule, channel):
    client.force_login(tenants["owner"])
    url = reverse("alert_rule_update", args=[tenants["org"].slug, rule.pk])
    response = client.post(url, rule_data(kind="deviation", bps="75", name="ETH deviates"))
    assert response.status_code == 302
    rule.refresh_from_db()
    assert (rule.name, rule.kind, rule.params, rule.enabled) == (
        "ETH deviates", "deviation", {"bps": "75"}, False)
    assert rule.channels.count() == 0

    client.post(url, rule_data(enabled="on", channels=[channel.pk]))
    rule.refresh_from_db()
    assert rule.enabled and list(rule.channels.all()) == [channel]


def test_the_edit_form_starts_from_the_rule(client, tenants, rule, channel):
    client.force_login(tenants["owner"])
    page = client.get(detail_url(tenants["org"], rule)).content.decode()
    assert 'value="ETH above 4k"' in page and 'value="4000"' in page and 'value="25"' in page
    assert f'value="{channel.pk}"' in page and "checked" in page


def test_an_invalid_edit_shows_errors_and_changes_nothing(client, tenants, rule):
    client.force_login(tenants["owner"])
    response = client.post(reverse("alert_rule_update", args=[tenants["org"].slug, rule.pk]),
                           rule_data(scope="protocol", target="nope", enabled="on"))
    assert response.status_code == 400
    assert "A price rule is about one feed or one pair." in response.content.decode()
    rule.refresh_from_db()
    assert (rule.name, rule.scope, rule.params["price"]) == ("ETH above 4k", "pair", "4000")


def test_delete_removes_the_rule_and_its_incidents(client, tenants, rule):
    incident(rule)
    client.force_login(tenants["owner"])
    response = client.post(reverse("alert_rule_delete", args=[tenants["org"].slug, rule.pk]))
    assert response.status_code == 302 and response["Location"] == list_url(tenants["org"])
    assert not Rule.objects.exists() and not Incident.objects.exists()


def test_a_viewer_sees_the_pages_but_every_post_is_forbidden(client, tenants, rule, viewer):
    listing = client.get(list_url(tenants["org"]))
    assert listing.status_code == 200 and "ETH above 4k" in listing.content.decode()
    assert create_url(tenants["org"]) not in listing.content.decode()
    detail = client.get(detail_url(tenants["org"], rule))
    assert detail.status_code == 200
    assert reverse("alert_rule_update", args=[tenants["org"].slug, rule.pk]) \
        not in detail.content.decode()
    assert client.post(create_url(tenants["org"]), rule_data()).status_code == 403
    for url in action_urls(tenants["org"], rule):
        assert client.post(url, rule_data()).status_code == 403, url
    rule.refresh_from_db()
    assert rule.name == "ETH above 4k" and Rule.objects.count() == 1


def test_an_outsider_gets_404_everywhere(client, tenants, rule):
    client.force_login(tenants["outsider"])
    assert client.get(list_url(tenants["org"])).status_code == 404
    assert client.get(detail_url(tenants["org"], rule)).status_code == 404
    own = tenants["outsider_org"]
    assert client.get(list_url(own)).status_code == 200
    assert client.get(detail_url(own, rule)).status_code == 404
    for org in (tenants["org"], own):
        for url in action_urls(org, rule):
            assert client.post(url, rule_data()).status_code == 404, url
    assert client.post(create_url(tenants["org"]), rule_data()).status_code == 404
    rule.refresh_from_db()
    assert rule.name == "ETH above 4k" and Rule.objects.count() == 1


def test_pages_need_a_login_and_the_right_method(client, tenants, rule):
    assert client.get(list_url(tenants["org"])).status_code == 302
    assert client.post(reverse("alert_rule_delete",
                               args=[tenants["org"].slug, rule.pk])).status_code == 302
    client.force_login(tenants["owner"])
    assert client.post(list_url(tenants["org"])).status_code == 405
    assert client.get(reverse("alert_rule_delete",
                              args=[tenants["org"].slug, rule.pk])).status_code == 405
    assert Rule.objects.exists()


def test_the_newer_rule_kinds_take_their_parameters_from_the_form(client, tenants):
    from apps.alerts.models import Rule

    client.force_login(tenants["owner"])
    url = f"/orgs/{tenants['org'].slug}/alerts/rules/create/"
    base = {"name": "q", "scope": "all", "severity": "warning", "resolve_after_seconds": 60,
            "for_seconds": 0}
    assert client.post(url, {**base, "kind": "quarantine", "count": 3,
                             "reasons": "bad_signature non_positive"}).status_code == 302
    assert client.post(url, {**base, "name": "h", "kind": "health_below",
                             "score": 40}).status_code == 302
    assert client.post(url, {**base, "name": "d", "kind": "deviation",
                             "dynamic_k": "3"}).status_code == 302
    params = dict(Rule.objects.values_list("name", "params"))
    assert params == {"q": {"count": 3, "window_seconds": 300,
                            "reasons": ["bad_signature", "non_positive"]},
                      "h": {"score": 40}, "d": {"dynamic_k": "3"}}
