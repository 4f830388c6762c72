"""/status/: public, the current state of every component, 90 daily bars each ("no data"
before records began), the overall uptime and the platform incidents, in a few queries."""
from datetime import timedelta

from django.utils import timezone

from apps.status.models import (
    API,
    WEBSOCKET,
    ComponentDay,
    IncidentStatus,
    PlatformIncident,
    State,
)
from apps.status.probe import Check
from apps.status.services import record_probe
from tests.factories import ProtocolFactory

from .conftest import component_days

COMPONENTS = (API, WEBSOCKET, "ingestion:pyth")


def history(days: int, protocols: tuple[str, ...] = ("pyth",)) -> None:
    """`days` full days of records before today, then one probe run now."""
    today = timezone.now().date()
    for component in (API, WEBSOCKET, *(f"ingestion:{p}" for p in protocols)):
        component_days(component, today - timedelta(days=days), days)
    for slug in protocols:
        ProtocolFactory(slug=slug, name=slug.title())
    record_probe([Check(API, True, State.UP, 21), Check(WEBSOCKET, True, State.UP, 34),
                  *(Check(f"ingestion:{p}", True, State.UP) for p in protocols)],
                 timezone.now())


def test_the_status_page_is_public_with_90_daily_bars_per_component(client, db):
    history(29)
    response = client.get("/status/")
    assert response.status_code == 200
    components = response.context["components"]
    assert [c.component for c in components] == list(COMPONENTS)
    for component in components:
        assert len(component.bars) == 90
        # Before records began: grey "no data", never 100 %.
        assert [b.level for b in component.bars[:60]] == ["none"] * 60
        assert all(b.percent is None for b in component.bars[:60])
        assert {b.percent for b in component.bars[60:89]} == {100}
        assert component.current.state == State.UP
    page = response.content.decode()
    assert "Ingestion: Pyth" in page and "WebSocket API" in page
    assert f'title="{components[0].bars[0].day:%Y-%m-%d}: no data"' in page
    assert f'title="{components[0].bars[60].day:%Y-%m-%d}: 100.000 %"' in page
    assert "answered in 21 ms" in page


def test_a_day_below_the_target_is_coloured_by_its_uptime(client, db):
    history(3)
    yesterday = timezone.now().date() - timedelta(days=1)
    ComponentDay.objects.filter(component=API, day=yesterday).update(ok_minutes=1420)
    ComponentDay.objects.filter(component=API, day=yesterday - timedelta(days=1)).update(
        ok_minutes=1439)
    (api, *_) = client.get("/status/").context["components"]
    assert (str(api.bars[-2].percent), api.bars[-2].level) == ("98.611", "major")
    assert (str(api.bars[-3].percent), api.bars[-3].level) == ("99.930", "ok")


def test_without_any_probe_the_page_says_there_is_no_data(client, db):
    response = client.get("/status/")
    assert response.status_code == 200
    assert [c.component for c in response.context["components"]] == [API, WEBSOCKET]
    assert response.context["overall"] is None
    assert "No probe has run yet" in response.content.decode()


def test_current_incidents_come_first_and_past_ones_for_90_days(client, db):
    now = timezone.now()
    ProtocolFactory(slug="pyth", name="Pyth")
    PlatformIncident.objects.create(title="Pyth prices delayed", components=["ingestion:pyth"],
                                    status=IncidentStatus.IDENTIFIED,
                                    started_at=now - timedelta(minutes=20))
    old = PlatformIncident.objects.create(title="API errors", components=[API],
                                          status=IncidentStatus.RESOLVED,
                                          started_at=now - timedelta(days=10, hours=1),
                                          resolved_at=now - timedelta(days=10))
    old.updates.create(status=IncidentStatus.RESOLVED, body="A bad deploy, rolled back.")
    PlatformIncident.objects.create(title="Ancient history", status=IncidentStatus.RESOLVED,
                                    started_at=now - timedelta(days=120),
                                    resolved_at=now - timedelta(days=119))
    response = client.get("/status/")
    page = response.content.decode()
    assert [i.title for i, _ in response.context["current_incidents"]] == ["Pyth prices delayed"]
    assert [i.title for i, _ in response.context["past_incidents"]] == ["API errors"]
    assert page.index("Pyth prices delayed") < page.index("Components") < page.index(
        "API errors")
    assert "affects Ingestion: Pyth" in page and "A bad deploy, rolled back." in page
    assert "Ancient history" not in page


def test_the_page_takes_a_fixed_handful_of_queries(client, db, django_assert_max_num_queries):
    history(90, protocols=tuple(f"protocol{n}" for n in range(12)))
    for n in range(5):
        incident = PlatformIncident.objects.create(title=f"incident {n}")
        incident.updates.create(status=IncidentStatus.INVESTIGATING, body="Looking.")
    with django_assert_max_num_queries(7):
        response = client.get("/status/")
    assert len(response.context["components"]) == 14


def test_the_footer_links_to_the_status_page(client, db):
    assert 'href="/status/"' in client.get("/").content.decode()
