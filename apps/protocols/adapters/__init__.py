"""One adapter per protocol: `EVM_ADAPTERS` for on-chain feeds, `HTTP_ADAPTERS` for APIs."""
from .api3 import Api3Adapter
from .band import BandAdapter, BandRestAdapter
from .base import Adapter, Problem, ProblemKind, ReadResult
from .chainlink import ChainlinkAdapter
from .chronicle import ChronicleAdapter
from .dia import DiaAdapter, DiaApiAdapter
from .evm import EvmAdapter
from .http import HttpAdapter
from .pyth import PythHermesAdapter
from .redstone import RedStoneGatewayAdapter, RedStonePushAdapter
from .switchboard import SwitchboardAdapter
from .tellor import TellorAdapter
from .uniswap_v3 import UniswapV3Adapter

EVM_ADAPTERS: dict[str, EvmAdapter] = {
    adapter.protocol: adapter
    for adapter in (ChainlinkAdapter(), Api3Adapter(), BandAdapter(), ChronicleAdapter(),
                    TellorAdapter(), RedStonePushAdapter(), DiaAdapter(), UniswapV3Adapter())
}
# Off-chain sources, read per protocol (the `stream` kind is read over REST as a fallback).
HTTP_ADAPTERS: dict[str, HttpAdapter] = {
    adapter.protocol: adapter
    for adapter in (DiaApiAdapter(), BandRestAdapter(), SwitchboardAdapter(),
                    RedStoneGatewayAdapter(), PythHermesAdapter())
}

__all__ = [
    "EVM_ADAPTERS", "HTTP_ADAPTERS", "Adapter", "Problem", "ProblemKind", "ReadResult",
]
