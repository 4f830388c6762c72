# pragma version ~=0.4.3
"""
@title Devnet API3 reader proxy (Api3ReaderProxyV1-like)
@notice `read()` returns (int224 value, uint32 timestamp) with 18 decimals.
        `timestamp` is the Airnode signing time, so the writer passes it in.
        Also answers the Chainlink-compatible getters the real proxy has.
"""

owner: public(address)
dapiName: public(bytes32)
_value: int224
_timestamp: uint32

# Api3ReaderProxyV1 constants.
decimals: public(constant(uint8)) = 18
version: public(constant(uint256)) = 4913


@deploy
def __init__(_dapi_name: bytes32):
    self.owner = msg.sender
    self.dapiName = _dapi_name


@external
def setValue(_value: int224, _timestamp: uint32):
    """
    @notice Store a data-feed update as given (zero and negative values included).
    """
    assert msg.sender == self.owner, "only owner"
    self._value = _value
    self._timestamp = _timestamp


@internal
@view
def _read() -> (int224, uint32):
    # The real proxy reverts with a custom error until the feed has data.
    if self._timestamp == 0:
        raw_revert(method_id("DataFeedIsNotInitialized()", output_type=Bytes[4]))
    return self._value, self._timestamp


@external
@view
def read() -> (int224, uint32):
    return self._read()


@external
@view
def description() -> String[1]:
    return ""


@external
@view
def latestAnswer() -> int256:
    val: int224 = 0
    ts: uint32 = 0
    val, ts = self._read()
    return convert(val, int256)


@external
@view
def latestTimestamp() -> uint256:
    val: int224 = 0
    ts: uint32 = 0
    val, ts = self._read()
    return convert(ts, uint256)


@external
@view
def latestRoundData() -> (uint80, int256, uint256, uint256, uint80):
    # Round ids are not supported by API3: they are always zero.
    val: int224 = 0
    ts: uint32 = 0
    val, ts = self._read()
    return 0, convert(val, int256), convert(ts, uint256), convert(ts, uint256), 0


# API3 feeds have no rounds: the real proxy reverts on round-id getters.

@external
@view
def latestRound() -> uint256:
    raw_revert(method_id("FunctionIsNotSupported()", output_type=Bytes[4]))


@external
@view
def getAnswer(_roundId: uint256) -> int256:
    raw_revert(method_id("FunctionIsNotSupported()", output_type=Bytes[4]))


@external
@view
def getTimestamp(_roundId: uint256) -> uint256:
    raw_revert(method_id("FunctionIsNotSupported()", output_type=Bytes[4]))


@external
@view
def getRoundData(_roundId: uint80) -> (uint80, int256, uint256, uint256, uint80):
    raw_revert(method_id("FunctionIsNotSupported()", output_type=Bytes[4]))
