"""Settings shared by every environment.

Everything that differs between machines comes from the environment; the README's
settings table is the contract. Project settings use the `OP_` prefix.
"""
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import environ

from oracle_platform.schedule import celery_beat_schedule, periodic_tasks

BASE_DIR = Path(__file__).resolve().parent.parent.parent

env = environ.Env()

DEBUG = env.bool("DEBUG", default=False)
SECRET_KEY = env.str("SECRET_KEY", default="")
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=[])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_celery_beat",
    "django_htmx",
    "allauth",
    "allauth.account",
    "oracle_platform",
    "apps.common",
    "apps.audit",
    "apps.accounts",
    "apps.feeds",
    "apps.protocols",
    "apps.api_keys",
    "apps.billing",
    "apps.alerts",
    "apps.api",
    "apps.dashboard",
    "apps.status",
]  # the devnet's app is added by settings/devnet.py, on the devnet only

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "apps.accounts.middleware.CurrentOrganizationMiddleware",
    "apps.audit.middleware.AuditContextMiddleware",
    "apps.api_keys.middleware.ApiMiddleware",
]

ROOT_URLCONF = "oracle_platform.urls"
WSGI_APPLICATION = "oracle_platform.wsgi.application"
ASGI_APPLICATION = "oracle_platform.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "oracle_platform.context_processors.site",
                "apps.accounts.context_processors.organizations",
                "apps.billing.context_processors.billing",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------------------------
# DATABASE_URL unset: SQLite in WAL mode in the project folder, so a newcomer needs nothing;
# one file per network, so devnet and mainnet observations never mix.
OP_NETWORK = env.str("OP_NETWORK", default="devnet")
_SQLITE_FILE = "db.sqlite3" if OP_NETWORK == "devnet" else f"db-{OP_NETWORK}.sqlite3"
DATABASES = {
    "default": env.db_url("DATABASE_URL", default=f"sqlite:///{BASE_DIR / _SQLITE_FILE}"),
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["OPTIONS"] = {
        # WAL lets the web process read while the scheduler writes; IMMEDIATE avoids
        # "database is locked" on lock upgrades inside write transactions.
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
    }
else:
    DATABASES["default"]["CONN_MAX_AGE"] = env.int("OP_DB_CONN_MAX_AGE", default=60)
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Redis: cache, channel layer, Celery broker ------------------------------------------------
REDIS_URL = env.str("REDIS_URL", default="")
if REDIS_URL:
    CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}
    }
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {"hosts": [REDIS_URL], "capacity": 1000, "expiry": 30},
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}

CELERY_BROKER_URL = REDIS_URL or "memory://"
CELERY_RESULT_BACKEND = None
CELERY_TASK_IGNORE_RESULT = True
CELERY_TIMEZONE = "UTC"
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BEAT_SCHEDULER = "oracle_platform.beat:Scheduler"  # django-celery-beat's, sub-second exact

# Where queued work runs: "celery" (production), or "background" (a thread of this process:
# `serve` sets it, since no worker runs there). OP_RUN_TASKS_INLINE (the default without a
# broker, and in tests) runs it right where it arises.
OP_TASKS_MODE = env.str("OP_TASKS_MODE", default="celery")
OP_RUN_TASKS_INLINE = env.bool("OP_RUN_TASKS_INLINE", default=not REDIS_URL)
# The in-process scheduler runs the same periodic task functions inside `manage.py serve`.
OP_SCHEDULER_ENABLED = env.bool("OP_SCHEDULER_ENABLED", default=True)

