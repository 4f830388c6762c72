"""The daily rollup each probe run updates, and the availability arithmetic on it
(docs/sla.md): no data before records began, unprobed minutes unavailable, the SLA figure."""
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from apps.status.availability import (
    DayRow,
    Tally,
    as_percent,
    covered_until,
    daily_tallies,
    overall_ratio,
    totals,
)
from apps.status.models import API, WEBSOCKET, ComponentDay, State
from apps.status.probe import Check
from apps.status.selectors import month_availability
from apps.status.services import record_probe

from .conftest import component_days

DAY = date(2026, 3, 10)
T0 = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)


def run(at: datetime, ok: bool = True, component: str = API) -> None:
    record_probe([Check(component, ok, State.UP if ok else State.DOWN, 12)], at)


def rollup(component: str = API) -> dict[date, tuple[int, int]]:
    return {d.day: (d.minutes, d.ok_minutes)
            for d in ComponentDay.objects.filter(component=component)}


# --- the rollup ------------------------------------------------------------------------------

def test_each_probed_minute_is_counted_once_and_available_when_its_probe_succeeded(db):
    run(T0)
    run(T0 + timedelta(seconds=60), ok=False)
    run(T0 + timedelta(seconds=120))
    assert rollup() == {DAY: (3, 2)}
    assert ComponentDay.objects.get(component=API).since == T0


def test_two_runs_in_one_minute_count_it_once_available_if_either_succeeded(db):
    run(T0 + timedelta(seconds=1), ok=False)
    run(T0 + timedelta(seconds=58))
    run(T0 + timedelta(seconds=59))
    assert rollup() == {DAY: (1, 1)}


def test_a_minute_skipped_by_the_schedules_jitter_is_not_an_outage(db):
    run(T0 + timedelta(seconds=59.5))
    run(T0 + timedelta(seconds=120.3))  # 60.8 s later, but two minutes on
    assert rollup() == {DAY: (3, 3)}  # 12:00, 12:01 (filled) and 12:02


def test_a_real_gap_leaves_its_minutes_unprobed(db):
    run(T0 + timedelta(seconds=30))
    run(T0 + timedelta(minutes=5, seconds=30))
    assert rollup() == {DAY: (2, 2)}


def test_a_filled_minute_before_midnight_counts_on_its_own_day(db):
    midnight = datetime(2026, 3, 11, tzinfo=UTC)
    run(midnight - timedelta(seconds=61))  # 23:58:59
    run(midnight + timedelta(seconds=0.5))  # 00:00:00.5: 23:59 had no run
    assert rollup() == {DAY: (2, 2), date(2026, 3, 11): (1, 1)}


def test_each_component_is_counted_on_its_own(db):
    record_probe([Check(API, True, State.UP, 5), Check(WEBSOCKET, False, State.DOWN, 5)], T0)
    record_probe([Check(API, True, State.UP, 5), Check(WEBSOCKET, True, State.UP, 5),
                  Check("ingestion:pyth", True, State.UP)], T0 + timedelta(minutes=1))
    assert rollup(API) == {DAY: (2, 2)}
    assert rollup(WEBSOCKET) == {DAY: (2, 1)}
    assert rollup("ingestion:pyth") == {DAY: (1, 1)}


# --- the arithmetic --------------------------------------------------------------------------

def tallies(rows: list[DayRow], firsts: dict, days: list[date], until: datetime) -> dict:
    return daily_tallies(rows, firsts=firsts, days=days, until=until)


def test_before_the_first_record_there_is_no_data_never_100_percent():
    assert tallies([], {}, [DAY], T0) == {}
    # Records began at noon: the morning is not counted, the day is not a full one.
    rows = [DayRow(API, DAY, 720, 720)]
    found = tallies(rows, {API: T0}, [DAY - timedelta(days=1), DAY], datetime(2026, 3, 11,
                                                                             tzinfo=UTC))
    assert DAY - timedelta(days=1) not in found[API]
    assert found[API][DAY] == Tally(720, 720)


