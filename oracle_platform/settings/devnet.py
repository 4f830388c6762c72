"""The devnet as a development tool: its app, pages and process settings.

Included by settings/local.py when OP_NETWORK=devnet (`make run`, the tests); production settings
never include it, so a production process neither installs nor routes the devnet (it may still
*read* a devnet's chains and simulators, which are plain configuration in base.py).
"""
from .base import INSTALLED_APPS, OP_STRIPE_PRICES, env

INSTALLED_APPS = [*INSTALLED_APPS, "apps.devnet"]

OP_DEVNET_CONTROL_PORT = env.int("OP_DEVNET_CONTROL_PORT", default=8555)
OP_DEVNET_CONTROL_URL = env.str(
    "OP_DEVNET_CONTROL_URL", default=f"http://127.0.0.1:{OP_DEVNET_CONTROL_PORT}"
)
OP_DEVNET_BLOCK_TIME = env.float("OP_DEVNET_BLOCK_TIME", default=1.0)
OP_DEVNET_HISTORY_DAYS = env.int("OP_DEVNET_HISTORY_DAYS", default=30)

# The local Stripe double (apps/devnet/stripe) stands in for Stripe on the devnet: the app talks
# to it and it signs its webhooks with these test secrets, unless the environment says otherwise.
OP_DEVNET_STRIPE_PORT = env.int("OP_DEVNET_STRIPE_PORT", default=12111)
OP_STRIPE_API_BASE = env.str("OP_STRIPE_API_BASE", default=f"http://127.0.0.1:{OP_DEVNET_STRIPE_PORT}")
OP_STRIPE_SECRET_KEY = env.str("OP_STRIPE_SECRET_KEY", default="sk_test_devnet")
OP_STRIPE_WEBHOOK_SECRET = env.str("OP_STRIPE_WEBHOOK_SECRET", default="whsec_devnet")
# price_pro_monthly, price_pro_yearly, price_pro_overage, price_enterprise_monthly, …
OP_STRIPE_PRICES = {key: value or f"price_{key}" for key, value in OP_STRIPE_PRICES.items()}
