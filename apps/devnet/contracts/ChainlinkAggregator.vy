# pragma version ~=0.4.3
"""
@title Devnet Chainlink aggregator
@notice Stand-in for an OCR OffchainAggregator. One `transmit` is one round.
        Round ids are aggregator-local (1, 2, 3, ...); the proxy adds the phase id.
        Unknown rounds read as zeros (OCR aggregators do not revert either).
"""

struct Round:
    answer: int256
    startedAt: uint256
    updatedAt: uint256

event AnswerUpdated:
    current: indexed(int256)
    roundId: indexed(uint256)
    updatedAt: uint256

event NewRound:
    roundId: indexed(uint256)
    startedBy: indexed(address)
    startedAt: uint256

owner: public(address)
decimals: public(uint8)
description: public(String[64])
latestRound: public(uint256)
rounds: HashMap[uint256, Round]

# OCR aggregators on mainnet report version 4.
version: public(constant(uint256)) = 4


@deploy
def __init__(_decimals: uint8, _description: String[64]):
    self.owner = msg.sender
    self.decimals = _decimals
    self.description = _description


@external
def transmit(answer: int256, updatedAt: uint256):
    """
    @notice Start and finish a new round. Any answer (zero, negative) and any
            updatedAt (zero = "incomplete round") are stored as given, so the
            devnet can inject the faults consumers are supposed to catch.
    """
    assert msg.sender == self.owner, "only owner"
    round_id: uint256 = self.latestRound + 1
    self.latestRound = round_id
    self.rounds[round_id] = Round(answer=answer, startedAt=updatedAt, updatedAt=updatedAt)
    log NewRound(roundId=round_id, startedBy=msg.sender, startedAt=updatedAt)
    log AnswerUpdated(current=answer, roundId=round_id, updatedAt=updatedAt)


@external
@view
def getRoundData(_roundId: uint80) -> (uint80, int256, uint256, uint256, uint80):
    r: Round = self.rounds[convert(_roundId, uint256)]
    return _roundId, r.answer, r.startedAt, r.updatedAt, _roundId


@external
@view
def latestRoundData() -> (uint80, int256, uint256, uint256, uint80):
    round_id: uint256 = self.latestRound
    r: Round = self.rounds[round_id]
    return convert(round_id, uint80), r.answer, r.startedAt, r.updatedAt, convert(round_id, uint80)


@external
@view
def latestAnswer() -> int256:
    return self.rounds[self.latestRound].answer


@external
@view
def latestTimestamp() -> uint256:
    return self.rounds[self.latestRound].updatedAt


@external
@view
def getAnswer(_roundId: uint256) -> int256:
    return self.rounds[_roundId].answer


@external
@view
def getTimestamp(_roundId: uint256) -> uint256:
    return self.rounds[_roundId].updatedAt
