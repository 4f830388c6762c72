"""Hand-written real interface ABIs: selectors, topics and Tellor query ids
match protocols.md, and every devnet contract implements its interface."""

from __future__ import annotations

import pytest
from eth_abi import encode
from eth_utils import event_abi_to_log_topic, function_abi_to_4byte_selector, keccak

from apps.devnet import chain

# Documented in protocols.md (computed there from the signatures).
DOCUMENTED_SELECTORS = [
    ("AggregatorV3Interface", "latestRoundData", "0xfeaf968c"),
    ("AggregatorV3Interface", "getRoundData", "0x9a6fc8f5"),
    ("AggregatorV3Interface", "decimals", "0x313ce567"),
    ("AggregatorV3Interface", "description", "0x7284e416"),
    ("AggregatorV3Interface", "version", "0x54fd4d50"),
    ("AggregatorInterface", "latestAnswer", "0x50d25bcd"),
    ("AggregatorInterface", "latestTimestamp", "0x8205bf6a"),
    ("AggregatorInterface", "latestRound", "0x668a0f02"),
    ("AggregatorProxy", "aggregator", "0x245a7bfc"),
    ("IApi3ReaderProxy", "read", "0x57de26a4"),
    ("IChronicle", "read", "0x57de26a4"),
    ("IChronicle", "readWithAge", "0x393e5ede"),
    ("IStdReference", "getReferenceData", "0x65555bcc"),
    ("IStdReference", "getReferenceDataBulk", "0xe42a071b"),
    ("UsingTellor", "getDataBefore", "0xa792765f"),
    ("IUniswapV3Pool", "observe", "0x883bdbfd"),
    ("DIAOracleV2", "getValue", "0x960384a0"),
    # Not in protocols.md; Multicall3's well-known aggregate3 selector.
    ("Multicall3", "aggregate3", "0x82ad56cb"),
]

DOCUMENTED_TOPICS = [
    ("AggregatorInterface", "AnswerUpdated",
     "0x0559884fd3a460db3073b7fc896cc77986f16e378210ded43186175bf646fc5f"),
    ("AggregatorInterface", "NewRound",
     "0x0109fc6f55cf40689f02fbaad7af7fe7bbac8a3d2186600afc7d3e10cac60271"),
]  # fmt: skip

# Devnet contract -> real interfaces it must answer (same name, inputs, outputs).
IMPLEMENTS = {
    "ChainlinkProxy": ["AggregatorV3Interface", "AggregatorInterface", "AggregatorProxy"],
    "ChainlinkAggregator": ["AggregatorV3Interface", "AggregatorInterface"],
    "Api3ReaderProxy": ["IApi3ReaderProxy", "AggregatorV3Interface", "AggregatorInterface"],
    "BandStdReference": ["IStdReference"],
    "ChronicleScribe": ["IChronicle", "IToll"],
    "TellorOracle": ["UsingTellor"],
    "RedStonePriceFeed": ["RedstonePriceFeed"],
    "UniswapV3Pool": ["IUniswapV3Pool"],
    "ERC20Stub": ["IERC20Metadata"],
    "DIAOracleV2": ["DIAOracleV2"],
    "Multicall3": ["Multicall3"],
}
# Vyper has no overloading, so Scribe's list-returning `tolled()` is left out.
NOT_IMPLEMENTED = {("ChronicleScribe", "tolled()")}


def _entry(interface: str, name: str, kind: str = "function") -> dict:
    matches = [
        e for e in chain.load_interface(interface) if e["type"] == kind and e["name"] == name
    ]
    assert matches, f"{interface} has no {kind} {name}"
    return matches[0]


def _canonical(types: list[dict]) -> str:
    out = []
    for t in types:
        if t["type"].startswith("tuple"):
            out.append(f"({_canonical(t['components'])}){t['type'][len('tuple') :]}")
        else:
            out.append(t["type"])
    return ",".join(out)


