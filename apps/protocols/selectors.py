from django.db.models import Count, Q, QuerySet

from .models import Protocol


def protocols_with_feed_counts() -> QuerySet[Protocol]:
    return Protocol.objects.annotate(
        feed_count=Count("feeds", filter=Q(feeds__enabled=True))
    ).order_by("name")
