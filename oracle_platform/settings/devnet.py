"""The devnet as a development tool: its app, pages and process settings.

Included by settings/local.py when OP_NETWORK=devnet (`make run`, the tests); production settings
never include it, so a production process neither installs nor routes the devnet (it may still
*read* a devnet's chains and simulators, which are plain configuration in base.py).
"""
from .base import INSTALLED_APPS, env

INSTALLED_APPS = [*INSTALLED_APPS, "apps.devnet"]

OP_DEVNET_CONTROL_PORT = env.int("OP_DEVNET_CONTROL_PORT", default=8555)
OP_DEVNET_CONTROL_URL = env.str(
    "OP_DEVNET_CONTROL_URL", default=f"http://127.0.0.1:{OP_DEVNET_CONTROL_PORT}"
)
OP_DEVNET_BLOCK_TIME = env.float("OP_DEVNET_BLOCK_TIME", default=1.0)
OP_DEVNET_HISTORY_DAYS = env.int("OP_DEVNET_HISTORY_DAYS", default=30)
