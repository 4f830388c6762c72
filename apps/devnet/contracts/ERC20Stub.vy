# pragma version ~=0.4.3
"""
@title Devnet token stub
@notice Just the ERC-20 metadata a price adapter reads (decimals, symbol);
        no balances, no transfers.
"""

name: public(String[32])
symbol: public(String[16])
decimals: public(uint8)
totalSupply: public(uint256)


@deploy
def __init__(_name: String[32], _symbol: String[16], _decimals: uint8):
    self.name = _name
    self.symbol = _symbol
    self.decimals = _decimals


@external
@view
def balanceOf(_owner: address) -> uint256:
    return 0
