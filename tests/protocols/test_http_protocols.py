"""Off-chain protocols over HTTP: each adapter against its devnet simulator (the real paths
and JSON shapes) and, where one exists, a real response; 429 Retry-After is honoured."""
import json
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
import responses
from django.core.cache import cache

from apps.devnet.control import DevnetClient
from apps.feeds.models import PriceObservation, QuarantinedRead
from apps.protocols.adapters.base import parse_rfc3339
from apps.protocols.adapters.dia import DiaApiAdapter
from apps.protocols.adapters.http import HttpClient, RateLimited, retry_after_seconds
from apps.protocols.models import SyncRun
from apps.protocols.sync import sync_protocol
from tests.factories import FeedFactory

REAL = json.loads((Path(__file__).parents[1] / "fixtures/real/dia_quotation_responses.json")
                  .read_text())
NOW = datetime(2026, 11, 26, 12, tzinfo=UTC)


def latest(feed):
    return PriceObservation.objects.filter(feed=feed).order_by("-source_ts").first()


def close(value: Decimal, expected: Decimal, bps: int = 100) -> bool:
    return abs(value - expected) / expected * 10_000 < bps


@pytest.mark.parametrize("protocol", ["dia", "band", "switchboard", "redstone"])
def test_each_protocol_reads_its_simulator_into_exact_prices(offchain_feeds, calm_devnet,
                                                              protocol):
    runs = sync_protocol(protocol)
    (run,) = runs
    assert (run.feeds_read, run.ok, run.failed, run.rejected) == (run.feeds_read, run.feeds_read,
                                                                   0, 0)
    assert run.chain is None
    for feed in offchain_feeds.values():
        if feed.protocol.slug != protocol:
            continue
        obs = latest(feed)
        assert obs.decimals == feed.decimals
        assert close(obs.price, calm_devnet.market.price(feed.pair.base.symbol)), feed.key
        assert abs((obs.source_ts - obs.fetched_at).total_seconds()) < 5
        # Only RedStone signs its values: verified is true there and null elsewhere.
        assert obs.verified is (True if protocol == "redstone" else None)


def test_redstone_bad_signatures_are_quarantined_while_valid_packages_keep_flowing(
    offchain_feeds, calm_devnet
):
    feed = offchain_feeds["redstone-offchain-eth-usd"]
    DevnetClient(calm_devnet.control.url).inject("bad-signature", "redstone")
    try:
        (run,) = sync_protocol("redstone")
    finally:
        DevnetClient(calm_devnet.control.url).clear()
    assert run.ok == 1 and run.rejected == 2 and run.error_class == "bad_signature"
    assert latest(feed).verified is True
    assert set(QuarantinedRead.objects.filter(feed=feed).values_list("reason", flat=True)) == {
        "bad_signature"}


def test_redstone_values_below_the_signer_threshold_are_refused(offchain_feeds, settings):
    settings.OP_REDSTONE_SIGNERS = settings.DEVNET_REDSTONE_SIGNERS[:2]  # 3 signers unknown
    (run,) = sync_protocol("redstone")
    assert run.ok == 0 and run.rejected >= 1
    assert not PriceObservation.objects.filter(feed__protocol__slug="redstone").exists()


def test_devnet_signer_setting_matches_the_devnet_gateway_keys(settings):
    from eth_keys import keys

    from apps.devnet.simulators.redstone import devnet_signer_keys

    assert [keys.PrivateKey(k).public_key.to_checksum_address()
            for k in devnet_signer_keys()] == settings.DEVNET_REDSTONE_SIGNERS


def test_switchboard_reports_the_spread_of_its_oracle_runs(offchain_feeds):
    sync_protocol("switchboard")
    obs = latest(offchain_feeds["switchboard-offchain-eth-usd"])
    assert obs.confidence is not None and obs.confidence > 0


