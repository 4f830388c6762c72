# pragma version ~=0.4.3
"""
@title Devnet Multicall3
@notice aggregate3 with Multicall3's ABI, meant to be placed at the canonical
        address 0xcA11bde05977b3631167028862bE2a173976CA11 with anvil_setCode.
        Vyper needs static bounds: at most MAX_CALLS calls per batch, call data
        up to MAX_CALLDATA bytes and return data up to MAX_RETURN - 1 bytes.
        A longer reply cannot be returned whole, so it counts as a failed call
        rather than coming back truncated. Larger bounds cost quadratic memory
        gas on every call (about 2.4M gas per aggregate3 with these).
"""

MAX_CALLS: constant(uint256) = 128
MAX_CALLDATA: constant(uint256) = 4096
MAX_RETURN: constant(uint256) = 4096

struct Call3:
    target: address
    allowFailure: bool
    callData: Bytes[MAX_CALLDATA]

struct Result:
    success: bool
    returnData: Bytes[MAX_RETURN]


@external
@payable
def aggregate3(calls: DynArray[Call3, MAX_CALLS]) -> DynArray[Result, MAX_CALLS]:
    results: DynArray[Result, MAX_CALLS] = []
    for c: Call3 in calls:
        success: bool = False
        ret: Bytes[MAX_RETURN] = b""
        success, ret = raw_call(
            c.target, c.callData, max_outsize=MAX_RETURN, revert_on_failure=False
        )
        if len(ret) == MAX_RETURN:
            success = False
        assert success or c.allowFailure, "Multicall3: call failed"
        results.append(Result(success=success, returnData=ret))
    return results


@external
@view
def getBlockNumber() -> uint256:
    return block.number


@external
@view
def getCurrentBlockTimestamp() -> uint256:
    return block.timestamp


@external
@view
def getChainId() -> uint256:
    return chain.id


@external
@view
def getBasefee() -> uint256:
    return block.basefee


@external
@view
def getEthBalance(addr: address) -> uint256:
    return addr.balance