# --- Auth and accounts --------------------------------------------------------------------------
AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "overview"
ACCOUNT_LOGOUT_REDIRECT_URL = "home"
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*", "password2*"]
ACCOUNT_FORMS = {"signup": "apps.billing.forms.PlanSignupForm"}  # start on Free or a paid plan
ACCOUNT_USER_MODEL_USERNAME_FIELD = None
ACCOUNT_UNIQUE_EMAIL = True
ACCOUNT_EMAIL_VERIFICATION = env.str("OP_EMAIL_VERIFICATION", default="optional")
ACCOUNT_LOGIN_ON_EMAIL_CONFIRMATION = True
ACCOUNT_SESSION_REMEMBER = None
ACCOUNT_LOGOUT_ON_PASSWORD_CHANGE = False
# PriceObservation's unique (feed, source_ts, round_id) needs NULLS NOT DISTINCT, which
# SQLite lacks; migration feeds.0002 gives SQLite an equivalent COALESCE index instead.
SILENCED_SYSTEM_CHECKS = ["models.W047"]
ACCOUNT_RATE_LIMITS = {"login_failed": "10/m/ip,5/5m/key"}
OP_INVITATION_TTL_DAYS = env.int("OP_INVITATION_TTL_DAYS", default=7)

EMAIL_CONFIG = env.email_url("EMAIL_URL", default="consolemail://")
vars().update(EMAIL_CONFIG)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="Oracle Platform <noreply@localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# --- Observations ---------------------------------------------------------------------------------
# Monthly partitions are created on demand for months in [earliest, now + months ahead];
# a source timestamp outside that window is implausible and lands in the DEFAULT partition,
# which `manage.py check` reports.
OP_PARTITION_EARLIEST = date.fromisoformat(env.str("OP_PARTITION_EARLIEST", default="2015-01-01"))
OP_PARTITION_MONTHS_AHEAD = env.int("OP_PARTITION_MONTHS_AHEAD", default=2)

# --- Status and consensus ------------------------------------------------------------------------
OP_STATUS_MIN_GRACE_SECONDS = env.float("OP_STATUS_MIN_GRACE_SECONDS", default=10.0)
OP_CONSENSUS_OUTLIER_BPS = Decimal(env.str("OP_CONSENSUS_OUTLIER_BPS", default="100"))
OP_INGESTION_DELAY_SECONDS = env.float("OP_INGESTION_DELAY_SECONDS", default=30.0)
OP_WS_MAX_CONNECTIONS_PER_USER = env.int("OP_WS_MAX_CONNECTIONS_PER_USER", default=10)
OP_HEALTH_WINDOW_SECONDS = env.int("OP_HEALTH_WINDOW_SECONDS", default=3600)
# A pair's cached state older than this is recomputed by a periodic task even without new
# prices, so statuses age (late, stale, down) and alerts see it.
OP_STATE_MAX_AGE_SECONDS = env.float("OP_STATE_MAX_AGE_SECONDS", default=10.0)

# --- Public API -----------------------------------------------------------------------------------
# Stored API keys are HMAC-SHA256'd under this key (SECRET_KEY when empty); changing it voids
# every key.
OP_API_KEY_SECRET = env.str("OP_API_KEY_SECRET", default="")
OP_API_KEY_ROTATION_GRACE_HOURS = env.int("OP_API_KEY_ROTATION_GRACE_HOURS", default=24)
# How long an instance trusts its own memory of a key; revocations reach every instance at once
# through the throttle's Redis script anyway.
OP_API_KEY_CACHE_SECONDS = env.float("OP_API_KEY_CACHE_SECONDS", default=30.0)
OP_API_MAX_PAGE_SIZE = env.int("OP_API_MAX_PAGE_SIZE", default=500)
OP_WS_HEARTBEAT_SECONDS = env.float("OP_WS_HEARTBEAT_SECONDS", default=20.0)

# --- Alerts, channels and webhooks (apps/alerts) ---------------------------------------------
# Where this instance is reached from outside: links in notifications (incident, acknowledge).
OP_SITE_URL = env.str("OP_SITE_URL", default="http://127.0.0.1:8000")
# Tenants' secrets (webhook signing secrets, channel tokens) are encrypted at rest with these
# Fernet keys: the first encrypts, all decrypt (rotation). Empty: derived from SECRET_KEY, which
# production refuses.
OP_FIELD_ENCRYPTION_KEYS = env.list("OP_FIELD_ENCRYPTION_KEYS", default=[])
# User-supplied outbound URLs (webhooks, Slack, generic) may not reach private, loopback or
# link-local addresses, except these hosts (tests, the devnet's local receivers).
# On the devnet (a developer's machine) local receivers are the point, so loopback is allowed.
OP_OUTBOUND_ALLOWED_HOSTS = env.list(
    "OP_OUTBOUND_ALLOWED_HOSTS",
    default=["127.0.0.1", "localhost"] if OP_NETWORK == "devnet" else [])
