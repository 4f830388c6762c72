"""`manage.py devnet`: start the local oracle devnet and run it until Ctrl-C."""
import signal
import threading

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.db import close_old_connections
from django.utils import timezone

from apps.devnet.config import devnet_config
from apps.devnet.history import seed_history
from apps.devnet.runtime import Devnet
from apps.feeds.models import Feed


class Command(BaseCommand):
    help = "Start the local oracle devnet (EVM nodes, contracts, market, control API)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--seed", type=int, default=None, help="make the market repeatable")
        parser.add_argument("--no-history", action="store_true",
                            help="skip seeding simulated history")

    def handle(self, *args, seed: int | None, no_history: bool, **options) -> None:
        if settings.OP_NETWORK != "devnet":
            raise CommandError("OP_NETWORK is not devnet; the devnet only runs for devnet.")
        call_command("load_catalog", "--network", "devnet", stdout=self.stdout)
        devnet = Devnet.from_database(devnet_config(seed=seed))
        stop = threading.Event()
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
        try:
            devnet.start()
        except Exception as error:
            devnet.stop()
            raise CommandError(f"the devnet did not start: {error}") from error
        devnet.publish_addresses()
        for chain in devnet.config.chains:
            self.stdout.write(
                f"DEVNET — simulated market: {chain.slug} (chain id {chain.chain_id}) "
                f"at {devnet.proxies[chain.slug].url}"
            )
        self.stdout.write(f"DEVNET control API at {devnet.control.url}; "
                          f"{len(devnet.feeds)} on-chain feeds publishing.")
        if not no_history:
            threading.Thread(target=self._seed, args=(devnet,), daemon=True,
                             name="devnet-history").start()
        runner = threading.Thread(target=devnet.run, daemon=True, name="devnet-market")
        runner.start()
        try:
            while not stop.wait(0.5):
                pass
        except KeyboardInterrupt:
            pass
        finally:
            self.stdout.write("DEVNET stopping…")
            devnet.stop()
            runner.join(5)

    def _seed(self, devnet: Devnet) -> None:
        try:
            anchors = {symbol: devnet.market.price(symbol) for symbol in devnet.market.assets}
            feeds = Feed.objects.filter(enabled=True).select_related(
                "protocol", "pair__base", "pair__quote"
            )
            rows = seed_history(list(feeds), end=timezone.now(),
                                days=settings.OP_DEVNET_HISTORY_DAYS, anchors=anchors)
            if rows:
                self.stdout.write(f"DEVNET seeded {rows} simulated observations of history")
        finally:
            close_old_connections()