def _is_static(t: dict) -> bool:
    if t["type"].endswith("]") or t["type"] in ("bytes", "string"):
        return False
    return all(_is_static(c) for c in t.get("components", []))


def _returns(entry: dict) -> str:
    # Vyper returns a struct as one tuple; a lone static tuple is ABI-encoded
    # exactly like its fields returned separately, so compare those.
    outputs = entry["outputs"]
    if len(outputs) == 1 and outputs[0]["type"] == "tuple" and _is_static(outputs[0]):
        outputs = outputs[0]["components"]
    return _canonical(outputs)


def _signature(entry: dict) -> str:
    return f"{entry['name']}({_canonical(entry['inputs'])})"


@pytest.mark.parametrize(("interface", "name", "selector"), DOCUMENTED_SELECTORS)
def test_interface_selector_matches_protocols_md(interface: str, name: str, selector: str) -> None:
    abi_entry = _entry(interface, name)
    assert "0x" + function_abi_to_4byte_selector(abi_entry).hex() == selector


@pytest.mark.parametrize(("interface", "name", "topic"), DOCUMENTED_TOPICS)
def test_event_topic_matches_protocols_md(interface: str, name: str, topic: str) -> None:
    assert "0x" + event_abi_to_log_topic(_entry(interface, name, "event")).hex() == topic


def test_not_tolled_error_selector_matches_chronicle_toll() -> None:
    error = _entry("IToll", "NotTolled", "error")
    assert keccak(text=_signature(error))[:4].hex() == "d957b595"


@pytest.mark.parametrize(
    ("pair", "query_id"),
    [
        (("btc", "usd"), "0xa6f013ee236804827b77696d350e9f0ac3e879328f2a3021d473a0b778ad78ac"),
        (("eth", "usd"), "0x83a7f3d48786ac2667503a61e8c415438ed2922eb86a2906e4ee66d9a2ce4992"),
        (("trb", "usd"), "0x5c13cd9c97dbb98f2429c101a2a8150e6c7a0ddaff6124ee176a3a411067ded0"),
    ],
)
def test_tellor_spot_price_query_id_derivation(pair: tuple[str, str], query_id: str) -> None:
    query_data = encode(["string", "bytes"], ["SpotPrice", encode(["string", "string"], pair)])
    assert "0x" + keccak(query_data).hex() == query_id


@pytest.mark.parametrize("contract", sorted(IMPLEMENTS))
def test_devnet_contract_implements_its_real_interfaces(contract: str) -> None:
    own = {
        _signature(e): _returns(e)
        for e in chain.load_artifact(contract)["abi"]
        if e["type"] == "function"
    }
    for interface in IMPLEMENTS[contract]:
        for entry in chain.load_interface(interface):
            if entry["type"] != "function":
                continue
            signature = _signature(entry)
            if (contract, signature) in NOT_IMPLEMENTED:
                continue
            assert signature in own, f"{contract} lacks {interface}.{signature}"
            assert own[signature] == _returns(entry), (
                f"{contract}.{signature} returns ({own[signature]}), "
                f"{interface} says ({_returns(entry)})"
            )


def test_devnet_events_match_real_event_signatures() -> None:
    pairs = [
        ("ChainlinkAggregator", "AggregatorInterface", "AnswerUpdated"),
        ("ChainlinkAggregator", "AggregatorInterface", "NewRound"),
        ("DIAOracleV2", "DIAOracleV2", "OracleUpdate"),
        ("ChronicleScribe", "IToll", "TollGranted"),
        ("UniswapV3Pool", "IUniswapV3Pool", "Swap"),
    ]
    for contract, interface, name in pairs:
        own = [e for e in chain.load_artifact(contract)["abi"] if e.get("name") == name]
        assert len(own) == 1, f"{contract} has no event {name}"
        real = _entry(interface, name, "event")
        assert event_abi_to_log_topic(own[0]) == event_abi_to_log_topic(real)
        assert [i["indexed"] for i in own[0]["inputs"]] == [i["indexed"] for i in real["inputs"]]
