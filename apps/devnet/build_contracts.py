"""Compile the devnet's Vyper contracts into committed JSON artifacts.

Run ``python -m apps.devnet.build_contracts`` (``make contracts``) after editing a
``contracts/*.vy`` file; ``--check`` only reports stale artifacts (exit 1).
The compiler is a dev dependency: vyper is imported inside the functions that
compile, so importing this module (or reading artifacts) never needs it.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from pathlib import Path
from typing import Any

DEVNET_DIR = Path(__file__).resolve().parent
CONTRACTS_DIR = DEVNET_DIR / "contracts"
ARTIFACTS_DIR = DEVNET_DIR / "artifacts"

# Pinned so the bytecode does not change with vyper's default target; Cancun
# runs on anvil and on every current mainnet-like chain.
EVM_VERSION = "cancun"


def source_sha256(source: str) -> str:
    return hashlib.sha256(source.encode("utf-8")).hexdigest()


def compiler_version() -> str:
    import vyper  # a dev dependency, only for compiling (see the module docstring)

    return f"vyper {vyper.__version__}"


def compile_contract(path: Path) -> dict[str, Any]:
    """Compile one ``.vy`` file in-process and return its artifact dict."""
    # vyper is a dev dependency, only for compiling (see the module docstring).
    import vyper
    from vyper.compiler.settings import OptimizationLevel, Settings

    source = path.read_text(encoding="utf-8")
    out = vyper.compile_code(
        source,
        contract_path=path.name,
        output_formats=["abi", "bytecode"],
        settings=Settings(evm_version=EVM_VERSION, optimize=OptimizationLevel.GAS),
    )
    return {
        "contract": path.stem,
        "compiler": compiler_version(),
        "source_sha256": source_sha256(source),
        "abi": out["abi"],
        "bytecode": out["bytecode"],
    }


def render_artifact(artifact: dict[str, Any]) -> str:
    """Stable text form: sorted keys, two-space indent, trailing newline."""
    return json.dumps(artifact, indent=2, sort_keys=True) + "\n"


def sources(contracts_dir: Path = CONTRACTS_DIR) -> list[Path]:
    return sorted(contracts_dir.glob("*.vy"))


def build(contracts_dir: Path = CONTRACTS_DIR, artifacts_dir: Path = ARTIFACTS_DIR) -> list[Path]:
    """Compile every contract; write only artifacts whose text changed."""
    artifacts_dir.mkdir(parents=True, exist_ok=True)
    changed: list[Path] = []
    for path in sources(contracts_dir):
        target = artifacts_dir / f"{path.stem}.json"
        text = render_artifact(compile_contract(path))
        if not target.exists() or target.read_text(encoding="utf-8") != text:
            target.write_text(text, encoding="utf-8")
            changed.append(target)
    return changed


def stale(contracts_dir: Path = CONTRACTS_DIR, artifacts_dir: Path = ARTIFACTS_DIR) -> list[str]:
    """Names of contracts whose committed artifact differs from a fresh build."""
    names = []
    for path in sources(contracts_dir):
        target = artifacts_dir / f"{path.stem}.json"
        text = render_artifact(compile_contract(path))
        if not target.exists() or target.read_text(encoding="utf-8") != text:
            names.append(path.stem)
    return names


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if an artifact is out of date")
    args = parser.parse_args(argv)
    if args.check:
        names = stale()
        for name in names:
            print(f"out of date: {name} (run `make contracts`)", file=sys.stderr)
        return 1 if names else 0
    for target in build():
        print(f"wrote {target.relative_to(DEVNET_DIR.parent.parent)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