def test_minutes_without_any_probe_count_as_unavailable_once_records_began():
    start = datetime(2026, 3, 9, tzinfo=UTC)
    rows = [DayRow(API, DAY - timedelta(days=1), 1440, 1440),  # then the platform went down:
            DayRow(API, DAY, 600, 600), DayRow(WEBSOCKET, DAY, 600, 540)]
    days = [DAY - timedelta(days=1), DAY, DAY + timedelta(days=1)]
    found = tallies(rows, {API: start, WEBSOCKET: start}, days, datetime(2026, 3, 12,
                                                                         tzinfo=UTC))
    assert found[API][DAY] == Tally(600, 1440)
    assert found[WEBSOCKET][DAY] == Tally(540, 1440)
    assert found[API][DAY + timedelta(days=1)] == Tally(0, 1440)  # not one probe that day
    assert found[API][DAY + timedelta(days=1)].percent == Decimal("0.000")


def test_today_counts_only_the_minutes_so_far():
    rows = [DayRow(API, DAY, 721, 721)]
    until = covered_until(T0 + timedelta(seconds=30), last_probe_at=T0 + timedelta(seconds=2))
    assert until == T0 + timedelta(minutes=1)  # the current minute has been probed
    found = tallies(rows, {API: datetime(2026, 3, 10, tzinfo=UTC)}, [DAY], until)
    assert found[API][DAY] == Tally(721, 721)
    assert covered_until(T0 + timedelta(seconds=30), T0 - timedelta(minutes=5)) == T0


def test_a_protocol_counts_its_probed_minutes_and_the_platforms_unprobed_ones():
    start = datetime(2026, 3, 1, tzinfo=UTC)
    rows = [DayRow(API, DAY, 1380, 1380),  # an hour without any probe run
            DayRow("ingestion:pyth", DAY, 1380, 1370),
            DayRow("ingestion:dia", DAY, 600, 600)]  # enabled at 14:00 (its first day)
    found = tallies(rows, {API: start, "ingestion:pyth": start,
                           "ingestion:dia": datetime(2026, 3, 10, 14, tzinfo=UTC)},
                    [DAY - timedelta(days=1), DAY], datetime(2026, 3, 11, tzinfo=UTC))
    assert found["ingestion:pyth"][DAY] == Tally(1370, 1440)
    assert found["ingestion:dia"][DAY] == Tally(600, 600)  # capped at its 600 minutes
    # The day before, the protocols were not probed: not enabled, no data (the API was down).
    assert DAY - timedelta(days=1) not in found["ingestion:pyth"]
    assert found[API][DAY - timedelta(days=1)] == Tally(0, 1440)


def test_the_sla_figure_is_the_worst_of_api_websocket_and_the_mean_of_ingestion():
    figure = overall_ratio({API: Tally(9995, 10000), WEBSOCKET: Tally(9990, 10000),
                            "ingestion:a": Tally(10000, 10000), "ingestion:b": Tally(9900, 10000)})
    assert as_percent(figure) == Decimal("99.500")  # mean of 100 % and 99 %
    figure = overall_ratio({API: Tally(9000, 10000), WEBSOCKET: Tally(9990, 10000),
                            "ingestion:a": Tally(10000, 10000)})
    assert as_percent(figure) == Decimal("90.000")
    assert overall_ratio({}) is None


def test_percentages_are_rounded_down_so_none_escapes_a_credit_tier():
    assert Tally(998999, 1000000).percent == Decimal("99.899")
    assert isinstance(Tally(1, 3).percent, Decimal)
    assert Tally().percent is None


def test_totals_add_up_each_components_days():
    found = {API: {DAY: Tally(10, 20), DAY + timedelta(days=1): Tally(5, 5)}}
    assert totals(found) == {API: Tally(15, 25)}


def test_a_months_availability_counts_from_its_first_record_with_no_probe_unavailable(db):
    since = datetime(2026, 2, 22, 1, 20, tzinfo=UTC)  # 10,000 minutes before March
    for component in (API, WEBSOCKET, "ingestion:pyth"):
        component_days(component, date(2026, 2, 22), 1, minutes=1360, since=since)
        component_days(component, date(2026, 2, 23), 2)
        component_days(component, date(2026, 2, 25), 1, minutes=440)  # 1,000 minutes unprobed
        component_days(component, date(2026, 2, 26), 3)
    ComponentDay.objects.filter(component=API, day=date(2026, 2, 28)).update(ok_minutes=1430)
    # The API: 9,000 minutes probed, 10 of them failed, of 10,000; the rest: 9,000 of 10,000.
    assert month_availability(date(2026, 2, 1)) == Decimal("89.900")
    assert month_availability(date(2026, 1, 1)) is None  # before records began
