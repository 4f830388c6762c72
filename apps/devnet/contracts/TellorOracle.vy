# pragma version ~=0.4.3
"""
@title Devnet Tellor oracle (TellorFlex / TellorPlayground-like)
@notice Reports are keyed by queryId = keccak256(queryData), e.g.
        keccak256(abi.encode("SpotPrice", abi.encode("eth", "usd"))).
        Values are opaque bytes; SpotPrice values are abi.encode(uint256) with
        18 decimals. getDataBefore returns the
        (bool _ifRetrieve, bytes _value, uint256 _timestampRetrieved) variant
        (UsingTellor / TellorFlex), found by binary search over the history.
"""

MAX_VALUE_BYTES: constant(uint256) = 256

event NewReport:
    _queryId: indexed(bytes32)
    _time: indexed(uint256)
    _value: Bytes[MAX_VALUE_BYTES]
    _nonce: uint256
    _queryData: Bytes[1]
    _reporter: indexed(address)

owner: public(address)
# Report timestamps per query id, strictly increasing, so history is sorted.
_timestamps: HashMap[bytes32, HashMap[uint256, uint256]]
_counts: HashMap[bytes32, uint256]
_values: HashMap[bytes32, HashMap[uint256, Bytes[MAX_VALUE_BYTES]]]


@deploy
def __init__():
    self.owner = msg.sender


@external
def submitValue(_queryId: bytes32, _value: Bytes[MAX_VALUE_BYTES], _timestamp: uint256):
    """
    @notice Record a report at `_timestamp` (the real oracle uses block time;
            the devnet may backdate). Timestamps must increase per query id,
            which the real oracle guarantees by construction. Any bytes are
            accepted, including empty or zero values.
    """
    assert msg.sender == self.owner, "only owner"
    count: uint256 = self._counts[_queryId]
    if count > 0:
        assert _timestamp > self._timestamps[_queryId][count - 1], "timestamp must increase"
    self._timestamps[_queryId][count] = _timestamp
    self._values[_queryId][_timestamp] = _value
    self._counts[_queryId] = count + 1
    log NewReport(
        _queryId=_queryId, _time=_timestamp, _value=_value, _nonce=count,
        _queryData=b"", _reporter=msg.sender,
    )


@internal
@view
def _count_before(_queryId: bytes32, _timestamp: uint256) -> uint256:
    # Number of reports strictly before _timestamp (lower bound search).
    lo: uint256 = 0
    hi: uint256 = self._counts[_queryId]
    for _: uint256 in range(256):
        if lo >= hi:
            break
        mid: uint256 = (lo + hi) // 2
        if self._timestamps[_queryId][mid] < _timestamp:
            lo = mid + 1
        else:
            hi = mid
    return lo


@external
@view
def getDataBefore(
    _queryId: bytes32, _timestamp: uint256
) -> (bool, Bytes[MAX_VALUE_BYTES], uint256):
    n: uint256 = self._count_before(_queryId, _timestamp)
    if n == 0:
        return False, b"", 0
    ts: uint256 = self._timestamps[_queryId][n - 1]
    return True, self._values[_queryId][ts], ts


@external
@view
def getIndexForDataBefore(_queryId: bytes32, _timestamp: uint256) -> (bool, uint256):
    n: uint256 = self._count_before(_queryId, _timestamp)
    if n == 0:
        return False, 0
    return True, n - 1


@external
@view
def getNewValueCountbyQueryId(_queryId: bytes32) -> uint256:
    return self._counts[_queryId]


@external
@view
def getTimestampbyQueryIdandIndex(_queryId: bytes32, _index: uint256) -> uint256:
    return self._timestamps[_queryId][_index]


@external
@view
def retrieveData(_queryId: bytes32, _timestamp: uint256) -> Bytes[MAX_VALUE_BYTES]:
    return self._values[_queryId][_timestamp]


@external
@view
def isInDispute(_queryId: bytes32, _timestamp: uint256) -> bool:
    # The devnet has no dispute game.
    return False
