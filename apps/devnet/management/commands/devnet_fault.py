"""`manage.py devnet_fault`: inject and clear faults in the running devnet.

    devnet_fault freeze chainlink-ethereum-eth-usd     one feed stops publishing
    devnet_fault pause tellor                          a protocol stops everywhere
    devnet_fault move ETH -5                           the market moves 5 % down
    devnet_fault move chainlink-ethereum-eth-usd 3     one feed deviates 3 %
    devnet_fault garbage api3-ethereum-btc-usd negative
    devnet_fault depeg USDC 0.97
    devnet_fault rpc-slow ethereum 4000                ms
    devnet_fault list | kinds | clear [ID]
The value after the target sets the fault's first parameter; `--set name=value` sets any.
"""
import json

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from apps.devnet.control import DevnetClient, DevnetUnavailable
from apps.devnet.faults import SPECS, FaultError


class Command(BaseCommand):
    help = "Inject or clear a fault in the running devnet (see `devnet_fault kinds`)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("action", help="a fault kind, or list / kinds / clear")
        parser.add_argument("target", nargs="?", help="feed key, protocol, asset or chain")
        parser.add_argument("value", nargs="?", help="the fault's first parameter")
        parser.add_argument("--set", dest="pairs", action="append", default=[],
                            metavar="NAME=VALUE",
                            help="a fault parameter (repeatable)")

    def handle(self, *args, action: str, target: str | None, value: str | None,
               pairs: list[str], **options) -> None:
        client = DevnetClient(settings.OP_DEVNET_CONTROL_URL)
        try:
            self._dispatch(client, action, target, value, pairs)
        except (DevnetUnavailable, FaultError) as error:
            raise CommandError(str(error)) from error

    def _dispatch(self, client: DevnetClient, action: str, target: str | None,
                  value: str | None, pairs: list[str]) -> None:
        if action == "list":
            faults = client.faults()
            for fault in faults:
                self.stdout.write(f"#{fault['id']} {fault['kind']} {fault['target']} "
                                  f"{json.dumps(fault['params'])}")
            if not faults:
                self.stdout.write("No active faults.")
            return
        if action == "kinds":
            for kind, spec in client.fault_kinds().items():
                defaults = ", ".join(f"{n}={d}" for n, d in spec["params"].items())
                self.stdout.write(
                    f"{kind} <{'|'.join(spec['targets'])}> {defaults}: {spec['help']}")
            return
        if action == "clear":
            cleared = client.clear(None if target in (None, "all") else int(target))
            self.stdout.write(f"Cleared {len(cleared)} fault(s).")
            return
        if action not in SPECS and target in SPECS:  # `devnet_fault redstone bad-signature`
            action, target = target, action
        if action not in SPECS:
            raise CommandError(f"unknown fault {action!r}; `devnet_fault kinds` lists them")
        if not target:
            raise CommandError(f"{action} needs a target ({' or '.join(SPECS[action].targets)})")
        params = dict(pair.split("=", 1) for pair in pairs if "=" in pair)
        if value is not None:
            first = next(iter(SPECS[action].params), None)
            if first is None:
                raise CommandError(f"{action} takes no value")
            params[first] = value
        fault = client.inject(action, target, **params)
        self.stdout.write(f"Injected #{fault['id']}: {fault['kind']} {fault['target']} "
                          f"{json.dumps(fault['params'])} (clear with `devnet_fault clear "
                          f"{fault['id']}`)")
