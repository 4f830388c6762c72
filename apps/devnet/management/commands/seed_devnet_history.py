"""`manage.py seed_devnet_history`: write the devnet's simulated history (run by `devnet` in a
process of its own, so that seeding millions of rows never slows the market loop)."""
import json
from decimal import Decimal

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from apps.devnet.history import seed_history
from apps.feeds.models import Feed

# The pairs people open first get their history first.
FIRST = ["ETH", "BTC", "LINK", "USDC", "USDT", "DAI", "SOL", "UNI", "AAVE", "MKR", "SNX",
         "COMP", "YFI", "MATIC", "POL", "AVAX", "BNB", "NEAR", "ATOM"]


class Command(BaseCommand):
    help = "Seed simulated 1-minute history for every enabled feed that has none yet."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--anchors", default="{}",
                            help='JSON {"ETH": "3400.1", …}: the prices the history ends at')
        parser.add_argument("--days", type=int, default=None,
                            help="defaults to OP_DEVNET_HISTORY_DAYS")

    def handle(self, *args, anchors: str, days: int | None, **options) -> None:
        try:
            prices = {symbol: Decimal(value) for symbol, value in json.loads(anchors).items()}
        except (ValueError, ArithmeticError) as error:
            raise CommandError(f"--anchors is not a JSON object of prices: {error}") from error
        feeds = sorted(
            Feed.objects.filter(enabled=True).select_related("protocol", "pair__base",
                                                             "pair__quote"),
            key=lambda f: (FIRST.index(f.pair.base.symbol) if f.pair.base.symbol in FIRST
                           else len(FIRST), f.key),
        )
        rows = seed_history(feeds, end=timezone.now(), anchors=prices,
                            days=days or settings.OP_DEVNET_HISTORY_DAYS)
        self.stdout.write(f"DEVNET seeded {rows} simulated observations of history")
