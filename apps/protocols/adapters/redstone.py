"""RedStone.

Push ("classic") feeds on EVM are Chainlink-compatible: 8 decimals, the relayer's block time as
updatedAt. Pull feeds come from the gateway's signed data packages
(GET /data-packages/latest/{dataServiceId}); every value is verified — the signed serialization
rebuilt, the signer recovered and required to be authorised, enough distinct signers, fresh —
and the price is the median of the signed integers. Unsigned fields (`signerAddress`,
`isSignatureValid`, the float rendering) are never trusted.
"""
import json
from collections.abc import Sequence
from datetime import datetime, timedelta
from functools import cache
from pathlib import Path

from django.conf import settings

from apps.feeds.models import Feed

from ..verification import redstone as packages
from .base import Problem, ProblemKind, ReadResult, TransientError, observation, rejected
from .chainlink import ChainlinkAdapter
from .http import HttpAdapter

SIGNERS_FILE = Path(__file__).resolve().parent.parent / "verification" / "redstone_signers.json"


class RedStonePushAdapter(ChainlinkAdapter):
    protocol = "redstone"


@cache
def registry_signers(data_service: str) -> frozenset[str]:
    """Every signer RedStone's own registry lists for a data service (its SDK's `all`)."""
    services = json.loads(SIGNERS_FILE.read_text())["dataServices"]
    return frozenset(node["evmAddress"] for node in services.get(data_service, {}).get("all", []))


def authorised_signers(data_service: str) -> frozenset[str]:
    configured = settings.OP_REDSTONE_SIGNERS
    return frozenset(configured) if configured else registry_signers(data_service)


class RedStoneGatewayAdapter(HttpAdapter):
    protocol = "redstone"
    url_setting = "OP_REDSTONE_GATEWAY_URL"

    def read(self, feeds: Sequence[Feed], *, now: datetime) -> ReadResult:
        result = ReadResult()
        by_service: dict[str, list[Feed]] = {}
        for feed in feeds:
            service = feed.params.get("data_service_id", "redstone-primary-prod")
            by_service.setdefault(service, []).append(feed)
        for service, service_feeds in by_service.items():
            body = self.client().get(f"/data-packages/latest/{service}").content
            try:
                response = packages.parse_gateway_response(body)
            except packages.MalformedPackage as error:
                raise TransientError(f"gateway reply: {error}", reason="bad_response") from error
            every_package = [p for group in response.values() for p in group]
            signers = authorised_signers(service)
            for feed in service_feeds:
                self._verify(feed, every_package, signers, now, result)
        return result

    def _verify(self, feed: Feed, every_package: list, signers: frozenset[str], now: datetime,
                result: ReadResult) -> None:
        feed_id = feed.params.get("data_feed_id") or feed.pair.base.symbol
        verdict = packages.verify_feed(
            every_package, feed_id=feed_id, authorised=set(signers),
            threshold=settings.OP_REDSTONE_SIGNER_THRESHOLD, now=now,
            max_age=timedelta(seconds=settings.OP_REDSTONE_MAX_AGE),
        )
        for bad in verdict.rejected_packages:  # quarantined even when the value stands
            result.problems.append(rejected(feed, bad.reason, bad.raw_value or "", bad.detail))
        if isinstance(verdict, packages.Rejection):
            if not verdict.rejected_packages:
                result.problems.append(Problem(feed, ProblemKind.REJECTED, verdict.reason,
                                               verdict.detail))
            return
        result.observations.append(observation(
            feed, verdict.raw_value, verdict.timestamp, fetched_at=now,
            decimals=verdict.decimals, verified=True,
        ))
