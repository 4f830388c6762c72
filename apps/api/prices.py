"""The public REST API for prices: assets, chains, pairs, feeds, latest state, history (OHLC from
the rollups), deviation, health and quarantined reads. Reads only, through the selectors and the
latest-state cache; authentication and rate limits happen before (apps.api_keys.middleware)."""
from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from decimal import Decimal

from django.core.cache import cache
from django.db.models import QuerySet
from django.http import HttpResponse
from django.shortcuts import get_object_or_404
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter
from rest_framework import exceptions, generics
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.api_keys.authentication import principal_of
from apps.billing.plans import get_plan
from apps.common.api import NewestFirst, conditional_response, documented
from apps.feeds.health import feed_health
from apps.feeds.models import Asset, Chain, Feed, Pair, QuarantinedRead
from apps.feeds.pair_state import feed_row, latest_body, latest_body_key, pair_states, public_state
from apps.feeds.selectors import history, latest_observations, verified_shares
from apps.feeds.status import FeedStatus

from . import serializers as s

INTERVALS = {"1m": 60, "5m": 300, "15m": 900, "30m": 1800, "1h": 3600, "4h": 14400,
             "1d": 86400, "1w": 604800}
MAX_POINTS = 1000
EXAMPLE_FEED = {
    "feed": "chainlink-ethereum-eth-usd", "protocol": "chainlink", "price": "3012.45000000",
    "source_ts": "2026-11-26T18:00:00Z", "status": "fresh", "reason": "", "age_seconds": 12.4,
    "heartbeat_seconds": 3600, "deviation_bps": "-1.20", "outlier": False, "verified": None,
    "verified_share": None, "converted_from": None,
}
EXAMPLE_LATEST = {
    "pair": "ETH-USD", "computed_at": "2026-11-26T18:00:12Z", "status": "fresh",
    "consensus": {"price": "3012.81", "reason": "", "votes": 7, "spread_bps": "4.1"},
    "feeds": [EXAMPLE_FEED],
}
EXAMPLE_BAR = {"start": "2026-11-26T17:00:00Z", "seconds": 3600, "open": "3001.2",
               "high": "3020.0", "low": "2998.7", "close": "3012.4", "count": 3600}
EXAMPLE_HEALTH = {"feed": "chainlink-ethereum-eth-usd", "protocol": "chainlink",
                  "status": "fresh", "score": 97, "uptime": 1.0, "error_rate": 0.0,
                  "deviation_bps": "-1.20", "explanation": "uptime 100% (×0.4), …"}
HISTORY_PARAMETERS = [
    OpenApiParameter("from", OpenApiTypes.DATETIME, description="Start (ISO-8601 with zone); "
                     "default: `to` minus 24 hours"),
    OpenApiParameter("to", OpenApiTypes.DATETIME, description="End, exclusive; default: now"),
    OpenApiParameter("interval", str, enum=list(INTERVALS), description="Bar width; default: "
                     "chosen to give at most 500 bars (raw observations for short feed spans)"),
]


def _span(request: Request, principal_tier: str) -> tuple[datetime, datetime, int | None]:
    """`from`, `to` and the interval in seconds, validated against the plan's history limit."""
    errors = {}
    now = timezone.now()
    bounds = {}
    for name in ("from", "to"):
        raw = request.query_params.get(name)
        if raw is None:
            continue
        try:
            value = parse_datetime(raw)
        except ValueError:  # well formed but impossible, e.g. February 30th
            value = None
        if value is None or value.utcoffset() is None or not 1970 <= value.year <= 9000:
            errors[name] = "An ISO-8601 time with a zone, e.g. 2026-11-26T18:00:00Z."
        else:
            bounds[name] = value
    interval = request.query_params.get("interval")
    if interval is not None and interval not in INTERVALS:
        errors["interval"] = f"One of: {', '.join(INTERVALS)}."
    if errors:
        raise exceptions.ValidationError(errors)
    end = bounds.get("to", now)
    start = bounds.get("from", end - timedelta(days=1))
    if start >= end:
        raise exceptions.ValidationError({"from": "Must be before `to`."})
    limit_days = get_plan(principal_tier).limits.history_days
    if end - start > timedelta(days=limit_days):
        raise exceptions.ValidationError({"from": f"Your plan allows spans of at most "
                                                  f"{limit_days} days per request."})
    step = INTERVALS[interval] if interval else None
    if step and (end - start).total_seconds() / step > MAX_POINTS:
        raise exceptions.ValidationError({"interval": f"At most {MAX_POINTS} bars per request; "
                                                      "widen the interval or narrow the span."})
    return start, end, step


