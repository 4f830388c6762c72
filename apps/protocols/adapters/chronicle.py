"""Chronicle Scribe oracles: tryReadWithAge() -> (bool isValid, uint value, uint age), 18
decimals, where age is the unix time of the last poke.

Reads are whitelisted ("tolled") on mainnet, and a contract sees Multicall3 as the caller of
a batched read, so Chronicle is read with a plain eth_call from OP_CHRONICLE_READER (which
the oracle must have kissed); those calls still travel in the tick's one JSON-RPC batch.
"""
from datetime import datetime

from django.conf import settings

from apps.feeds.models import Feed, PriceObservation

from ..abi import Function
from .base import Problem, ProblemKind, observation, rejected, unix_time
from .evm import Block, CallResult, EvmAdapter, EvmCall, decode_or_problem

TRY_READ_WITH_AGE = Function("tryReadWithAge()", ("bool", "uint256", "uint256"))
NOT_TOLLED = Function("NotTolled(address)", ()).selector  # the whitelist's revert


class ChronicleAdapter(EvmAdapter):
    protocol = "chronicle"

    def calls(self, feed: Feed) -> list[EvmCall]:
        return [EvmCall(feed.address, TRY_READ_WITH_AGE.encode(),
                        sender=settings.OP_CHRONICLE_READER)]

    def decode(self, feed: Feed, results: list[CallResult], block: Block,
               fetched_at: datetime) -> PriceObservation | Problem:
        result = results[0]
        if not result.success and result.data.startswith(NOT_TOLLED):
            return Problem(feed, ProblemKind.PERMANENT, "not_whitelisted",
                           f"the oracle does not let {settings.OP_CHRONICLE_READER} read "
                           "(set OP_CHRONICLE_READER to a kissed address)",
                           "0x" + result.data.hex())
        data = decode_or_problem(feed, TRY_READ_WITH_AGE, result)
        if isinstance(data, Problem):
            return data
        valid, value, age = data
        if not valid:
            return rejected(feed, "invalid", value, "tryReadWithAge() says the value is invalid")
        return observation(feed, value, unix_time(age), fetched_at=fetched_at,
                           block_number=block.number)
