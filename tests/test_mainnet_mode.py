"""OP_NETWORK=mainnet: the same code, other configuration — its own database file, no devnet
RPC defaults, and RPC URLs only from OP_RPC_URL_<CHAIN>."""
import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PRINT = ("import json; from django.conf import settings; print(json.dumps({"
         "'rpc': settings.OP_RPC_URLS, 'db': str(settings.DATABASES['default']['NAME'])}))")


def settings_for(**env: str) -> dict:
    base = {k: v for k, v in os.environ.items()
            if not k.startswith("OP_") and k not in {"DATABASE_URL", "REDIS_URL"}}
    result = subprocess.run(
        [sys.executable, "manage.py", "shell", "-v", "0", "-c", PRINT], cwd=ROOT,
        env={**base, **env}, capture_output=True, text=True, timeout=60, check=True,
    )
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_devnet_is_the_default_and_reads_the_local_proxies():
    found = settings_for()
    assert found["rpc"] == {"ethereum": "http://127.0.0.1:8545",
                            "arbitrum": "http://127.0.0.1:8546"}
    assert found["db"].endswith("db.sqlite3")


def test_mainnet_reads_only_configured_chains_from_its_own_database():
    found = settings_for(OP_NETWORK="mainnet", OP_RPC_URL_ETHEREUM="https://eth.example/rpc")
    assert found["rpc"] == {"ethereum": "https://eth.example/rpc", "arbitrum": ""}
    assert found["db"].endswith("db-mainnet.sqlite3")
