# pragma version ~=0.4.3
"""
@title Devnet DIA key/value oracle (DIAOracleV2)
@notice getValue("BTC/USD") -> (uint128 value, uint128 timestamp), value with
        8 decimals. Stored packed as (value << 128) + timestamp like the real one.
"""

MAX_KEYS: constant(uint256) = 64

event OracleUpdate:
    key: String[32]
    value: uint128
    timestamp: uint128

event UpdaterAddressChange:
    newUpdater: address

values: public(HashMap[String[32], uint256])
oracleUpdater: address


@deploy
def __init__():
    self.oracleUpdater = msg.sender


@internal
def _set(_key: String[32], _value: uint128, _timestamp: uint128):
    self.values[_key] = (convert(_value, uint256) << 128) + convert(_timestamp, uint256)
    log OracleUpdate(key=_key, value=_value, timestamp=_timestamp)


@external
def setValue(_key: String[32], _value: uint128, _timestamp: uint128):
    """
    @notice Store any value and timestamp (zero included) for a key.
    """
    assert msg.sender == self.oracleUpdater
    self._set(_key, _value, _timestamp)


@external
def setMultipleValues(
    _keys: DynArray[String[32], MAX_KEYS], _compressedValues: DynArray[uint256, MAX_KEYS]
):
    # Each compressed value is (value << 128) + timestamp.
    assert msg.sender == self.oracleUpdater
    assert len(_keys) == len(_compressedValues)
    for i: uint256 in range(len(_keys), bound=MAX_KEYS):
        packed: uint256 = _compressedValues[i]
        self._set(
            _keys[i], convert(packed >> 128, uint128), convert(packed % (1 << 128), uint128)
        )


@external
@view
def getValue(_key: String[32]) -> (uint128, uint128):
    packed: uint256 = self.values[_key]
    return convert(packed >> 128, uint128), convert(packed % (1 << 128), uint128)


@external
def updateOracleUpdaterAddress(_newOracleUpdaterAddress: address):
    assert msg.sender == self.oracleUpdater
    self.oracleUpdater = _newOracleUpdaterAddress
    log UpdaterAddressChange(newUpdater=_newOracleUpdaterAddress)