def _history_documented(description: str, subject: str) -> Callable:
    return documented(description, {"subject": subject, "from": "2026-11-25T18:00:00Z",
                                    "to": "2026-11-26T18:00:00Z", "interval": "1h",
                                    "bars": [EXAMPLE_BAR]},
                      response=s.HistorySerializer, parameters=HISTORY_PARAMETERS)


def _history_response(subject: Feed | Pair, name: str, request: Request) -> Response:
    start, end, step = _span(request, principal_of(request).tier)
    if step:
        bars = history(subject, start, end, step=step, raw=False)
    else:
        bars = history(subject, start, end)
    return Response(s.HistorySerializer({
        "subject": name, "from": start, "to": end,
        "interval": request.query_params.get("interval"), "bars": [
            {"start": bar.start, "seconds": bar.seconds, "open": str(bar.open),
             "high": str(bar.high), "low": str(bar.low), "close": str(bar.close),
             "count": bar.count} for bar in bars]}).data)


def _health_rows(feeds: list[Feed], rows: dict[int, dict]) -> list[dict]:
    now = timezone.now()
    health = feed_health(feeds, rows, now)
    shares = verified_shares([f.pk for f in feeds], now - timedelta(hours=1))
    result = []
    for feed in feeds:
        row, verdict = rows[feed.pk], health.get(feed.pk)
        result.append({
            "feed": feed.key, "protocol": row["protocol"], "status": row["status"],
            "score": verdict.score if verdict else None,
            "uptime": verdict.uptime if verdict else 0.0,
            "error_rate": verdict.error_rate if verdict else 0.0,
            "deviation_bps": row.get("deviation_bps"),
            "verified_share": str(shares[feed.pk]) if feed.pk in shares else None,
            "explanation": verdict.explanation if verdict else "",
        })
    return result


# --- reference data ---------------------------------------------------------------------------

class AssetList(generics.ListAPIView):
    serializer_class = s.AssetSerializer
    queryset = Asset.objects.all()

    @documented("Every asset the platform prices or quotes in.",
                {"symbol": "ETH", "name": "Ether", "kind": "crypto"},
                response=s.AssetSerializer(many=True))
    def get(self, request: Request) -> Response:
        return super().get(request)


class ChainList(generics.ListAPIView):
    serializer_class = s.ChainSerializer
    queryset = Chain.objects.all()

    @documented("Chains whose oracle contracts are read (off-chain sources have no chain).",
                {"slug": "ethereum", "name": "Ethereum", "chain_id": 1, "family": "evm"},
                response=s.ChainSerializer(many=True))
    def get(self, request: Request) -> Response:
        return super().get(request)


class PairList(generics.ListAPIView):
    serializer_class = s.PairSerializer

    def get_queryset(self) -> QuerySet[Pair]:
        pairs = Pair.objects.select_related("base", "quote")
        for name in ("base", "quote"):
            if value := self.request.query_params.get(name):
                pairs = pairs.filter(**{f"{name}__symbol__iexact": value})
        return pairs

    @documented("Pairs with at least one feed; filter by `base` or `quote` symbol.",
                {"slug": "ETH-USD", "base": "ETH", "quote": "USD"},
                response=s.PairSerializer(many=True), parameters=[
                    OpenApiParameter("base", str, description="Base asset symbol, e.g. ETH"),
                    OpenApiParameter("quote", str, description="Quote asset symbol, e.g. USD")])
    def get(self, request: Request) -> Response:
        return super().get(request)


class PairDetail(generics.RetrieveAPIView):
    serializer_class = s.PairSerializer
    queryset = Pair.objects.select_related("base", "quote")
    lookup_field = "slug"

    @documented("One pair.", {"slug": "ETH-USD", "base": "ETH", "quote": "USD"},
                response=s.PairSerializer)
    def get(self, request: Request, slug: str) -> Response:
        return super().get(request, slug=slug)


# --- pairs: latest, history, deviation, health ------------------------------------------------

class PairLatest(APIView):
    @documented(
        "Every protocol's latest price for the pair with its status, and the consensus — in one "
        "response, from the latest-state cache. `ETag` / `Last-Modified` allow conditional "
        "requests (`If-None-Match` → 304).", EXAMPLE_LATEST, response=s.PairLatestSerializer)
    def get(self, request: Request, slug: str) -> HttpResponse:
        # With Redis the API middleware answers this from the body refresh_pairs serialized,
        # fetched in its throttle round trip; here: the cache, else computed now.
        body = cache.get(latest_body_key(slug))
        if body is None:
            pair = get_object_or_404(Pair, slug=slug)
            body = latest_body(public_state(pair_states([pair])[pair.pk]))
        return conditional_response(request, body)


