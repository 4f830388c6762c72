"""The price endpoints: latest (all protocols + consensus), history, deviation, health,
feeds with filters, quarantine, pagination, conditional requests, errors as JSON."""
from datetime import timedelta

import pytest
from django.core.cache import cache
from django.utils import timezone

from apps.feeds.models import QuarantinedRead
from apps.feeds.pair_state import refresh_pairs
from tests.factories import AssetFactory, PairFactory, priced

from .conftest import bearer


def eth_pair():
    cache.clear()
    eth = PairFactory(base=AssetFactory(symbol="ETH", name="Ether"))
    feeds = [priced(eth, "chainlink", "3400"), priced(eth, "pyth", "3402"),
             priced(eth, "tellor", "3300", age=4 * 3600)]
    return eth, feeds


def test_latest_gives_every_protocol_and_the_consensus_with_prices_as_strings(client, api_key):
    _, raw = api_key
    _, (chainlink, pyth, tellor) = eth_pair()
    response = client.get("/api/v1/pairs/ETH-USD/latest", **bearer(raw))
    assert response.status_code == 200
    body = response.json()
    assert body["consensus"]["price"] == "3401.00000000" and body["consensus"]["votes"] == 2
    assert body["status"] == "stale"
    rows = {row["feed"]: row for row in body["feeds"]}
    assert rows[chainlink.key]["price"] == "3400.00000000"
    assert rows[chainlink.key]["deviation_bps"] == "-2.94"
    assert rows[tellor.key]["status"] == "stale"
    assert set(rows[pyth.key]) >= {"verified", "source_ts", "age_seconds", "outlier"}


def test_latest_has_an_etag_and_answers_304_when_unchanged(client, api_key):
    _, raw = api_key
    eth_pair()
    first = client.get("/api/v1/pairs/ETH-USD/latest", **bearer(raw))
    assert first["ETag"] and first["Last-Modified"]
    again = client.get("/api/v1/pairs/ETH-USD/latest", HTTP_IF_NONE_MATCH=first["ETag"],
                       **bearer(raw))
    assert again.status_code == 304 and again.content == b""


def test_responses_are_gzipped_when_asked(client, api_key):
    _, raw = api_key
    eth_pair()
    response = client.get("/api/v1/pairs/ETH-USD/latest", HTTP_ACCEPT_ENCODING="gzip",
                          **bearer(raw))
    assert response["Content-Encoding"] == "gzip"
    import gzip
    import json

    assert json.loads(gzip.decompress(response.content))["pair"] == "ETH-USD"


def test_feed_latest_shows_the_stored_observation_and_verified_share(client, api_key):
    _, raw = api_key
    _, (chainlink, *_) = eth_pair()
    body = client.get(f"/api/v1/feeds/{chainlink.key}/latest", **bearer(raw)).json()
    assert body["observation"]["raw_answer"] == "340000000000"
    assert body["state"]["price"] == "3400.00000000" and body["consensus"] == "3401.00000000"
    assert body["state"]["verified_share"] is None  # nothing to verify for this protocol


def test_history_gives_ohlc_bars_for_an_interval(client, api_key,
                                                django_capture_on_commit_callbacks):
    _, raw = api_key
    with django_capture_on_commit_callbacks(execute=True):  # the rollups follow the commit
        eth, (chainlink, *_) = eth_pair()
    refresh_pairs([eth.pk])
    now = timezone.now()
    params = {"from": (now - timedelta(hours=2)).isoformat(), "to": now.isoformat(),
              "interval": "1h"}
    body = client.get(f"/api/v1/feeds/{chainlink.key}/history", params, **bearer(raw)).json()
    assert body["interval"] == "1h" and body["bars"][-1]["close"] == "3400.00000000"
    assert all(bar["seconds"] == 3600 for bar in body["bars"])
    pair = client.get("/api/v1/pairs/ETH-USD/history", params, **bearer(raw)).json()
    assert pair["bars"][-1]["close"] == "3401.00000000"


def test_history_refuses_bad_spans_with_field_errors(client, api_key):
    _, raw = api_key
    eth_pair()
    url = "/api/v1/pairs/ETH-USD/history"
    now = timezone.now()
    cases = [
        ({"from": "yesterday"}, "from"),
        ({"interval": "7s"}, "interval"),
        ({"from": now.isoformat(), "to": (now - timedelta(hours=1)).isoformat()}, "from"),
        ({"from": (now - timedelta(days=400)).isoformat()}, "from"),  # beyond the free plan
        ({"from": (now - timedelta(days=30)).isoformat(), "interval": "1m"}, "interval"),
    ]
    for params, field in cases:
        response = client.get(url, params, **bearer(raw))
        assert response.status_code == 400, params
        assert field in response.json()["error"]["details"], params


def test_deviation_and_health_per_pair_and_feed(client, api_key):
    _, raw = api_key
    _, (chainlink, pyth, _) = eth_pair()
    deviation = client.get("/api/v1/pairs/ETH-USD/deviation", **bearer(raw)).json()
    assert deviation["max_abs_deviation_bps"] == "296.97"  # the stale Tellor price
    outliers = {row["feed"]: row["outlier"] for row in deviation["feeds"]}
    assert outliers[chainlink.key] is False
    health = client.get("/api/v1/pairs/ETH-USD/health", **bearer(raw)).json()
    assert {row["feed"] for row in health["feeds"]} >= {chainlink.key, pyth.key}
    assert len(health["feeds"]) == 3
    one = client.get(f"/api/v1/feeds/{pyth.key}/health", **bearer(raw)).json()
    assert one["status"] == "fresh" and 0 <= one["score"] <= 100
    protocol = client.get("/api/v1/protocols/tellor/health", **bearer(raw)).json()
    assert protocol["statuses"] == {"stale": 1}


