"""Local development and tests: works with no environment variables at all."""
from .base import *  # noqa: F403
from .base import OP_NETWORK, env

DEBUG = env.bool("DEBUG", default=True)
SECRET_KEY = env.str("SECRET_KEY", default="local-development-key-not-for-production")
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "testserver"])

# Serve static files straight from static/ without collectstatic.
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = DEBUG

if OP_NETWORK == "devnet":
    from .devnet import *  # noqa: F403
