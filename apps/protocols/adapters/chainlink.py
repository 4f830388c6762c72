"""Chainlink Data Feeds: AggregatorV3Interface on the proxy.

Proxy round ids are phase-encoded: (phaseId << 64) | aggregatorRoundId.
"""
from datetime import datetime

from apps.feeds.models import Feed, PriceObservation

from ..abi import Function
from .base import Problem, observation, rejected, unix_time
from .evm import Block, CallResult, EvmAdapter, EvmCall, decode_or_problem

ROUND_DATA = ("uint80", "int256", "uint256", "uint256", "uint80")
LATEST_ROUND_DATA = Function("latestRoundData()", ROUND_DATA)
GET_ROUND_DATA = Function("getRoundData(uint80)", ROUND_DATA)
PHASE_OFFSET = 64


def split_round_id(round_id: int) -> tuple[int, int]:
    """(phaseId, aggregatorRoundId) of a proxy round id."""
    return round_id >> PHASE_OFFSET, round_id & ((1 << PHASE_OFFSET) - 1)


def round_id(phase: int, aggregator_round: int) -> int:
    return (phase << PHASE_OFFSET) | aggregator_round


def round_observation(feed: Feed, data: tuple, *, fetched_at: datetime,
                      block_number: int | None) -> PriceObservation | Problem:
    """One decoded (roundId, answer, startedAt, updatedAt, answeredInRound)."""
    round_number, answer, _started_at, updated_at, _answered_in_round = data
    if updated_at == 0:  # the round never completed
        return rejected(feed, "incomplete_round", answer, f"round {round_number} has updatedAt 0")
    return observation(feed, answer, unix_time(updated_at), fetched_at=fetched_at,
                       round_id=round_number, block_number=block_number)


class ChainlinkAdapter(EvmAdapter):
    protocol = "chainlink"

    def calls(self, feed: Feed) -> list[EvmCall]:
        return [EvmCall(feed.address, LATEST_ROUND_DATA.encode())]

    def decode(self, feed: Feed, results: list[CallResult], block: Block,
               fetched_at: datetime) -> PriceObservation | Problem:
        data = decode_or_problem(feed, LATEST_ROUND_DATA, results[0])
        if isinstance(data, Problem):
            return data
        return round_observation(feed, data, fetched_at=fetched_at, block_number=block.number)
