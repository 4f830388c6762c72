"""One devnet simulator per oracle protocol: how the devnet deploys and writes its contracts
(on-chain protocols) or serves its API (HTTP protocols). `ONCHAIN` maps protocol slugs to
the on-chain simulators."""
from .api3 import Api3
from .band import Band
from .base import ChainContext, FeedSpec, OnChainSimulator
from .chainlink import Chainlink
from .chronicle import Chronicle
from .dia import Dia
from .redstone import RedStonePush
from .tellor import Tellor
from .uniswap_v3 import UniswapV3

ONCHAIN: dict[str, OnChainSimulator] = {
    sim.protocol: sim
    for sim in (Chainlink(), Api3(), Band(), Chronicle(), Tellor(), RedStonePush(), Dia(),
                UniswapV3())
}

__all__ = ["ONCHAIN", "ChainContext", "FeedSpec", "OnChainSimulator"]
