# pragma version ~=0.4.3
"""
@title Devnet RedStone push ("classic") price feed
@notice Chainlink-compatible, 8 decimals. As with the real adapter, the
        timestamp is the block time of the relayer's update and
        answeredInRound equals roundId. Rounds are kept, as in RedStone's
        PriceFeedWithRounds; unknown rounds read as zeros.
"""

struct Round:
    answer: int256
    updatedAt: uint256

owner: public(address)
description: public(String[64])
_data_feed_id: bytes32
_round: uint256
_rounds: HashMap[uint256, Round]

decimals: public(constant(uint8)) = 8
version: public(constant(uint256)) = 1


@deploy
def __init__(_dataFeedId: bytes32, _description: String[64]):
    self.owner = msg.sender
    self._data_feed_id = _dataFeedId
    self.description = _description


@external
def setValue(_answer: int256):
    """
    @notice Relayer update at block time. Zero and negative answers are stored
            as given so consumers' sanity checks can be exercised.
    """
    assert msg.sender == self.owner, "only owner"
    self._round += 1
    self._rounds[self._round] = Round(answer=_answer, updatedAt=block.timestamp)


@external
@view
def getDataFeedId() -> bytes32:
    return self._data_feed_id


@external
@view
def getPriceFeedAdapter() -> address:
    # Feed and adapter are one contract on the devnet.
    return self


@external
@view
def latestRoundData() -> (uint80, int256, uint256, uint256, uint80):
    round_id: uint80 = convert(self._round, uint80)
    r: Round = self._rounds[self._round]
    return round_id, r.answer, r.updatedAt, r.updatedAt, round_id


@external
@view
def getRoundData(_roundId: uint80) -> (uint80, int256, uint256, uint256, uint80):
    r: Round = self._rounds[convert(_roundId, uint256)]
    return _roundId, r.answer, r.updatedAt, r.updatedAt, _roundId


@external
@view
def latestAnswer() -> int256:
    return self._rounds[self._round].answer


@external
@view
def latestRound() -> uint80:
    return convert(self._round, uint80)