OP_OUTBOUND_TIMEOUT = env.float("OP_OUTBOUND_TIMEOUT", default=5.0)
# An endpoint failing this long (no success in between) is disabled and its org told by email.
OP_WEBHOOK_DISABLE_AFTER_HOURS = env.float("OP_WEBHOOK_DISABLE_AFTER_HOURS", default=24.0)
# Vendor endpoints of the Telegram and PagerDuty transports (apps/alerts/transports). Tests and
# the devnet point them at local receivers (whose host must then be in OP_OUTBOUND_ALLOWED_HOSTS).
OP_TELEGRAM_API_URL = env.str("OP_TELEGRAM_API_URL", default="https://api.telegram.org")
OP_PAGERDUTY_EVENTS_URL = env.str("OP_PAGERDUTY_EVENTS_URL",
                                  default="https://events.pagerduty.com/v2/enqueue")
# --- Status page and availability probe (apps/status) ----------------------------------------
# Where the probe calls the API and the WebSocket API from outside, every 60 s (docs/sla.md):
# this instance's public URL unless the probe must take another way in.
OP_STATUS_PROBE_URL = env.str("OP_STATUS_PROBE_URL", default=OP_SITE_URL)
OP_STATUS_PROBE_TIMEOUT = env.float("OP_STATUS_PROBE_TIMEOUT", default=10.0)
OP_STATUS_PROBE_RETENTION_DAYS = env.int("OP_STATUS_PROBE_RETENTION_DAYS", default=400)

# --- Plans and billing (apps/billing) -------------------------------------------------------
# Every plan's limits are defined in apps/billing/plans.py; this overrides any of them, per plan:
# {"pro": {"alert_rules": 200, "members": null}} (null: unlimited). The README names every key.
OP_TIER_LIMITS = env.json("OP_TIER_LIMITS", default={})
# False: no Stripe. Pricing and checkout are hidden, the operator assigns plans (the admin,
# `manage.py set_plan`), and every limit still applies.
OP_BILLING_ENABLED = env.bool("OP_BILLING_ENABLED", default=True)
# Stripe: the API base (Stripe itself unless a double stands in), the secret key and the webhook
# endpoint's signing secret. Secrets come only from the environment.
OP_STRIPE_API_BASE = env.str("OP_STRIPE_API_BASE", default="https://api.stripe.com")
OP_STRIPE_SECRET_KEY = env.str("OP_STRIPE_SECRET_KEY", default="")
OP_STRIPE_WEBHOOK_SECRET = env.str("OP_STRIPE_WEBHOOK_SECRET", default="")
OP_STRIPE_WEBHOOK_TOLERANCE = env.int("OP_STRIPE_WEBHOOK_TOLERANCE", default=300)
OP_STRIPE_TIMEOUT = env.float("OP_STRIPE_TIMEOUT", default=10.0)
# Stripe Price ids per plan and interval (OP_STRIPE_PRICE_PRO_MONTHLY, ..._YEARLY), and the
# metered Price of each paid plan's overage (OP_STRIPE_PRICE_PRO_OVERAGE).
OP_STRIPE_PRICES = {
    f"{plan}_{interval}": env.str(f"OP_STRIPE_PRICE_{plan.upper()}_{interval.upper()}", default="")
    for plan in ("pro", "enterprise") for interval in ("monthly", "yearly", "overage")
}
# The Billing Meter's event name that overage is reported under.
OP_STRIPE_METER_EVENT = env.str("OP_STRIPE_METER_EVENT", default="api_requests")
# Stripe Tax on checkout and invoices (needs Stripe Tax set up in the Stripe account).
OP_STRIPE_TAX = env.bool("OP_STRIPE_TAX", default=False)
# Dunning: a past-due subscription keeps its plan this long, then the organization is on Free.
OP_BILLING_GRACE_DAYS = env.int("OP_BILLING_GRACE_DAYS", default=7)
# SLA credits for enterprise organizations: [availability below (%), credit (% of the month's
# fee)], checked from the strictest down.
OP_SLA_TARGET = Decimal(env.str("OP_SLA_TARGET", default="99.9"))
OP_SLA_CREDIT_TIERS = env.json("OP_SLA_CREDIT_TIERS", default=[["99.9", "10"], ["99.0", "25"]])