class PairHistory(APIView):
    @_history_documented("Consensus OHLC bars of the pair over [`from`, `to`).", "ETH-USD")
    def get(self, request: Request, slug: str) -> Response:
        pair = get_object_or_404(Pair, slug=slug)
        return _history_response(pair, pair.slug, request)


class PairDeviation(APIView):
    @documented(
        "Each feed's deviation from the consensus in basis points, which feeds are outliers, "
        "and the spread across fresh prices.",
        {"pair": "ETH-USD", "computed_at": "2026-11-26T18:00:12Z", "consensus": "3012.81",
         "spread_bps": "4.1", "max_abs_deviation_bps": "3.90", "feeds": [
             {"feed": "chainlink-ethereum-eth-usd", "protocol": "chainlink",
              "price": "3012.45", "status": "fresh", "deviation_bps": "-1.20",
              "outlier": False}]}, response=OpenApiTypes.OBJECT)
    def get(self, request: Request, slug: str) -> Response:
        pair = get_object_or_404(Pair, slug=slug)
        state = pair_states([pair])[pair.pk]
        deviations = [abs(Decimal(r["deviation_bps"])) for r in state["feeds"]
                      if r.get("deviation_bps") is not None]
        return Response({
            "pair": pair.slug, "computed_at": state["computed_at"],
            "consensus": state["consensus"], "spread_bps": state["spread_bps"],
            "max_abs_deviation_bps": str(max(deviations)) if deviations else None,
            "feeds": [{"feed": r["key"], "protocol": r["protocol"], "price": r["price"],
                       "status": r["status"], "deviation_bps": r.get("deviation_bps"),
                       "outlier": r.get("outlier", False)} for r in state["feeds"]],
        })


class PairHealth(APIView):
    @documented("Health score (0–100) of each of the pair's feeds over the last hour: uptime, "
                "error rate, deviation and status, with the share of verified observations.",
                {"pair": "ETH-USD", "feeds": [EXAMPLE_HEALTH]}, response=OpenApiTypes.OBJECT)
    def get(self, request: Request, slug: str) -> Response:
        pair = get_object_or_404(Pair, slug=slug)
        state = pair_states([pair])[pair.pk]
        rows = {row["feed"]: row for row in state["feeds"]}
        feeds = list(Feed.objects.filter(pk__in=rows).order_by("protocol__slug", "key"))
        return Response({"pair": pair.slug, "feeds": _health_rows(feeds, rows)})


# --- feeds ------------------------------------------------------------------------------------

def _feed_state(feed: Feed) -> tuple[dict, dict]:
    """The pair's latest state and this feed's row in it."""
    state = pair_states([feed.pair])[feed.pair_id]
    row = next((r for r in state["feeds"] if r["feed"] == feed.pk), None)
    if row is None:  # a disabled feed is not in the state
        raise exceptions.NotFound("This feed is disabled.")
    return state, row


class FeedList(generics.ListAPIView):
    serializer_class = s.FeedSerializer

    def get_queryset(self) -> QuerySet[Feed]:
        feeds = Feed.objects.select_related("protocol", "pair", "chain")
        params = self.request.query_params
        if protocol := params.get("protocol"):
            feeds = feeds.filter(protocol__slug=protocol)
        if pair := params.get("pair"):
            feeds = feeds.filter(pair__slug=pair)
        if chain := params.get("chain"):
            feeds = feeds.filter(chain__isnull=True) if chain == "offchain" \
                else feeds.filter(chain__slug=chain)
        if status := params.get("status"):
            if status not in FeedStatus.values:
                raise exceptions.ValidationError(
                    {"status": f"One of: {', '.join(FeedStatus.values)}."})
            pairs = list(Pair.objects.filter(pk__in=feeds.filter(enabled=True)
                                             .values("pair_id")))
            matching = [row["feed"] for state in pair_states(pairs).values()
                        for row in state["feeds"] if row["status"] == status]
            feeds = feeds.filter(pk__in=matching)
        return feeds

    @documented(
        "Feeds: one protocol's price for one pair on one chain (or off-chain). Filters: "
        "`protocol`, `pair`, `chain` (`offchain` for off-chain sources), `status`.",
        {"key": "chainlink-ethereum-eth-usd", "protocol": "chainlink", "pair": "ETH-USD",
         "chain": "ethereum", "source_kind": "evm",
         "address": "0x5f4eC3Df9cbd43714FE2740f5E3616155c5b8419", "feed_id": "",
         "decimals": 8, "heartbeat_seconds": 3600, "deviation_threshold_bps": "50.00",
         "enabled": True}, response=s.FeedSerializer(many=True),
        parameters=[
            OpenApiParameter("protocol", str, description="Protocol slug, e.g. pyth"),
            OpenApiParameter("pair", str, description="Pair slug, e.g. ETH-USD"),
            OpenApiParameter("chain", str, description="Chain slug, or `offchain`"),
            OpenApiParameter("status", str, enum=FeedStatus.values,
                             description="Current status")])
    def get(self, request: Request) -> Response:
        return super().get(request)


