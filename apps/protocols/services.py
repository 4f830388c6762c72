"""Writes for protocols: loading the feed catalog into the database."""
import json
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from django.db import transaction

from apps.feeds.models import Asset, Chain, Feed, Pair, PriceObservation

from .models import CatalogLoad, Protocol

CATALOG_PATH = Path(__file__).resolve().parent / "catalog" / "catalog.json"


class CatalogError(Exception):
    pass


@dataclass(frozen=True)
class CatalogSummary:
    network: str
    pairs: int
    feeds: int
    mainnet_backed: int
    disabled: int

    @property
    def devnet_only(self) -> int:
        return self.feeds - self.mainnet_backed


def feed_key(protocol: str, chain: str | None, pair: str) -> str:
    return f"{protocol}-{chain or 'offchain'}-{pair}".lower()


def is_mainnet_backed(entry: dict) -> bool:
    mainnet = entry.get("mainnet") or {}
    locator = mainnet.get("address") if entry["source_kind"] == "evm" else mainnet.get("feed_id")
    return bool(locator)


def _scaled_params(params: dict, scale: int) -> dict:
    """Durations in params (keys ending in `_seconds`, e.g. a TWAP window) scale with the
    devnet's time, like heartbeats."""
    return {
        key: max(1, int(value) // scale) if key.endswith("_seconds") and value else value
        for key, value in params.items()
    }


def read_catalog(path: Path = CATALOG_PATH) -> dict:
    try:
        return json.loads(path.read_text(), parse_float=Decimal)
    except (OSError, ValueError) as error:
        raise CatalogError(f"cannot read the catalog {path}: {error}") from error


@transaction.atomic
def load_catalog(network: str, *, path: Path = CATALOG_PATH, force: bool = False) -> CatalogSummary:
    """Upsert assets, chains, protocols, pairs and feeds for one network profile. Idempotent.

    devnet: heartbeats (and `*_seconds` params) are divided by the catalog's
    `time_scale_devnet`; contract addresses
    are left to the devnet, which deploys its own contracts and writes them in.
    mainnet: the cited mainnet addresses and ids; feeds without one stay in the catalog
    (shown as not configured) but are disabled.
    Feeds that left the catalog are disabled, never deleted (their history stays).
    """
    if network not in CatalogLoad.Network.values:
        raise CatalogError(f"unknown network {network!r}; use devnet or mainnet")
    previous = CatalogLoad.objects.order_by("-loaded_at").first()
    if (
        previous and previous.network != network and not force
        and PriceObservation.objects.exists()
    ):
        raise CatalogError(
            f"this database holds {previous.network} observations; loading the {network} "
            "catalog would mix the two. Use a separate database, or --force."
        )
    catalog = read_catalog(path)
    assets = {
        a["symbol"]: Asset.objects.update_or_create(
            symbol=a["symbol"], defaults={"name": a["name"], "kind": a["kind"]}
        )[0]
        for a in catalog["assets"]
    }
    chains = {
        c["slug"]: Chain.objects.update_or_create(
            slug=c["slug"],
            defaults={"name": c["name"], "chain_id": c.get("chain_id"), "family": c["family"]},
        )[0]
        for c in catalog["chains"]
    }
    protocols = {
        p["slug"]: Protocol.objects.update_or_create(
            slug=p["slug"],
            defaults={k: p.get(k, "") for k in ("name", "website", "description")},
        )[0]
        for p in catalog["protocols"]
    }
    pairs: dict[str, Pair] = {}
    scale = int(catalog.get("time_scale_devnet", 1)) if network == "devnet" else 1
    keys, backed = set(), 0
    for entry in catalog["feeds"]:
        slug = entry["pair"]
        if slug not in pairs:
            base, quote = slug.split("-", 1)
            if base not in assets or quote not in assets:
                raise CatalogError(f"pair {slug} names an asset the catalog does not list")
            pairs[slug] = Pair.objects.get_or_create(base=assets[base], quote=assets[quote])[0]
        key = feed_key(entry["protocol"], entry.get("chain"), slug)
        if key in keys:
            raise CatalogError(f"two catalog feeds share the key {key}")
        keys.add(key)
        mainnet = entry.get("mainnet") or {}
        backed += is_mainnet_backed(entry)
        defaults = {
            "protocol": protocols[entry["protocol"]],
            "pair": pairs[slug],
            "chain": chains[entry["chain"]] if entry.get("chain") else None,
            "source_kind": entry["source_kind"],
            "decimals": entry["decimals"],
            "heartbeat_seconds": max(1, int(entry["heartbeat_seconds"]) // scale),
            "deviation_threshold_bps": Decimal(str(entry["deviation_bps"])),
            "params": _scaled_params(entry.get("params") or {}, scale),
            "feed_id": mainnet.get("feed_id") or "",
        }
        if network == "mainnet":
            defaults["address"] = mainnet.get("address") or ""
            defaults["enabled"] = is_mainnet_backed(entry)
        else:
            defaults["enabled"] = True
        Feed.objects.update_or_create(key=key, defaults=defaults)
    disabled = Feed.objects.exclude(key__in=keys).filter(enabled=True).update(enabled=False)
    CatalogLoad.objects.create(
        network=network, catalog_version=catalog.get("version", 1),
        feeds=len(keys), mainnet_backed=backed,
    )
    return CatalogSummary(network, len(pairs), len(keys), backed, disabled)