# --- Internationalisation and time ----------------------------------------------------------------
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# --- Static files ---------------------------------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}

REST_FRAMEWORK = {
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "DEFAULT_AUTHENTICATION_CLASSES": ["apps.api_keys.authentication.PrincipalAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["apps.api_keys.authentication.ScopePermission"],
    "DEFAULT_PAGINATION_CLASS": "apps.common.api.CursorPagination",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "apps.common.api.exception_handler",
    "UNAUTHENTICATED_USER": None,
    "COERCE_DECIMAL_TO_STRING": True,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Oracle Platform API",
    "DESCRIPTION": "Prices, consensus, deviation and health across oracle protocols. Send your "
                   "key as `Authorization: Bearer <key>` or `X-API-Key`. Prices are strings; "
                   "times are ISO-8601 UTC; errors are `{\"error\": {\"code\", \"message\", "
                   "\"details\"}}`.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SCHEMA_PATH_PREFIX": "/api/v1",
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "ENUM_NAME_OVERRIDES": {"FeedStatusEnum": "apps.feeds.status.FeedStatus"},
}

# --- Chains, and where the devnet serves them (`manage.py devnet`; settings/devnet.py) ---------
# Public JSON-RPC ports per chain (behind the fault-injecting proxy); anvil listens on +100.
OP_DEVNET_CHAINS = {
    "ethereum": {"chain_id": 1, "port": env.int("OP_DEVNET_ETHEREUM_PORT", default=8545)},
    "arbitrum": {"chain_id": 42161, "port": env.int("OP_DEVNET_ARBITRUM_PORT", default=8546)},
}

# --- Reading chains ------------------------------------------------------------------------------
# OP_RPC_URL_<CHAIN> per chain; on the devnet they default to the devnet's proxies.
OP_RPC_URLS = {
    slug: env.str(
        f"OP_RPC_URL_{slug.upper()}",
        default=f"http://127.0.0.1:{chain['port']}" if OP_NETWORK == "devnet" else "",
    )
    for slug, chain in OP_DEVNET_CHAINS.items()
}
OP_RPC_TIMEOUT = env.float("OP_RPC_TIMEOUT", default=5.0)
OP_RPC_RETRIES = env.int("OP_RPC_RETRIES", default=2)
OP_MULTICALL_CHUNK = env.int("OP_MULTICALL_CHUNK", default=100)

# --- The sync engine ------------------------------------------------------------------------------
OP_SYNC_INTERVAL = env.float("OP_SYNC_INTERVAL", default=1.0)  # off-chain protocols' polls
# How often a chain is asked for a new block; a tick reads feeds only when there is one, else
# it is one eth_blockNumber. Sub-second on the devnet (local, free); mind RPC plans on mainnet.
OP_CHAIN_POLL_INTERVAL = env.float("OP_CHAIN_POLL_INTERVAL",
                                   default=0.25 if OP_NETWORK == "devnet" else 1.0)
OP_SYNC_FEED_REFRESH = env.float("OP_SYNC_FEED_REFRESH", default=30.0)
OP_SYNC_RUN_RETENTION_HOURS = env.int("OP_SYNC_RUN_RETENTION_HOURS", default=24)
# Pyth's signed updates (~17 kB a second for 70 feeds) are kept this long for re-verification.
OP_SIGNED_PAYLOAD_RETENTION_HOURS = env.int("OP_SIGNED_PAYLOAD_RETENTION_HOURS", default=6)
OP_MAX_JUMP_BPS = env.int("OP_MAX_JUMP_BPS", default=5000)
OP_STALE_BEYOND_HEARTBEATS = env.int("OP_STALE_BEYOND_HEARTBEATS", default=100)
OP_BREAKER_FAILURES = env.int("OP_BREAKER_FAILURES", default=5)
OP_BREAKER_COOLDOWN = env.float("OP_BREAKER_COOLDOWN", default=30.0)
OP_BACKFILL_LOG_BLOCKS = env.int("OP_BACKFILL_LOG_BLOCKS", default=2000)  # eth_getLogs window

# --- Off-chain oracle APIs (devnet: the devnet's simulators; mainnet: the real services) -------
OP_DEVNET_HTTP_PORTS = {"pyth": 8560, "redstone": 8561, "switchboard": 8562, "dia": 8563,
                        "band": 8564}
_MAINNET_APIS = {
    "pyth": "https://hermes.pyth.network",
    "redstone": "https://oracle-gateway-1.a.redstone.finance",
    "switchboard": "https://crossbar.switchboard.xyz",
    "dia": "https://api.diadata.org",
    "band": "https://laozi1.bandchain.org/api",
}


def _api_url(protocol: str) -> str:
    if OP_NETWORK == "devnet":
        return f"http://127.0.0.1:{OP_DEVNET_HTTP_PORTS[protocol]}"
    return _MAINNET_APIS[protocol]


OP_PYTH_HERMES_URL = env.str("OP_PYTH_HERMES_URL", default=_api_url("pyth"))
# Hermes needs a Bearer API key since 2026-08; the devnet's Hermes asks for this one too.
OP_PYTH_API_KEY = env.str("OP_PYTH_API_KEY",
                          default="devnet-hermes-key" if OP_NETWORK == "devnet" else "")
# Whose Wormhole guardians sign Pyth updates: "mainnet" (the shipped sets) or "devnet".
OP_PYTH_GUARDIANS = env.str("OP_PYTH_GUARDIANS",
                            default="devnet" if OP_NETWORK == "devnet" else "mainnet")
DEVNET_WORMHOLE_GUARDIANS = [
    "0xbeE019Dc2EF2136Df0FBBAf83514b1f84a8aF105", "0xbdEBafB391727F783928D198B91376d7aD9C49c5",
    "0x4640d79fA71CCfB63BD8dE49A646302aDF5Ceaf3", "0xC571D1A779933915252212E8DA5405C4eCE54Cf3",
    "0xdb45ffd953c8D943a0B1a3c5FE24C43665b113Ab",
]
OP_REDSTONE_GATEWAY_URL = env.str("OP_REDSTONE_GATEWAY_URL", default=_api_url("redstone"))
OP_SWITCHBOARD_CROSSBAR_URL = env.str("OP_SWITCHBOARD_CROSSBAR_URL",
                                      default=_api_url("switchboard"))
OP_DIA_API_URL = env.str("OP_DIA_API_URL", default=_api_url("dia"))
OP_BAND_REST_URL = env.str("OP_BAND_REST_URL", default=_api_url("band"))
# RedStone: packages must come from this many distinct authorised signers, no older than this.
# The signers default to RedStone's registry for the data service (shipped with the code); on
# the devnet, to the devnet gateway's own keys.
DEVNET_REDSTONE_SIGNERS = [
    "0x5Bbe13f1a24e427465B88D422213B75Df5A9a092", "0x57C1e566648561Ef82b095878e238213238a429A",
    "0x4445f396A3be8470e7F03fD9079dB1e03771ac64", "0x768F108f54D144EA4B693992ef42d297c3A4C8c1",
    "0x4C6da1bd85F053518705cc90FbAe48A27b8cB449",
]
OP_REDSTONE_SIGNERS = env.list(
    "OP_REDSTONE_SIGNERS", default=DEVNET_REDSTONE_SIGNERS if OP_NETWORK == "devnet" else []
)
OP_REDSTONE_SIGNER_THRESHOLD = env.int("OP_REDSTONE_SIGNER_THRESHOLD", default=3)
OP_REDSTONE_MAX_AGE = env.int("OP_REDSTONE_MAX_AGE", default=180)  # seconds
OP_STREAM_READ_TIMEOUT = env.float("OP_STREAM_READ_TIMEOUT", default=30.0)  # silence = dead
OP_STREAM_MAX_BACKOFF = env.float("OP_STREAM_MAX_BACKOFF", default=30.0)
OP_STREAM_BACKFILL_SECONDS = env.int("OP_STREAM_BACKFILL_SECONDS", default=300)
OP_STREAMS = env.list("OP_STREAMS", default=["pyth"])  # run by `serve` / `manage.py stream`
OP_HTTP_TIMEOUT = env.float("OP_HTTP_TIMEOUT", default=5.0)
OP_HTTP_RETRIES = env.int("OP_HTTP_RETRIES", default=2)
OP_HTTP_MAX_RETRY_WAIT = env.float("OP_HTTP_MAX_RETRY_WAIT", default=5.0)

# Chronicle whitelists its readers: the platform reads with eth_call from this address
# ("OraclePlatformReader" in ASCII), which must be kissed (the devnet does it).
OP_CHRONICLE_READER = env.str(
    "OP_CHRONICLE_READER", default="0x4f7261636c65506c6174666f726d526561646572"
)

# --- Logging --------------------------------------------------------------------------------------
OP_LOG_FORMAT = env.str("OP_LOG_FORMAT", default="text")
OP_LOG_LEVEL = env.str("OP_LOG_LEVEL", default="INFO")
LOGGING: dict[str, Any] = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "text": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"},
        "json": {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "fmt": "%(asctime)s %(levelname)s %(name)s %(message)s",
            "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"},
        },
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": OP_LOG_FORMAT}},
    "root": {"handlers": ["console"], "level": OP_LOG_LEVEL},
    "loggers": {
        "django.db.backends": {"level": "INFO"},
        "celery": {"level": "INFO"},
    },
}

