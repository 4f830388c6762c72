"""The import-linter contracts (pyproject.toml) name every app: a new app cannot slip past the
layers or the ban on production importing the development tools."""
import tomllib
from pathlib import Path

from django.conf import settings

ROOT = Path(__file__).resolve().parent.parent
DEVELOPMENT_TOOLS = {"apps.devnet"}


def contracts() -> dict[str, dict]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]
    return {contract["type"]: contract for contract in config["contracts"]}


def our_apps() -> set[str]:
    return {app for app in settings.INSTALLED_APPS if app.startswith("apps.")} - DEVELOPMENT_TOOLS


def test_every_app_has_its_layer():
    layered = {name.strip() for layer in contracts()["layers"]["layers"]
               for name in layer.split("|")}
    assert our_apps() <= layered, our_apps() - layered


def test_every_app_is_forbidden_the_development_tools():
    forbidden = contracts()["forbidden"]
    assert our_apps() <= set(forbidden["source_modules"])
    assert set(forbidden["forbidden_modules"]) == DEVELOPMENT_TOOLS | {"benchmarks"}