class FeedDetail(generics.RetrieveAPIView):
    serializer_class = s.FeedSerializer
    queryset = Feed.objects.select_related("protocol", "pair", "chain")
    lookup_field = "key"

    @documented("One feed's configuration.", {"key": "pyth-eth-usd", "protocol": "pyth",
                "pair": "ETH-USD", "chain": None, "source_kind": "stream", "address": "",
                "feed_id": "0xff61491a931112ddf1bd8147cd1b641375f79f5825126d665480874634fd0ace",
                "decimals": 8, "heartbeat_seconds": 1, "deviation_threshold_bps": "0.00",
                "enabled": True}, response=s.FeedSerializer)
    def get(self, request: Request, key: str) -> Response:
        return super().get(request, key=key)


class FeedLatest(APIView):
    @documented("The feed's latest state (price, status, deviation, verified) and the stored "
                "observation behind it.",
                {"feed": "pyth-eth-usd", "pair": "ETH-USD", "computed_at": "2026-11-26T18:00:12Z",
                 "consensus": "3012.81", "state": {**EXAMPLE_FEED, "verified": True,
                                                   "verified_share": "1"},
                 "observation": {"raw_answer": "301245000000", "decimals": 8,
                                 "round_id": None, "confidence": "150000000",
                                 "block_number": None,
                                 "fetched_at": "2026-11-26T18:00:00.412Z"}},
                response=s.FeedLatestSerializer)
    def get(self, request: Request, key: str) -> HttpResponse:
        feed = get_object_or_404(Feed.objects.select_related("pair"), key=key)
        state, row = _feed_state(feed)
        obs = latest_observations([feed.pk]).get(feed.pk)
        shares = verified_shares([feed.pk], timezone.now() - timedelta(hours=1))
        body = {
            "feed": feed.key, "pair": feed.pair.slug, "computed_at": state["computed_at"],
            "consensus": state["consensus"], "state": feed_row(row, shares),
            "observation": None if obs is None else {
                "raw_answer": str(obs.raw_answer), "decimals": obs.decimals,
                "round_id": None if obs.round_id is None else str(obs.round_id),
                "confidence": None if obs.confidence is None else str(obs.confidence),
                "block_number": obs.block_number, "fetched_at": obs.fetched_at.isoformat()},
        }
        return conditional_response(request, latest_body(body))


class FeedHistory(APIView):
    @_history_documented("OHLC bars of one feed over [`from`, `to`); unverified prices are "
                         "excluded.", "chainlink-ethereum-eth-usd")
    def get(self, request: Request, key: str) -> Response:
        feed = get_object_or_404(Feed, key=key)
        return _history_response(feed, feed.key, request)


class FeedHealth(APIView):
    @documented("The feed's health score over the last hour and what it is made of.",
                {**EXAMPLE_HEALTH, "verified_share": None}, response=s.HealthSerializer)
    def get(self, request: Request, key: str) -> Response:
        feed = get_object_or_404(Feed.objects.select_related("pair"), key=key)
        _, row = _feed_state(feed)
        return Response(_health_rows([feed], {feed.pk: row})[0])


class FeedQuarantine(generics.ListAPIView):
    serializer_class = s.QuarantinedReadSerializer
    pagination_class = NewestFirst

    def get_queryset(self) -> QuerySet[QuarantinedRead]:
        feed = get_object_or_404(Feed, key=self.kwargs["key"])
        return QuarantinedRead.objects.filter(feed=feed)

    @documented("Reads of this feed that failed validation or verification — never stored as "
                "prices. Newest first.",
                {"id": 812, "raw_value": "0", "reason": "non_positive",
                 "detail": "answer must be positive", "source_ts": "2026-11-26T17:59:00Z",
                 "created_at": "2026-11-26T17:59:01Z"},
                response=s.QuarantinedReadSerializer(many=True))
    def get(self, request: Request, key: str) -> Response:
        return super().get(request, key=key)
