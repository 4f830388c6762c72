"""One adapter per protocol; `ADAPTERS` maps (protocol slug, source kind) to it."""
from .api3 import Api3Adapter
from .band import BandAdapter
from .base import Adapter, Problem, ProblemKind, ReadResult
from .chainlink import ChainlinkAdapter
from .chronicle import ChronicleAdapter
from .dia import DiaAdapter
from .redstone import RedStonePushAdapter
from .tellor import TellorAdapter
from .uniswap_v3 import UniswapV3Adapter

EVM_ADAPTERS = {
    adapter.protocol: adapter
    for adapter in (ChainlinkAdapter(), Api3Adapter(), BandAdapter(), ChronicleAdapter(),
                    TellorAdapter(), RedStonePushAdapter(), DiaAdapter(), UniswapV3Adapter())
}
ADAPTERS: dict[tuple[str, str], Adapter] = {
    (protocol, "evm"): adapter for protocol, adapter in EVM_ADAPTERS.items()
}

__all__ = ["ADAPTERS", "EVM_ADAPTERS", "Adapter", "Problem", "ProblemKind", "ReadResult"]
