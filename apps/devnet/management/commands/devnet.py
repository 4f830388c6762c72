"""`manage.py devnet`: start the local oracle devnet and run it until Ctrl-C."""
import json
import signal
import threading

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from apps.common.processes import spawn_manage, stop
from apps.devnet.config import devnet_config
from apps.devnet.runtime import Devnet


class Command(BaseCommand):
    help = "Start the local oracle devnet (EVM nodes, contracts, market, control API)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--seed", type=int, default=None, help="make the market repeatable")
        parser.add_argument("--no-history", action="store_true",
                            help="skip seeding simulated history")

    def handle(self, *args, seed: int | None, no_history: bool, **options) -> None:
        if settings.OP_NETWORK != "devnet":
            raise CommandError("OP_NETWORK is not devnet; the devnet only runs for devnet.")
        devnet = Devnet.from_database(devnet_config(seed=seed))
        if not devnet.feeds:
            raise CommandError("no on-chain feeds: run `manage.py load_catalog --network devnet`")
        stopping = threading.Event()
        signal.signal(signal.SIGTERM, lambda *_: stopping.set())
        try:
            devnet.start()
        except Exception as error:
            devnet.stop()
            raise CommandError(f"the devnet did not start: {error}") from error
        devnet.publish_addresses()
        assert devnet.control is not None  # start() made it
        for chain in devnet.config.chains:
            self.stdout.write(
                f"DEVNET — simulated market: {chain.slug} (chain id {chain.chain_id}) "
                f"at {devnet.proxies[chain.slug].url}"
            )
        self.stdout.write(f"DEVNET control API at {devnet.control.url}; "
                          f"{len(devnet.feeds)} on-chain feeds publishing.")
        if devnet.stripe:
            self.stdout.write(f"DEVNET Stripe double at {devnet.stripe.url} (webhooks to "
                              f"{devnet.stripe.webhook_url}).")
        seeder = None
        if not no_history:
            anchors = {s: str(devnet.market.price(s)) for s in devnet.market.assets}
            seeder = spawn_manage("seed_devnet_history", "--anchors", json.dumps(anchors),
                                  niceness=10)
        runner = threading.Thread(target=devnet.run, daemon=True, name="devnet-market")
        runner.start()
        try:
            while not stopping.wait(0.5):
                pass
        except KeyboardInterrupt:
            pass
        finally:
            self.stdout.write("DEVNET stopping…")
            stop(seeder)  # each feed's history is one transaction: nothing is left half-done
            devnet.stop()
            runner.join(5)
