from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from apps.protocols.services import CATALOG_PATH, CatalogError, load_catalog


class Command(BaseCommand):
    help = "Load the feed catalog (apps/protocols/catalog/catalog.json) for one network."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--network", choices=["devnet", "mainnet"], default=None,
                            help="defaults to OP_NETWORK")
        parser.add_argument("--catalog", type=Path, default=CATALOG_PATH,
                            help="catalog file (default: the one shipped with the code)")
        parser.add_argument("--force", action="store_true",
                            help="switch networks even though observations exist")

    def handle(
        self, *args, network: str | None, catalog: Path, force: bool, **options
    ) -> None:
        network = network or settings.OP_NETWORK
        try:
            summary = load_catalog(network, path=catalog, force=force)
        except CatalogError as error:
            raise CommandError(str(error)) from error
        self.stdout.write(
            f"Loaded the {summary.network} catalog: {summary.pairs} pairs, {summary.feeds} feeds "
            f"— {summary.mainnet_backed} mainnet-backed, {summary.devnet_only} devnet-only"
            + (f"; disabled {summary.disabled} feed(s) no longer in the catalog"
               if summary.disabled else "")
        )
