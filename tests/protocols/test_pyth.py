"""Pyth through Hermes: REST and the SSE stream against the devnet's Hermes (real signed PNAU
updates from the devnet's guardians), and real Hermes responses with mainnet's guardians."""
import json
import threading
import time
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from apps.devnet.control import DevnetClient
from apps.feeds.models import PriceObservation, QuarantinedRead
from apps.protocols.adapters.pyth import PythHermesAdapter
from apps.protocols.streams import PythStream
from apps.protocols.sync import sync_protocol
from tests.factories import FeedFactory

REAL = json.loads((Path(__file__).parents[1]
                   / "fixtures/real/pyth_hermes_v2_updates_price_latest_2feeds.json").read_text())
KEY = "pyth-offchain-eth-usd"


def rows(feed):
    return PriceObservation.objects.filter(feed=feed).order_by("source_ts")


def test_rest_tick_stores_verified_prices_with_their_confidence(offchain_feeds, calm_devnet):
    (run,) = sync_protocol("pyth")
    assert (run.ok, run.failed, run.rejected) == (1, 0, 0)
    obs = rows(offchain_feeds[KEY]).last()
    assert obs.verified is True and obs.decimals == 8
    eth = calm_devnet.market.price("ETH")
    assert abs(obs.price - eth) / eth < Decimal("0.01")
    assert obs.confidence > 0


def test_bad_signatures_are_stored_unverified_and_quarantined(offchain_feeds, calm_devnet):
    client = DevnetClient(calm_devnet.control.url)
    client.inject("bad-signature", "pyth")
    try:
        (run,) = sync_protocol("pyth")
    finally:
        client.clear()
    feed = offchain_feeds[KEY]
    assert run.rejected == 1 and run.error_class == "bad_signature"
    assert rows(feed).last().verified is False
    assert QuarantinedRead.objects.get(feed=feed).reason == "bad_signature"


def test_hermes_without_the_api_key_refuses(offchain_feeds, settings):
    settings.OP_PYTH_API_KEY = ""
    (run,) = sync_protocol("pyth")
    assert run.failed == 1 and run.error_class == "http_401"


@pytest.mark.django_db(transaction=True)
def test_the_stream_reconnects_after_a_drop_and_backfills_the_gap(offchain_feeds, calm_devnet,
                                                                   settings):
    settings.OP_STREAM_MAX_BACKOFF = 0.5
    feed = offchain_feeds[KEY]
    stop = threading.Event()
    stream = PythStream(stop)
    thread = threading.Thread(target=stream.run, daemon=True)
    thread.start()
    client = DevnetClient(calm_devnet.control.url)
    try:
        wait_for(lambda: rows(feed).count() >= 2)
        client.inject("drop-stream", "pyth")
        time.sleep(3)  # nothing can come through the stream now
        client.clear()
        wait_for(lambda: stream.reconnects >= 1 and rows(feed).last().source_ts.timestamp()
                 >= time.time() - 1.5)
    finally:
        stop.set()
        client.clear()
        thread.join(5)
    seconds = [int(t.timestamp()) for t in rows(feed).values_list("source_ts", flat=True)]
    assert len(seconds) >= 5
    assert seconds == list(range(seconds[0], seconds[-1] + 1))  # not one second lost
    assert set(rows(feed).values_list("verified", flat=True)) == {True}


def wait_for(condition, timeout: float = 15) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.2)


def test_real_hermes_response_verifies_with_mainnet_guardians(db, settings):
    settings.OP_PYTH_GUARDIANS = "mainnet"
    feeds = [FeedFactory(chain=None, source_kind="stream", decimals=8, feed_id=item["id"])
             for item in REAL["parsed"]]
    now = datetime.fromtimestamp(REAL["parsed"][0]["price"]["publish_time"] + 5, tz=UTC)
    result = PythHermesAdapter().from_update(REAL, feeds, now=now, historical=True)
    assert result.problems == []
    for item, obs in zip(REAL["parsed"], result.observations, strict=True):
        assert obs.verified is True
        assert obs.raw_answer == int(item["price"]["price"])
        assert obs.decimals == -item["price"]["expo"]
        assert obs.confidence == Decimal(item["price"]["conf"]).scaleb(item["price"]["expo"])
        assert int(obs.source_ts.timestamp()) == item["price"]["publish_time"]


def test_a_parsed_price_that_differs_from_the_signed_one_is_not_verified(db, settings):
    settings.OP_PYTH_GUARDIANS = "mainnet"
    body = json.loads(json.dumps(REAL))
    body["parsed"][0]["price"]["price"] = str(int(body["parsed"][0]["price"]["price"]) + 1)
    feeds = [FeedFactory(chain=None, source_kind="stream", feed_id=item["id"])
             for item in body["parsed"]]
    now = datetime.fromtimestamp(body["parsed"][0]["price"]["publish_time"], tz=UTC)
    result = PythHermesAdapter().from_update(body, feeds, now=now, historical=True)
    assert {obs.verified for obs in result.observations} == {False}
    assert {p.reason for p in result.problems} == {"parsed_mismatch"}


def test_the_signed_update_is_kept_and_verifies_again_later(offchain_feeds, calm_devnet):
    from apps.protocols.adapters.pyth import guardian_sets
    from apps.protocols.models import SignedPayload
    from apps.protocols.verification.pyth import verify_price_update

    sync_protocol("pyth")
    payload = SignedPayload.objects.get()
    feed = offchain_feeds[KEY]
    assert payload.format == "pyth-pnau" and payload.verified is True
    assert payload.covers == {feed.key: int(rows(feed).last().source_ts.timestamp())}
    (price,) = verify_price_update(bytes(payload.data), None, guardian_sets=guardian_sets(),
                                   now=datetime.now(tz=UTC), historical=True)
    assert price.price == rows(feed).last().raw_answer


def test_a_feed_without_an_id_is_discovered_by_symbol(offchain_feeds):
    feed = offchain_feeds[KEY]
    feed.feed_id = ""
    feed.save()
    from apps.protocols.sync import reset_engine_state

    reset_engine_state()
    (run,) = sync_protocol("pyth")
    feed.refresh_from_db()
    assert feed.feed_id == "ff61491a931112ddf1bd8147cd1b641375f79f5825126d665480874634fd0ace"
    assert run.ok == 1
