"""Just enough ABI for the oracle interfaces: a function is its signature and output types."""
from dataclasses import dataclass, field
from typing import Any

from eth_abi import decode, encode
from eth_utils import keccak


@dataclass(frozen=True)
class Function:
    """`Function("getRoundData(uint80)", ("uint80", "int256", ...))`."""

    signature: str
    outputs: tuple[str, ...]
    inputs: tuple[str, ...] = field(init=False)
    selector: bytes = field(init=False)

    def __post_init__(self) -> None:
        args = self.signature[self.signature.index("(") + 1 : -1]
        object.__setattr__(self, "inputs", tuple(_split_types(args)))
        object.__setattr__(self, "selector", keccak(text=self.signature)[:4])

    def encode(self, *args: Any) -> bytes:
        return self.selector + (encode(list(self.inputs), list(args)) if self.inputs else b"")

    def decode(self, data: bytes) -> tuple:
        return decode(list(self.outputs), data)


def _split_types(args: str) -> list[str]:
    """Split "uint80,(address,bool,bytes)[]" at top-level commas."""
    parts, depth, current = [], 0, ""
    for char in args:
        if char == "," and depth == 0:
            parts.append(current)
            current = ""
            continue
        depth += char == "("
        depth -= char == ")"
        current += char
    return [*parts, current] if current else parts
