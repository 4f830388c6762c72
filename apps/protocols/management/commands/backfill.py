"""`manage.py backfill <feed-key|protocol> --since 30d`: read a feed's history from its chain.

Resumable: progress is saved after every batch; run the same command again to continue.
"""
import re
import sys
from datetime import UTC, datetime, timedelta
from functools import partial

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime

from apps.feeds.models import Feed
from apps.protocols.backfill import BackfillError, backfill
from apps.protocols.models import BackfillCursor
from apps.protocols.rpc import rpc_client, rpc_setting, rpc_url

BAR = 30


def parse_since(text: str) -> datetime:
    """An ISO date or datetime (UTC), or a span back from now: 90m, 36h, 30d, 8w."""
    relative = re.fullmatch(r"(\d+)([mhdw])", text.strip())
    if relative:
        unit = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}[relative.group(2)]
        return timezone.now() - timedelta(**{unit: int(relative.group(1))})
    moment = parse_datetime(text)
    if moment is None and (day := parse_date(text)):
        moment = datetime(day.year, day.month, day.day)
    if moment is None:
        raise CommandError(f"--since {text!r}: use a date (2026-10-01), a datetime, or 30d/36h")
    return moment if timezone.is_aware(moment) else moment.replace(tzinfo=UTC)


class Command(BaseCommand):
    help = "Backfill history from the chain for a feed, or every feed of a protocol."

    def add_arguments(self, parser) -> None:
        parser.add_argument("target", help="a feed key or a protocol slug")
        parser.add_argument("--since", required=True, help="2026-10-01, or 30d, 36h, …")

    def handle(self, *args, target: str, since: str, **options) -> None:
        start = parse_since(since)
        feeds = list(Feed.objects.filter(key=target).select_related("protocol", "pair__base",
                                                                     "pair__quote", "chain"))
        if not feeds:
            feeds = list(Feed.objects.filter(protocol__slug=target, enabled=True,
                                             source_kind=Feed.SourceKind.EVM)
                         .select_related("protocol", "pair__base", "pair__quote", "chain"))
        if not feeds:
            raise CommandError(f"{target!r} is neither a feed key nor a protocol with EVM feeds")
        failures = 0
        for feed in feeds:
            chain = feed.chain
            if chain is None:
                self.stderr.write(f"{feed.key}: an off-chain feed has no chain history to read")
                failures += 1
                continue
            if not rpc_url(chain):
                self.stderr.write(f"{feed.key}: not configured (set {rpc_setting(chain)})")
                failures += 1
                continue
            try:
                cursor = backfill(feed, start, rpc_client(chain),
                                  progress=partial(self._progress, feed, since=start))
            except BackfillError as error:
                self.stderr.write(str(error))
                failures += 1
                continue
            self._progress(feed, cursor, start)
            sys.stdout.write("\n")
        if failures == len(feeds):
            raise CommandError("nothing was backfilled")

    def _progress(self, feed: Feed, cursor: BackfillCursor, since: datetime) -> None:
        now = timezone.now()
        covered = (now - cursor.oldest) / (now - since) if cursor.oldest else 0.0
        share = 1.0 if cursor.done else min(max(covered, 0.0), 1.0)
        filled = int(share * BAR)
        reached = f"back to {cursor.oldest:%Y-%m-%d %H:%M}" if cursor.oldest else "starting"
        self.stdout.write(
            f"\r{feed.key:<40} [{'#' * filled}{'.' * (BAR - filled)}] {share:4.0%} "
            f"{cursor.rows} rows, {reached}", ending="",
        )
        self.stdout.flush()