def test_feeds_filter_by_protocol_pair_chain_and_status(client, api_key):
    _, raw = api_key
    _, (chainlink, pyth, tellor) = eth_pair()

    def keys(**params):
        return {f["key"] for f in
                client.get("/api/v1/feeds", params, **bearer(raw)).json()["results"]}

    assert keys() == {chainlink.key, pyth.key, tellor.key}
    assert keys(protocol="pyth") == {pyth.key}
    assert keys(pair="ETH-USD", status="stale") == {tellor.key}
    assert keys(chain="offchain") == set()
    bad = client.get("/api/v1/feeds", {"status": "sleepy"}, **bearer(raw))
    assert bad.status_code == 400 and "status" in bad.json()["error"]["details"]


def test_lists_are_cursor_paginated(client, api_key):
    _, raw = api_key
    for symbol in ("AAA", "BBB", "CCC"):
        PairFactory(base=AssetFactory(symbol=symbol))
    first = client.get("/api/v1/pairs", {"limit": 2}, **bearer(raw)).json()
    assert len(first["results"]) == 2 and first["next"]
    second = client.get(first["next"], **bearer(raw)).json()
    assert len(second["results"]) == 1 and second["next"] is None
    slugs = [p["slug"] for p in first["results"] + second["results"]]
    assert sorted(slugs) == ["AAA-USD", "BBB-USD", "CCC-USD"]


def test_quarantined_reads_newest_first(client, api_key):
    _, raw = api_key
    _, (chainlink, *_) = eth_pair()
    for reason in ("non_positive", "jump"):
        QuarantinedRead.objects.create(feed=chainlink, raw_value="0", reason=reason)
    body = client.get(f"/api/v1/feeds/{chainlink.key}/quarantine", **bearer(raw)).json()
    assert [row["reason"] for row in body["results"]] == ["jump", "non_positive"]


def test_unknown_things_are_json_404s(client, api_key):
    _, raw = api_key
    for url in ("/api/v1/pairs/NOPE-USD/latest", "/api/v1/feeds/nope/history",
                "/api/v1/protocols/nope", "/api/v1/no-such-endpoint"):
        response = client.get(url, **bearer(raw))
        assert response.status_code == 404, url
        assert response["Content-Type"] == "application/json", url
        assert response.json()["error"]["code"] == "not_found", url


def test_a_wrong_method_is_a_json_405(client, api_key):
    _, raw = api_key
    response = client.post("/api/v1/pairs", **bearer(raw))
    assert response.status_code in (403, 405)
    assert "error" in response.json()


@pytest.mark.redis
def test_with_redis_the_middleware_serves_latest_from_the_pre_serialized_body(
        client, api_key, monkeypatch):
    from apps.api import prices as api

    _, raw = api_key
    eth, _ = eth_pair()
    refresh_pairs([eth.pk])
    expected = client.get("/api/v1/pairs/ETH-USD/latest", **bearer(raw))

    def not_called(*args, **kwargs):
        raise AssertionError("the view ran: the throttle round trip did not bring the body")

    monkeypatch.setattr(api.PairLatest, "get", not_called)
    served = client.get("/api/v1/pairs/ETH-USD/latest", **bearer(raw))
    assert served.status_code == 200 and served.content == expected.content
    assert served["ETag"] == expected["ETag"] and served["X-RateLimit-Remaining"]
    unchanged = client.get("/api/v1/pairs/ETH-USD/latest", HTTP_IF_NONE_MATCH=served["ETag"],
                           **bearer(raw))
    assert unchanged.status_code == 304


def test_impossible_dates_and_odd_limits_are_400s_not_500s(client, api_key):
    _, raw = api_key
    eth_pair()
    for url in ("/api/v1/pairs/ETH-USD/history?from=2026-02-30T00:00:00Z",
                "/api/v1/pairs/ETH-USD/history?to=0001-01-01T00:00:30Z",
                "/api/v1/pairs?limit=%C2%B2"):
        response = client.get(url, **bearer(raw))
        assert response.status_code == 400, url


def test_history_bars_are_as_wide_as_the_interval_asked_for(client, api_key,
                                                            django_capture_on_commit_callbacks):
    _, raw = api_key
    with django_capture_on_commit_callbacks(execute=True):
        _, (chainlink, *_) = eth_pair()
    end = timezone.now() + timedelta(minutes=1)  # every span below covers the stored price
    for interval, span in (("1h", timedelta(hours=1)), ("4h", timedelta(hours=4)),
                           ("15m", timedelta(minutes=30))):
        body = client.get(f"/api/v1/feeds/{chainlink.key}/history",
                          {"from": (end - span).isoformat(), "to": end.isoformat(),
                           "interval": interval}, **bearer(raw)).json()
        assert {"from", "to"} <= body.keys()
        seconds = {"1h": 3600, "4h": 14400, "15m": 900}[interval]
        assert body["bars"] and all(bar["seconds"] == seconds for bar in body["bars"]), interval
