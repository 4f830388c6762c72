# pragma version ~=0.4.3
"""
@title Devnet Band StdReference (StdReferenceBasic-like)
@notice Stores each symbol's USD rate multiplied by 1e9 (as the real contract
        does) and derives base/quote rates multiplied by 1e18 on read.
        "USD" is implicit: rate 1e9, last updated = now.
"""

MAX_SYMBOLS: constant(uint256) = 64

struct ReferenceData:
    rate: uint256
    lastUpdatedBase: uint256
    lastUpdatedQuote: uint256

struct RefData:
    rate: uint256
    resolveTime: uint256
    requestId: uint256

event RefDataUpdate:
    symbol: String[32]
    rate: uint64
    resolveTime: uint64
    requestId: uint64

owner: public(address)
refs: public(HashMap[String[32], RefData])
_request_id: uint256


@deploy
def __init__():
    self.owner = msg.sender


@external
def relay(
    symbols: DynArray[String[32], MAX_SYMBOLS],
    rates: DynArray[uint256, MAX_SYMBOLS],
    resolveTimes: DynArray[uint256, MAX_SYMBOLS],
):
    """
    @notice Relay USD rates (x 1e9) with their resolve times. Zero rates are
            accepted: reading them as a quote divides by zero and reverts, as
            on mainnet. Rates and times must fit uint64 like the real storage.
    """
    assert msg.sender == self.owner, "NOTARELAYER"
    assert len(symbols) == len(rates) and len(symbols) == len(resolveTimes), "BADRATESLENGTH"
    request_id: uint256 = self._request_id + 1
    self._request_id = request_id
    for i: uint256 in range(len(symbols), bound=MAX_SYMBOLS):
        self.refs[symbols[i]] = RefData(
            rate=rates[i], resolveTime=resolveTimes[i], requestId=request_id
        )
        log RefDataUpdate(
            symbol=symbols[i],
            rate=convert(rates[i], uint64),
            resolveTime=convert(resolveTimes[i], uint64),
            requestId=convert(request_id, uint64),
        )


@internal
@view
def _get_ref_data(symbol: String[32]) -> (uint256, uint256):
    if keccak256(symbol) == keccak256("USD"):
        return 10**9, block.timestamp
    ref: RefData = self.refs[symbol]
    assert ref.resolveTime > 0, "REF_DATA_NOT_AVAILABLE"
    return ref.rate, ref.resolveTime


@internal
@view
def _reference_data(base: String[32], quote: String[32]) -> ReferenceData:
    base_rate: uint256 = 0
    base_time: uint256 = 0
    quote_rate: uint256 = 0
    quote_time: uint256 = 0
    base_rate, base_time = self._get_ref_data(base)
    quote_rate, quote_time = self._get_ref_data(quote)
    return ReferenceData(
        rate=base_rate * 10**18 // quote_rate,
        lastUpdatedBase=base_time,
        lastUpdatedQuote=quote_time,
    )


@external
@view
def getReferenceData(_base: String[32], _quote: String[32]) -> ReferenceData:
    return self._reference_data(_base, _quote)


@external
@view
def getReferenceDataBulk(
    _bases: DynArray[String[32], MAX_SYMBOLS], _quotes: DynArray[String[32], MAX_SYMBOLS]
) -> DynArray[ReferenceData, MAX_SYMBOLS]:
    assert len(_bases) == len(_quotes), "BAD_INPUT_LENGTH"
    results: DynArray[ReferenceData, MAX_SYMBOLS] = []
    for i: uint256 in range(len(_bases), bound=MAX_SYMBOLS):
        results.append(self._reference_data(_bases[i], _quotes[i]))
    return results
