from django.conf import settings

from apps.protocols.services import read_catalog

from .runtime import ChainConfig, DevnetConfig


def devnet_config(*, seed: int | None = None) -> DevnetConfig:
    """The devnet as the settings and the catalog describe it."""
    return DevnetConfig(
        chains=tuple(
            ChainConfig(slug, chain["chain_id"], chain["port"], chain["port"] + 100)
            for slug, chain in settings.OP_DEVNET_CHAINS.items()
        ),
        control_port=settings.OP_DEVNET_CONTROL_PORT,
        block_time=settings.OP_DEVNET_BLOCK_TIME,
        time_scale=float(read_catalog().get("time_scale_devnet", 60)),
        reader=settings.OP_CHRONICLE_READER,
        seed=seed,
        http_ports=dict(settings.OP_DEVNET_HTTP_PORTS),
        stripe_port=settings.OP_DEVNET_STRIPE_PORT,
    )
