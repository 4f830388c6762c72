"""One devnet simulator per oracle protocol: how the devnet deploys and writes its contracts
(on-chain protocols) or serves its API (HTTP protocols). `ONCHAIN` and `HTTP` map protocol
slugs to them."""
from .api3 import Api3
from .band import Band, BandRest
from .base import ChainContext, FeedSpec, OnChainSimulator
from .chainlink import Chainlink
from .chronicle import Chronicle
from .dia import Dia, DiaApi
from .http import HttpSimulator
from .pyth import Hermes
from .redstone import RedStoneGateway, RedStonePush
from .switchboard import Crossbar
from .tellor import Tellor
from .uniswap_v3 import UniswapV3

ONCHAIN: dict[str, OnChainSimulator] = {
    sim.protocol: sim
    for sim in (Chainlink(), Api3(), Band(), Chronicle(), Tellor(), RedStonePush(), Dia(),
                UniswapV3())
}

HTTP: dict[str, type[HttpSimulator]] = {
    sim.protocol: sim for sim in (DiaApi, BandRest, Crossbar, RedStoneGateway, Hermes)
}

__all__ = ["HTTP", "ONCHAIN", "ChainContext", "FeedSpec", "HttpSimulator", "OnChainSimulator"]