# --- Periodic work (Celery beat in production, the in-process scheduler under `serve`) ----------
# Each chain is polled every OP_CHAIN_POLL_INTERVAL seconds and each off-chain protocol every
# OP_SYNC_INTERVAL seconds, or OP_SYNC_INTERVAL_<CHAIN or PROTOCOL>.
# Pyth's REST tick is only the safety net of its stream.
OP_SYNC_INTERVALS = {
    slug: env.float(f"OP_SYNC_INTERVAL_{slug.upper().replace('-', '_')}",
                    default=OP_CHAIN_POLL_INTERVAL if slug in OP_RPC_URLS
                    else 10.0 if slug == "pyth" else OP_SYNC_INTERVAL)
    for slug in [*OP_RPC_URLS, *OP_DEVNET_HTTP_PORTS]
}
OP_PERIODIC_TASKS = periodic_tasks(
    {slug: OP_SYNC_INTERVALS[slug] for slug in OP_RPC_URLS},
    {slug: OP_SYNC_INTERVALS[slug] for slug in OP_DEVNET_HTTP_PORTS},
)
CELERY_BEAT_SCHEDULE = celery_beat_schedule(OP_PERIODIC_TASKS)

# --- Raw observation retention (apps/feeds/retention.py; OHLC rollups are kept) -----------------
# Raw observations older than this many days are deleted hourly (0 keeps them forever):
# PostgreSQL drops whole monthly partitions, then deletes the rest in batches.
OP_OBSERVATION_RETENTION_DAYS = env.int("OP_OBSERVATION_RETENTION_DAYS", default=30)
OP_OBSERVATION_PRUNE_BATCH = env.int("OP_OBSERVATION_PRUNE_BATCH", default=10_000)
OP_OBSERVATION_PRUNE_MAX_ROWS = env.int("OP_OBSERVATION_PRUNE_MAX_ROWS", default=2_000_000)
# 1-minute OHLC bars older than this many days are deleted by the same hourly job (0 keeps them);
# hourly and daily bars are kept forever, and history of older spans uses hourly bars.
OP_MINUTE_BAR_RETENTION_DAYS = env.int("OP_MINUTE_BAR_RETENTION_DAYS", default=90)
