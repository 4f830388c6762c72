"""Production: refuses to start without its secrets and services; `check --deploy` is clean."""
from django.core.exceptions import ImproperlyConfigured

from .base import *  # noqa: F403
from .base import DATABASES, LOGGING, REDIS_URL, env


def _require(name: str, value: object) -> None:
    if not value:
        raise ImproperlyConfigured(f"{name} must be set in the environment for production.")


DEBUG = False
SECRET_KEY = env.str("SECRET_KEY", default="")
_require("SECRET_KEY", SECRET_KEY)
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=[])
_require("ALLOWED_HOSTS", ALLOWED_HOSTS)
_require("DATABASE_URL", env.str("DATABASE_URL", default=""))
_require("REDIS_URL", REDIS_URL)
_require("OP_FIELD_ENCRYPTION_KEYS", env.list("OP_FIELD_ENCRYPTION_KEYS", default=[]))
_require("OP_SITE_URL", env.str("OP_SITE_URL", default=""))  # links in notifications
if DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql":
    raise ImproperlyConfigured("Production needs PostgreSQL: DATABASE_URL=postgres://…")

SECURE_SSL_REDIRECT = env.bool("OP_SECURE_SSL_REDIRECT", default=True)
# Load balancers probe over plain HTTP.
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$"]
if env.bool("OP_BEHIND_TLS_PROXY", default=True):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_HSTS_SECONDS = env.int("OP_HSTS_SECONDS", default=31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = True
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True

STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}

OP_LOG_FORMAT = env.str("OP_LOG_FORMAT", default="json")
LOGGING["handlers"]["console"]["formatter"] = OP_LOG_FORMAT
