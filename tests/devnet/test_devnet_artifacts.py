"""The committed artifacts are exactly what the committed sources compile to."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from apps.devnet import build_contracts, chain

SOURCES = build_contracts.sources()


def test_every_source_has_an_artifact_and_no_artifact_is_orphaned() -> None:
    assert SOURCES, "no contracts found"
    artifacts = sorted(p.stem for p in build_contracts.ARTIFACTS_DIR.glob("*.json"))
    assert artifacts == [p.stem for p in SOURCES]


@pytest.mark.parametrize("source", SOURCES, ids=[p.stem for p in SOURCES])
def test_artifact_is_up_to_date_with_its_source(source) -> None:
    vyper = pytest.importorskip("vyper")
    committed = chain.load_artifact(source.stem)
    text = source.read_text(encoding="utf-8")
    assert committed["source_sha256"] == build_contracts.source_sha256(text), (
        f"{source.name} changed since its artifact was built: run `make contracts`"
    )
    assert committed["compiler"] == f"vyper {vyper.__version__}", (
        f"artifact built with {committed['compiler']}, installed vyper {vyper.__version__}"
    )
    fresh = build_contracts.compile_contract(source)
    assert fresh["bytecode"] == committed["bytecode"], "stale bytecode: run `make contracts`"
    assert fresh["abi"] == committed["abi"], "stale ABI: run `make contracts`"


@pytest.mark.parametrize("source", SOURCES, ids=[p.stem for p in SOURCES])
def test_artifact_file_uses_the_stable_format(source) -> None:
    path = build_contracts.ARTIFACTS_DIR / f"{source.stem}.json"
    text = path.read_text(encoding="utf-8")
    artifact = json.loads(text)
    assert set(artifact) == {"contract", "compiler", "source_sha256", "abi", "bytecode"}
    assert artifact["contract"] == source.stem
    assert build_contracts.render_artifact(artifact) == text


def test_artifacts_load_without_the_compiler() -> None:
    # Runtime code must never need vyper: block its import and read artifacts.
    code = (
        "import sys; sys.modules['vyper'] = None; "
        "from apps.devnet import chain; "
        "assert chain.load_artifact('Multicall3')['bytecode'].startswith('0x')"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=chain.PROJECT_ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
