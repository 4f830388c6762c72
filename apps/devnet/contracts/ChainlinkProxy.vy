# pragma version ~=0.4.3
"""
@title Devnet Chainlink aggregator proxy (EACAggregatorProxy-like)
@notice Consumers read the proxy. Round ids are phase-encoded as
        (phaseId << 64) | aggregatorRoundId; switching the aggregator
        (propose + confirm) starts a new phase, and old phases stay readable
        through getRoundData.
"""

interface Aggregator:
    def latestRoundData() -> (uint80, int256, uint256, uint256, uint80): view
    def getRoundData(_roundId: uint80) -> (uint80, int256, uint256, uint256, uint80): view
    def decimals() -> uint8: view
    def description() -> String[64]: view
    def version() -> uint256: view
    def latestAnswer() -> int256: view
    def latestTimestamp() -> uint256: view
    def latestRound() -> uint256: view
    def getAnswer(_roundId: uint256) -> int256: view
    def getTimestamp(_roundId: uint256) -> uint256: view

PHASE_OFFSET: constant(uint256) = 64
AGGREGATOR_ROUND_MASK: constant(uint256) = (1 << 64) - 1
MAX_ID: constant(uint256) = (1 << 80) - 1

owner: public(address)
phaseId: public(uint16)
phaseAggregators: public(HashMap[uint16, address])
proposedAggregator: public(address)


@deploy
def __init__(_aggregator: address):
    self.owner = msg.sender
    self._set_aggregator(_aggregator)


@internal
def _set_aggregator(_aggregator: address):
    phase: uint16 = self.phaseId + 1
    self.phaseId = phase
    self.phaseAggregators[phase] = _aggregator


@internal
@pure
def _add_phase(_phase: uint16, _original_id: uint80) -> uint80:
    # Same truncation as the Solidity proxy: aggregator round ids are uint64.
    agg_round: uint64 = convert(_original_id, uint64)
    return convert(
        (convert(_phase, uint256) << PHASE_OFFSET) | convert(agg_round, uint256), uint80
    )


@internal
@pure
def _parse_ids(_round_id: uint256) -> (uint16, uint64):
    return (
        convert(_round_id >> PHASE_OFFSET, uint16),
        convert(_round_id & AGGREGATOR_ROUND_MASK, uint64),
    )


@external
@view
def aggregator() -> address:
    return self.phaseAggregators[self.phaseId]


@external
@view
def decimals() -> uint8:
    return staticcall Aggregator(self.phaseAggregators[self.phaseId]).decimals()


@external
@view
def description() -> String[64]:
    return staticcall Aggregator(self.phaseAggregators[self.phaseId]).description()


@external
@view
def version() -> uint256:
    return staticcall Aggregator(self.phaseAggregators[self.phaseId]).version()


@external
@view
def latestRoundData() -> (uint80, int256, uint256, uint256, uint80):
    phase: uint16 = self.phaseId
    round_id: uint80 = 0
    answer: int256 = 0
    started_at: uint256 = 0
    updated_at: uint256 = 0
    answered_in_round: uint80 = 0
    round_id, answer, started_at, updated_at, answered_in_round = staticcall Aggregator(
        self.phaseAggregators[phase]
    ).latestRoundData()
    return (
        self._add_phase(phase, round_id),
        answer,
        started_at,
        updated_at,
        self._add_phase(phase, answered_in_round),
    )


@external
@view
def getRoundData(_roundId: uint80) -> (uint80, int256, uint256, uint256, uint80):
    # An unknown phase has no aggregator: the call to address(0) reverts,
    # as it does on mainnet.
    phase: uint16 = 0
    agg_round: uint64 = 0
    phase, agg_round = self._parse_ids(convert(_roundId, uint256))
    round_id: uint80 = 0
    answer: int256 = 0
    started_at: uint256 = 0
    updated_at: uint256 = 0
    answered_in_round: uint80 = 0
    round_id, answer, started_at, updated_at, answered_in_round = staticcall Aggregator(
        self.phaseAggregators[phase]
    ).getRoundData(convert(agg_round, uint80))
    return (
        self._add_phase(phase, round_id),
        answer,
        started_at,
        updated_at,
        self._add_phase(phase, answered_in_round),
    )


@external
@view
def latestAnswer() -> int256:
    return staticcall Aggregator(self.phaseAggregators[self.phaseId]).latestAnswer()


@external
@view
def latestTimestamp() -> uint256:
    return staticcall Aggregator(self.phaseAggregators[self.phaseId]).latestTimestamp()


@external
@view
def latestRound() -> uint256:
    phase: uint16 = self.phaseId
    agg_round: uint256 = staticcall Aggregator(self.phaseAggregators[phase]).latestRound()
    return convert(self._add_phase(phase, convert(agg_round, uint80)), uint256)


@external
@view
def getAnswer(_roundId: uint256) -> int256:
    if _roundId > MAX_ID:
        return 0
    phase: uint16 = 0
    agg_round: uint64 = 0
    phase, agg_round = self._parse_ids(_roundId)
    agg: address = self.phaseAggregators[phase]
    if agg == empty(address):
        return 0
    return staticcall Aggregator(agg).getAnswer(convert(agg_round, uint256))


@external
@view
def getTimestamp(_roundId: uint256) -> uint256:
    if _roundId > MAX_ID:
        return 0
    phase: uint16 = 0
    agg_round: uint64 = 0
    phase, agg_round = self._parse_ids(_roundId)
    agg: address = self.phaseAggregators[phase]
    if agg == empty(address):
        return 0
    return staticcall Aggregator(agg).getTimestamp(convert(agg_round, uint256))


@external
def proposeAggregator(_aggregator: address):
    assert msg.sender == self.owner, "Only callable by owner"
    self.proposedAggregator = _aggregator


@external
def confirmAggregator(_aggregator: address):
    assert msg.sender == self.owner, "Only callable by owner"
    assert _aggregator == self.proposedAggregator, "Invalid proposed aggregator"
    self.proposedAggregator = empty(address)
    self._set_aggregator(_aggregator)
