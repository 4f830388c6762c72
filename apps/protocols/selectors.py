from django.db.models import Count, Q, QuerySet

from apps.feeds.models import Feed

from .models import Protocol


def protocols_with_feed_counts() -> QuerySet[Protocol]:
    return Protocol.objects.annotate(
        feed_count=Count("feeds", filter=Q(feeds__enabled=True))
    ).order_by("name")


def feed_configuration(feed: Feed) -> str:
    """"ok", or what is missing before the platform can read the feed, naming the setting."""
    from .sync import rpc_setting, rpc_url

    if feed.source_kind == Feed.SourceKind.EVM:
        if feed.chain is None or not rpc_url(feed.chain):
            setting = rpc_setting(feed.chain) if feed.chain else "a chain"
            return f"not configured: set {setting}"
        if not feed.address:
            return "not configured: no contract address in the catalog"
    elif not feed.feed_id and not feed.params:
        return "not configured: no feed id in the catalog"
    return "ok"
