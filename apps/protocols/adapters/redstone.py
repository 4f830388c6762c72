"""RedStone. Push ("classic") feeds on EVM are Chainlink-compatible: 8 decimals, the
relayer's block time as updatedAt."""
from .chainlink import ChainlinkAdapter


class RedStonePushAdapter(ChainlinkAdapter):
    protocol = "redstone"