def test_a_frozen_api_feed_serves_its_old_quote_and_stores_nothing_new(offchain_feeds,
                                                                        calm_devnet):
    feed = offchain_feeds["band-offchain-btc-usd"]
    sync_protocol("band")
    DevnetClient(calm_devnet.control.url).inject("freeze", feed.key)
    try:
        before = PriceObservation.objects.filter(feed=feed).count()
        cache.clear()
        sync_protocol("band")
        assert PriceObservation.objects.filter(feed=feed).count() == before
    finally:
        DevnetClient(calm_devnet.control.url).clear()


def test_garbage_from_an_api_is_quarantined(offchain_feeds, calm_devnet):
    feed = offchain_feeds["dia-offchain-eth-usd"]
    sync_protocol("dia")
    DevnetClient(calm_devnet.control.url).inject("garbage", feed.key, mode="jump")
    try:
        cache.clear()
        (run,) = sync_protocol("dia")
        assert (run.rejected, run.error_class) == (1, "absurd_jump")
    finally:
        DevnetClient(calm_devnet.control.url).clear()


def test_429_makes_the_engine_wait_as_told(offchain_feeds, calm_devnet, settings):
    settings.OP_HTTP_MAX_RETRY_WAIT = 1  # longer waits are not spent inside a tick
    client = DevnetClient(calm_devnet.control.url)
    client.inject("http-429", "band", seconds=30)
    try:
        (run,) = sync_protocol("band")
        assert run.failed == run.feeds_read and run.error_class == "rate_limited"
        client.clear()
        assert sync_protocol("band") is None  # still inside Retry-After: no request at all
        assert SyncRun.objects.filter(protocol__slug="band").count() == 1
        cache.delete("sync:retry_after:band")
        (recovered,) = sync_protocol("band")
        assert recovered.ok == recovered.feeds_read
    finally:
        client.clear()


def test_a_short_retry_after_is_waited_out_within_the_request(settings):
    with responses.RequestsMock() as mocked:
        mocked.get("http://api.test/x", status=429, headers={"Retry-After": "0"})
        mocked.get("http://api.test/x", json={"ok": 1.5})
        assert HttpClient("http://api.test").get_json("/x") == {"ok": Decimal("1.5")}


def test_a_long_retry_after_is_raised_with_its_delay():
    with responses.RequestsMock() as mocked:
        mocked.get("http://api.test/x", status=429, headers={"Retry-After": "120"})
        with pytest.raises(RateLimited) as raised:
            HttpClient("http://api.test", max_wait=5).get_json("/x")
    assert raised.value.retry_after == 120


def test_retry_after_accepts_an_http_date():
    assert retry_after_seconds("Wed, 21 Oct 2015 07:28:00 GMT") == 0
    assert retry_after_seconds("7") == 7
    assert retry_after_seconds("soon", default=3) == 3


@pytest.mark.parametrize("key", ["assetQuotation_BTC", "legacy_quotation_BTC",
                                 "legacy_quotation_ETH"])
def test_dia_adapter_reads_real_dia_responses_exactly(db, key, settings):
    settings.OP_DIA_API_URL = "http://dia.test"
    body = REAL[key]["response"]
    feed = FeedFactory(decimals=8, chain=None, source_kind="http",
                       params={"symbol": body["Symbol"]})
    with responses.RequestsMock() as mocked:
        mocked.get(f"http://dia.test/v1/quotation/{body['Symbol']}",
                   body=json.dumps(body).encode())
        result = DiaApiAdapter().read([feed], now=NOW)
    (obs,) = result.observations
    # The JSON number's digits, rounded once at the 8th decimal; never through a float.
    assert obs.raw_answer == int((Decimal(repr(body["Price"])) * 10**8).quantize(1))
    assert obs.source_ts == parse_rfc3339(body["Time"])


def test_rfc3339_keeps_go_nanoseconds_to_the_microsecond():
    moment = parse_rfc3339("2020-05-19T08:41:12.499645584Z")
    assert moment == datetime(2020, 5, 19, 8, 41, 12, 499645, tzinfo=UTC)
    assert parse_rfc3339("2023-09-11T10:07:59.944Z").microsecond == 944000
