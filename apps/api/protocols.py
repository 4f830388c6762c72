"""The public REST API for protocols: the list and each protocol's health."""
from __future__ import annotations

from django.db.models import QuerySet
from django.shortcuts import get_object_or_404
from django.utils import timezone
from rest_framework import generics, serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.common.api import documented
from apps.feeds.health import feed_health, protocol_health
from apps.feeds.pair_state import pair_states
from apps.protocols.models import Protocol
from apps.protocols.selectors import ingestion_health, protocols_with_feed_counts, source_latencies


class ProtocolSerializer(serializers.ModelSerializer):
    feeds = serializers.IntegerField(source="feed_count", read_only=True)

    class Meta:
        model = Protocol
        fields = ["slug", "name", "website", "description", "feeds"]


class ProtocolHealthSerializer(serializers.Serializer):
    protocol = serializers.CharField()
    score = serializers.IntegerField(allow_null=True, help_text="0–100 over its feeds")
    statuses = serializers.DictField(child=serializers.IntegerField(),
                                     help_text="Feeds per status")
    latency_seconds = serializers.DictField(
        allow_null=True, help_text="Source time → our fetch: p50, p90, p99 over the last hour")
    sources = serializers.ListField(child=serializers.DictField(),
                                    help_text="Our reading of it, per chain: runs, errors, "
                                              "breaker, delay")


EXAMPLE = {"slug": "chainlink", "name": "Chainlink", "website": "https://chain.link",
           "description": "Decentralized oracle network", "feeds": 120}


class ProtocolList(generics.ListAPIView):
    serializer_class = ProtocolSerializer

    def get_queryset(self) -> QuerySet[Protocol]:
        return protocols_with_feed_counts()

    @documented("Every oracle protocol the platform reads, with its feed count.", EXAMPLE,
                response=ProtocolSerializer(many=True))
    def get(self, request: Request) -> Response:
        return super().get(request)


class ProtocolDetail(generics.RetrieveAPIView):
    serializer_class = ProtocolSerializer
    lookup_field = "slug"

    def get_queryset(self) -> QuerySet[Protocol]:
        return protocols_with_feed_counts()

    @documented("One protocol.", EXAMPLE, response=ProtocolSerializer)
    def get(self, request: Request, slug: str) -> Response:
        return super().get(request, slug=slug)


class ProtocolHealth(APIView):
    @documented(
        "The protocol's health: score over its feeds, feeds per status, how late its values "
        "reach us, and our own reading of it per chain (so a delay on our side is not "
        "mistaken for the oracle's).",
        {"protocol": "chainlink", "score": 96, "statuses": {"fresh": 118, "late": 2},
         "latency_seconds": {"p50": 1.2, "p90": 2.5, "p99": 4.0, "count": 5000},
         "sources": [{"chain": "ethereum", "runs": 3600, "avg_ms": 24.1, "error_rate": 0.0,
                      "breaker": "closed", "delayed": ""}]},
        response=ProtocolHealthSerializer)
    def get(self, request: Request, slug: str) -> Response:
        protocol = get_object_or_404(Protocol, slug=slug)
        feeds = list(protocol.feeds.filter(enabled=True).select_related("pair"))
        states = pair_states(list({f.pair for f in feeds}))
        rows = {r["feed"]: r for state in states.values() for r in state["feeds"]}
        now = timezone.now()
        health = feed_health(feeds, rows, now)
        statuses: dict[str, int] = {}
        for feed in feeds:
            status = rows[feed.pk]["status"] if feed.pk in rows else "unknown"
            statuses[status] = statuses.get(status, 0) + 1
        sources = [{"chain": row["chain__slug"], "runs": row["runs"],
                    "avg_ms": row["avg_ms"], "error_rate": row["error_rate"],
                    "breaker": row["breaker"], "delayed": row["delayed"]}
                   for row in ingestion_health(now) if row["protocol_id"] == protocol.pk]
        return Response({"protocol": protocol.slug, "score": protocol_health(health),
                         "statuses": statuses, "latency_seconds": source_latencies(protocol, now),
                         "sources": sources})
