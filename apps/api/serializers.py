"""Public API shapes for feeds, pairs, assets and chains. Prices are strings; times ISO-8601 UTC."""
from rest_framework import serializers

from apps.feeds.models import Asset, Chain, Feed, Pair, QuarantinedRead
from apps.feeds.status import FeedStatus


class AssetSerializer(serializers.ModelSerializer):
    class Meta:
        model = Asset
        fields = ["symbol", "name", "kind"]


class ChainSerializer(serializers.ModelSerializer):
    class Meta:
        model = Chain
        fields = ["slug", "name", "chain_id", "family"]


class PairSerializer(serializers.ModelSerializer):
    base = serializers.CharField(source="base.symbol")
    quote = serializers.CharField(source="quote.symbol")

    class Meta:
        model = Pair
        fields = ["slug", "base", "quote"]


class FeedSerializer(serializers.ModelSerializer):
    protocol = serializers.CharField(source="protocol.slug")
    pair = serializers.CharField(source="pair.slug")
    chain = serializers.CharField(source="chain.slug", allow_null=True, default=None)

    class Meta:
        model = Feed
        fields = ["key", "protocol", "pair", "chain", "source_kind", "address", "feed_id",
                  "decimals", "heartbeat_seconds", "deviation_threshold_bps", "enabled"]


class FeedStateSerializer(serializers.Serializer):
    """One feed's row in a pair's latest state."""

    feed = serializers.CharField(help_text="The feed's key")
    protocol = serializers.CharField()
    price = serializers.CharField(allow_null=True, help_text="Exact decimal, as a string")
    source_ts = serializers.DateTimeField(allow_null=True, help_text="When the source stamped it")
    status = serializers.ChoiceField(choices=FeedStatus.choices)
    reason = serializers.CharField(allow_blank=True)
    age_seconds = serializers.FloatField(allow_null=True)
    heartbeat_seconds = serializers.IntegerField()
    deviation_bps = serializers.CharField(allow_null=True, help_text="From consensus, as a string")
    outlier = serializers.BooleanField()
    verified = serializers.BooleanField(
        allow_null=True, help_text="Signature checked (true), failed (false), nothing to check")
    verified_share = serializers.CharField(
        allow_null=True, help_text="Share of the last hour's observations that were verified")
    converted_from = serializers.CharField(
        allow_null=True, help_text="Quoted in this stablecoin, converted to USD")


class ConsensusSerializer(serializers.Serializer):
    price = serializers.CharField(allow_null=True)
    reason = serializers.CharField(allow_blank=True, help_text="Why there is no price, if none")
    votes = serializers.IntegerField(help_text="Protocols that voted")
    spread_bps = serializers.CharField(allow_null=True)


class PairLatestSerializer(serializers.Serializer):
    pair = serializers.CharField()
    computed_at = serializers.DateTimeField()
    status = serializers.ChoiceField(choices=FeedStatus.choices, help_text="Worst feed status")
    consensus = ConsensusSerializer()
    feeds = FeedStateSerializer(many=True)


class FeedLatestSerializer(serializers.Serializer):
    feed = serializers.CharField()
    pair = serializers.CharField()
    computed_at = serializers.DateTimeField()
    consensus = serializers.CharField(allow_null=True)
    state = FeedStateSerializer()
    observation = serializers.DictField(
        allow_null=True, help_text="The stored observation: raw answer, decimals, round id, "
        "confidence, block number, fetched_at")


class BarSerializer(serializers.Serializer):
    start = serializers.DateTimeField()
    seconds = serializers.IntegerField(help_text="Bar width; 0 for one raw observation")
    open = serializers.CharField()
    high = serializers.CharField()
    low = serializers.CharField()
    close = serializers.CharField()
    count = serializers.IntegerField()


class HistorySerializer(serializers.Serializer):
    subject = serializers.CharField(help_text="Pair slug (consensus) or feed key")
    # `from` and `to`, as the query parameters are named (not Python identifiers).
    vars()["from"] = serializers.DateTimeField()
    vars()["to"] = serializers.DateTimeField()
    interval = serializers.CharField(allow_null=True)
    bars = BarSerializer(many=True)


class HealthSerializer(serializers.Serializer):
    feed = serializers.CharField()
    protocol = serializers.CharField()
    status = serializers.ChoiceField(choices=FeedStatus.choices)
    score = serializers.IntegerField(allow_null=True, help_text="0–100; null while unknown")
    uptime = serializers.FloatField()
    error_rate = serializers.FloatField()
    deviation_bps = serializers.CharField(allow_null=True)
    verified_share = serializers.CharField(
        allow_null=True, help_text="Share of the last hour's observations that were verified")
    explanation = serializers.CharField()


class QuarantinedReadSerializer(serializers.ModelSerializer):
    class Meta:
        model = QuarantinedRead
        fields = ["id", "raw_value", "reason", "detail", "source_ts", "created_at"]
