# pragma version ~=0.4.3
"""
@title Devnet Chronicle oracle (Scribe-like)
@notice 18-decimal value plus its age, the unix time of the last poke.
        Reads are whitelisted ("toll"): only kissed addresses may read, and a
        non-kissed caller gets NotTolled(address). For eth_call the caller is
        the call's `from`; through Multicall3 it is the Multicall3 address.
        `poke` stands in for the Schnorr-signed poke: the owner signs for all.
"""

event Poked:
    caller: indexed(address)
    val: uint128
    age: uint32

event TollGranted:
    caller: indexed(address)
    who: indexed(address)

event TollRenounced:
    caller: indexed(address)
    who: indexed(address)

owner: public(address)
wat: public(bytes32)
bud: public(HashMap[address, uint256])
_val: uint128
_age: uint32

decimals: public(constant(uint8)) = 18


@deploy
def __init__(_wat: bytes32):
    assert _wat != empty(bytes32)
    self.owner = msg.sender
    self.wat = _wat


@internal
@view
def _toll():
    if self.bud[msg.sender] == 0:
        raw_revert(concat(method_id("NotTolled(address)", output_type=Bytes[4]), abi_encode(msg.sender)))


@external
def kiss(who: address):
    assert msg.sender == self.owner, "only owner"
    if self.bud[who] == 1:
        return
    self.bud[who] = 1
    log TollGranted(caller=msg.sender, who=who)


@external
def diss(who: address):
    assert msg.sender == self.owner, "only owner"
    if self.bud[who] == 0:
        return
    self.bud[who] = 0
    log TollRenounced(caller=msg.sender, who=who)


@external
@view
def tolled(who: address) -> bool:
    return self.bud[who] == 1


@external
def poke(val: uint128, age: uint32):
    """
    @notice Accept a value observed at `age`. Like Scribe, a message not newer
            than the current value or from the future reverts, and the stored
            age is the poke's block time. val = 0 is accepted (reads then
            report "no value").
    """
    assert msg.sender == self.owner, "only owner"
    if age <= self._age:
        raw_revert(concat(
            method_id("StaleMessage(uint32,uint32)", output_type=Bytes[4]),
            abi_encode(age, self._age),
        ))
    now: uint32 = convert(block.timestamp, uint32)
    if age > now:
        raw_revert(concat(
            method_id("FutureMessage(uint32,uint32)", output_type=Bytes[4]),
            abi_encode(age, now),
        ))
    self._val = val
    self._age = now
    log Poked(caller=msg.sender, val=val, age=age)


@external
@view
def read() -> uint256:
    self._toll()
    assert self._val != 0
    return convert(self._val, uint256)


@external
@view
def tryRead() -> (bool, uint256):
    self._toll()
    return self._val != 0, convert(self._val, uint256)


@external
@view
def readWithAge() -> (uint256, uint256):
    self._toll()
    assert self._val != 0
    return convert(self._val, uint256), convert(self._age, uint256)


@external
@view
def tryReadWithAge() -> (bool, uint256, uint256):
    self._toll()
    return self._val != 0, convert(self._val, uint256), convert(self._age, uint256)


@external
@view
def latestAnswer() -> int256:
    self._toll()
    return convert(self._val, int256)


@external
@view
def latestRoundData() -> (uint80, int256, uint256, uint256, uint80):
    # Scribe's Chainlink compatibility: round 1, startedAt 0, updatedAt = age.
    self._toll()
    return 1, convert(self._val, int256), 0, convert(self._age, uint256), 1
