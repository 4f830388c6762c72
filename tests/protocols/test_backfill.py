"""Backfill walks a feed's past on the chain: Chainlink rounds across phases, other protocols'
update events; interrupted runs resume where they stopped."""
from datetime import UTC, datetime, timedelta

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from apps.devnet import chain as evm
from apps.feeds.models import PriceObservation
from apps.protocols.adapters.chainlink import split_round_id
from apps.protocols.backfill import BackfillError, backfill
from apps.protocols.management.commands.backfill import parse_since
from apps.protocols.models import BackfillCursor
from apps.protocols.rpc import JsonRpcClient

DAY_AGO = timezone.now().replace(microsecond=0) - timedelta(days=1)


class Interrupted(Exception):
    pass


@pytest.fixture(scope="module")
def history(calm_devnet):
    """250 past rounds in phase 1, then a new aggregator (phase 2) with 50 more."""
    chain = calm_devnet.chains["ethereum"]
    spec = next(f for f in calm_devnet.feeds if f.key == "chainlink-ethereum-eth-usd")
    aggregator = spec.contract

    def transmit(contract, count, first):
        for i in range(count):
            when = int((DAY_AGO + timedelta(minutes=first + i)).timestamp())
            contract.functions.transmit(3000_00000000 + first + i, when).transact(
                {"from": chain.owner, "gas": 500_000})
            if i % 50 == 49:
                evm.rpc(chain.w3, "evm_mine")
        evm.rpc(chain.w3, "evm_mine")

    transmit(aggregator, 250, 0)
    new_aggregator = evm.deploy(chain.w3, "ChainlinkAggregator", 8, "ETH / USD")
    proxy = chain.w3.eth.contract(address=spec.address,
                                  abi=evm.load_artifact("ChainlinkProxy")["abi"])
    for step in (proxy.functions.proposeAggregator, proxy.functions.confirmAggregator):
        chain.w3.eth.wait_for_transaction_receipt(step(new_aggregator.address).transact(
            {"from": chain.owner}))
    transmit(new_aggregator, 50, 250)
    return calm_devnet


@pytest.fixture
def client(history):
    return JsonRpcClient(history.proxies["ethereum"].url)


def stored(feed):
    return PriceObservation.objects.filter(feed=feed)


def test_chainlink_backfill_walks_rounds_back_across_phases_to_since(onchain_feeds, client):
    feed = onchain_feeds["chainlink-ethereum-eth-usd"]
    since = DAY_AGO + timedelta(minutes=100)
    cursor = backfill(feed, since, client)
    rows = stored(feed)
    # Phase 2's 50 rounds and phase 1's rounds 100…249 of ours; nothing older than `since`.
    assert rows.count() == cursor.rows == 200
    assert min(rows.values_list("source_ts", flat=True)) == since
    phases = {split_round_id(r)[0] for r in rows.values_list("round_id", flat=True)}
    assert phases == {1, 2}
    assert cursor.done and cursor.oldest < since


def test_an_interrupted_backfill_resumes_without_duplicates(onchain_feeds, client):
    feed = onchain_feeds["chainlink-ethereum-eth-usd"]
    since = DAY_AGO + timedelta(minutes=100)

    def stop_after_first_batch(cursor):
        raise Interrupted

    with pytest.raises(Interrupted):
        backfill(feed, since, client, progress=stop_after_first_batch)
    cursor = BackfillCursor.objects.get(feed=feed)
    assert not cursor.done and cursor.position and cursor.rows == 50  # phase 2 only
    backfill(feed, since, client)
    assert stored(feed).count() == 200


def test_going_further_back_continues_below_the_last_run(onchain_feeds, client):
    feed = onchain_feeds["chainlink-ethereum-eth-usd"]
    backfill(feed, DAY_AGO + timedelta(minutes=100), client)
    cursor = backfill(feed, DAY_AGO, client)
    assert stored(feed).filter(source_ts__lt=DAY_AGO + timedelta(minutes=100)).count() == 100
    assert cursor.done


def test_event_backfill_reads_dia_updates(onchain_feeds, client, history):
    chain = history.chains["ethereum"]
    spec = next(f for f in history.feeds if f.protocol == "dia")
    for minute in range(5):
        when = int((DAY_AGO + timedelta(minutes=minute)).timestamp())
        spec.contract.functions.setValue("BTC/USD", 90_000_00000000 + minute, when).transact(
            {"from": chain.owner})
    evm.rpc(chain.w3, "evm_mine")
    feed = onchain_feeds["dia-ethereum-btc-usd"]
    backfill(feed, DAY_AGO + timedelta(minutes=2), client)
    values = set(stored(feed).filter(source_ts__lt=DAY_AGO + timedelta(hours=1))
                 .values_list("raw_answer", flat=True))
    assert values == {90_000_00000002, 90_000_00000003, 90_000_00000004}


def test_protocols_without_history_say_so(onchain_feeds, client):
    with pytest.raises(BackfillError, match="emits no history"):
        backfill(onchain_feeds["api3-ethereum-eth-usd"], DAY_AGO, client)


def test_command_backfills_a_feed_and_reports_progress(onchain_feeds, capsys):
    call_command("backfill", "chainlink-ethereum-eth-usd", "--since", "2d")
    out = capsys.readouterr().out
    assert "chainlink-ethereum-eth-usd" in out and "100%" in out
    with pytest.raises(CommandError, match="neither a feed key"):
        call_command("backfill", "nothing-like-this", "--since", "2d")
    with pytest.raises(CommandError, match="--since"):
        call_command("backfill", "chainlink", "--since", "last tuesday")


def test_since_accepts_a_date_or_naive_datetime_as_utc():
    assert parse_since("2026-10-01") == datetime(2026, 10, 1, tzinfo=UTC)
    assert parse_since("2026-10-01T12:30:00") == datetime(2026, 10, 1, 12, 30, tzinfo=UTC)
