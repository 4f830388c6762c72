"""Recompute feeds' OHLC rollups from raw observations (backfills, or after a bug)."""
from datetime import UTC, datetime

from django.core.management.base import BaseCommand, CommandError

from apps.feeds import rollups
from apps.feeds.models import Feed


class Command(BaseCommand):
    help = ("Recompute 1m/1h/1d rollups from raw observations; idempotent. Never reaches "
            "before the raw retention cutoff, so rollups whose raw rows are gone are kept.")

    def add_arguments(self, parser):
        parser.add_argument("--feed", action="append", metavar="KEY",
                            help="a feed key (repeatable); default: every feed")
        parser.add_argument("--since", metavar="ISO",
                            help="start (floored to its UTC day), e.g. 2026-11-01 or "
                                 "2026-11-01T00:00:00Z; default: each feed's oldest raw row")

    def handle(self, *args, feed=None, since=None, **options):
        start = None
        if since:
            try:
                start = datetime.fromisoformat(since.replace("Z", "+00:00"))
            except ValueError as error:
                raise CommandError(f"--since: {error}") from error
            if start.utcoffset() is None:
                start = start.replace(tzinfo=UTC)
        feeds = None
        if feed:
            feeds = list(Feed.objects.filter(key__in=feed))
            missing = sorted(set(feed) - {f.key for f in feeds})
            if missing:
                raise CommandError(f"unknown feed key(s): {', '.join(missing)}")
        report = rollups.rebuild_feed_rollups(feeds, start)
        self.stdout.write(
            f"rebuilt {report['feeds']} feed(s): {report['observations']} observations -> "
            f"{report['bars']} bars"
            + (f" (not before {report['from']}, the retention cutoff)" if report["from"] else "")
        )
