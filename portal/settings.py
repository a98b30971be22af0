"""Settings for the SonixNet customer portal.

This is the only module that reads the environment. Every variable is documented in README.md
("Configuration"). With nothing set, the portal runs on its embedded default: SQLite, a
local-memory cache, a Celery broker kept in files (no server), and the local Salesforce and
WHMCS emulators. Production sets ``DEBUG=false`` and must then provide ``SECRET_KEY`` and
``ALLOWED_HOSTS``; a missing secret stops the process at start-up instead of running insecurely.
"""

from datetime import timedelta
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = BASE_DIR / "var"

env = environ.Env()
if env.bool("DJANGO_READ_DOT_ENV_FILE", default=False):
    environ.Env.read_env(BASE_DIR / ".env")

# --- Core -------------------------------------------------------------------------------------

DEBUG = env.bool("DEBUG", default=False)

SECRET_KEY = env.str("SECRET_KEY", default="")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off.")
    # Development only: a fixed key keeps sessions valid across restarts of the embedded portal.
    SECRET_KEY = "django-insecure-development-key-never-used-when-debug-is-off"

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"] if DEBUG else [])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "django_celery_beat",
    "apps.accounts",
    "apps.catalog",
    "apps.checkout",
    "apps.verification",
    "apps.opportunities",
    "apps.notifications",
    "apps.integrations",
    "apps.console",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "portal.urls"
WSGI_APPLICATION = "portal.wsgi.application"

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
            ],
        },
    },
]

# --- Data -------------------------------------------------------------------------------------

DATABASES = {
    "default": env.db_url("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'portal.sqlite3'}"),
}
DATABASES["default"]["CONN_MAX_AGE"] = env.int("DATABASE_CONN_MAX_AGE", default=60)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
# Requests are not wrapped in a transaction: services own their transactions, so no request can
# hold one open across a Salesforce or WHMCS call.
DATABASES["default"]["ATOMIC_REQUESTS"] = False
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL and a busy timeout let web, worker, beat and the events subscriber share one file.
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 20,
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "accounts.User"

REDIS_URL = env.str("REDIS_URL", default="")

if REDIS_URL:
    CACHES = {
        "default": {
            # A Redis outage degrades to cache misses instead of failing requests (portal/cache.py).
            "BACKEND": "portal.cache.DegradingRedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "portal",
            "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 0.5},
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    # Residence cards and other customer documents: outside MEDIA_ROOT and with no base URL, so
    # no web server can ever serve them; staff views stream them after a permission check.
    "private": {"BACKEND": "portal.storage.PrivateMediaStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
PRIVATE_MEDIA_ROOT = Path(env.str("PRIVATE_MEDIA_ROOT", default=str(VAR_DIR / "private")))
MEDIA_ROOT = Path(env.str("MEDIA_ROOT", default=str(VAR_DIR / "media")))
MEDIA_URL = "/media/"
STATIC_ROOT = Path(env.str("STATIC_ROOT", default=str(BASE_DIR / "staticfiles")))
STATIC_URL = "/static/"

# --- Auth -------------------------------------------------------------------------------------

PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# --- Internationalisation ---------------------------------------------------------------------

LANGUAGE_CODE = "en"
LANGUAGES = [("en", _("English")), ("ja", _("Japanese"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Asia/Tokyo"
USE_I18N = True
USE_TZ = True

# --- Security ---------------------------------------------------------------------------------

SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=not DEBUG)
SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=not DEBUG)
CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=not DEBUG)
SESSION_COOKIE_HTTPONLY = True
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0 if DEBUG else 31_536_000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=not DEBUG)
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=not DEBUG)
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"

# --- REST API ---------------------------------------------------------------------------------

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["rest_framework.authentication.SessionAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "portal.exceptions.api_exception_handler",
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 20,
    "DEFAULT_THROTTLE_RATES": {
        "login": env.str("THROTTLE_LOGIN_RATE", default="10/min"),
        "signup": env.str("THROTTLE_SIGNUP_RATE", default="5/min"),
        "password_reset": env.str("THROTTLE_PASSWORD_RESET_RATE", default="5/hour"),
    },
}
SPECTACULAR_SETTINGS = {
    "TITLE": "SonixNet customer portal API",
    "DESCRIPTION": "The REST API behind the SonixNet customer portal.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
}

# --- Celery -----------------------------------------------------------------------------------
# https://docs.celeryq.dev/en/stable/userguide/configuration.html

if REDIS_URL:
    CELERY_BROKER_URL = REDIS_URL
    CELERY_BROKER_TRANSPORT_OPTIONS: dict[str, object] = {
        # A message taken by a worker that died (SIGKILL, a lost machine) goes to another worker
        # after this many seconds; keep it above the longest task (hard limits 270-300 s).
        "visibility_timeout": env.int("CELERY_BROKER_VISIBILITY_TIMEOUT", default=3600),
    }
else:
    # No server needed: the kombu filesystem transport passes messages through a folder, so a
    # real worker and beat still run as separate processes on the embedded default.
    _broker_dir = VAR_DIR / "celery-broker"
    for _folder in ("queue", "processed", "control"):
        (_broker_dir / _folder).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_URL = "filesystem://"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir / "queue"),
        "data_folder_out": str(_broker_dir / "queue"),
        "processed_folder": str(_broker_dir / "processed"),
        "control_folder": str(_broker_dir / "control"),
        "store_processed": False,
    }
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=False)
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = "UTC"
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_WORKER_HIJACK_ROOT_LOGGER = False

# Two queues. "salesforce" carries every task that talks to Salesforce (outbox delivery, catalog
# sync, Account reconciliation, case comment sync, order fulfillment, which starts by reading the Order), so a
# Salesforce outage or API-limit backoff cannot starve notification, billing and cleanup work on
# "default". A worker started without -Q consumes both (the embedded default and a small
# deployment); larger ones run `celery -A portal worker -Q default` and `-Q salesforce` apart.
CELERY_TASK_DEFAULT_QUEUE = "default"
CELERY_TASK_QUEUES = {
    "default": {"exchange": "default", "routing_key": "default"},
    "salesforce": {"exchange": "salesforce", "routing_key": "salesforce"},
}
CELERY_TASK_ROUTES = {
    "integrations.deliver_outbox": {"queue": "salesforce"},
    "integrations.sync_catalog": {"queue": "salesforce"},
    "integrations.reconcile_account_statuses": {"queue": "salesforce"},
    "checkout.fulfill_order": {"queue": "salesforce"},
    "integrations.sync_case_comments": {"queue": "salesforce"},
}
# Every task is idempotent (claimed rows, resumable steps, dedupe keys), so a task is acknowledged
# only after it finished and is redelivered if its worker dies mid-way, instead of being lost.
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
# One message at a time per process: with late acks a prefetched message would wait behind a slow
# Salesforce or WHMCS call instead of going to an idle worker.
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# Defaults for every task (long jobs set their own): the soft limit raises inside the task so it
# can stop cleanly, the hard limit kills it. The hard limit stays below the outbox's 5-minute
# claim (so a claimed entry is never delivered twice) and the broker's visibility timeout.
CELERY_TASK_SOFT_TIME_LIMIT = env.int("CELERY_TASK_SOFT_TIME_LIMIT", default=240)
CELERY_TASK_TIME_LIMIT = env.int("CELERY_TASK_TIME_LIMIT", default=270)
# Task logs name the Salesforce and WHMCS records involved, in the message and as ``extra`` fields
# (salesforce_order_id, salesforce_account_id, whmcs_client_id, whmcs_order_id, ...) that
# portal.logging.ContextFormatter renders as key=value; credentials never reach a log line.

# --- Salesforce -------------------------------------------------------------------------------
# Defaults point at the local emulator (``manage.py run_emulators``); see README "Real systems".

EMULATOR_DIR = Path(env.str("EMULATOR_DIR", default=str(VAR_DIR / "emulators")))
SALESFORCE = {
    "LOGIN_URL": env.str("SF_LOGIN_URL", default="https://127.0.0.1:8701"),
    "CLIENT_ID": env.str("SF_CLIENT_ID", default="portal-emulator-consumer-key"),
    "USERNAME": env.str("SF_USERNAME", default="integration@portal.emulator"),
    "PRIVATE_KEY_PATH": env.str("SF_PRIVATE_KEY_PATH", default=str(EMULATOR_DIR / "jwt-private-key.pem")),
    "PRIVATE_KEY_BASE64": env.str("SF_PRIVATE_KEY_BASE64", default=""),
    "API_VERSION": env.str("SF_API_VERSION", default="59.0"),
    # A CA bundle for TLS verification; empty means the system store (real Salesforce).
    "CA_BUNDLE": env.str("SF_CA_BUNDLE", default=str(EMULATOR_DIR / "ca.pem")),
    "TIMEOUT_SECONDS": env.float("SF_TIMEOUT_SECONDS", default=15.0),
    "PUBSUB_ENDPOINT": env.str("SF_PUBSUB_ENDPOINT", default="127.0.0.1:8702"),
    "ACCOUNT_EVENT_CHANNEL": env.str(
        "SF_ACCOUNT_EVENT_CHANNEL", default="/event/Account_Internet_Eligibility_Update__e"
    ),
    "ORDER_PROVISION_EVENT_CHANNEL": env.str(
        "SF_ORDER_PROVISION_EVENT_CHANNEL", default="/event/OrderProvisionRequested__e"
    ),
    # Per-org differences in field or picklist names, as JSON (see apps/integrations/salesforce/field_map.py).
    "FIELD_MAP_OVERRIDES": env.json("SF_FIELD_MAP_OVERRIDES", default={}),
}
SALESFORCE_EMULATOR = {
    "HOST": env.str("SF_EMULATOR_HOST", default="127.0.0.1"),
    "HTTP_PORT": env.int("SF_EMULATOR_HTTP_PORT", default=8701),
    "GRPC_PORT": env.int("SF_EMULATOR_GRPC_PORT", default=8702),
    "STATE_FILE": env.str("SF_EMULATOR_STATE_FILE", default=str(EMULATOR_DIR / "salesforce-state.json")),
}

# --- WHMCS ------------------------------------------------------------------------------------

WHMCS = {
    "API_URL": env.str("WHMCS_API_URL", default="http://127.0.0.1:8703/includes/api.php"),
    "IDENTIFIER": env.str("WHMCS_API_IDENTIFIER", default="portal-emulator-identifier"),
    "SECRET": env.str("WHMCS_API_SECRET", default="portal-emulator-secret"),
    "ACCESS_KEY": env.str("WHMCS_ACCESS_KEY", default=""),
    "PAYMENT_METHOD": env.str("WHMCS_PAYMENT_METHOD", default="mailin"),
    "TIMEOUT_SECONDS": env.float("WHMCS_TIMEOUT_SECONDS", default=30.0),
}
WHMCS_EMULATOR = {
    "HOST": env.str("WHMCS_EMULATOR_HOST", default="127.0.0.1"),
    "PORT": env.int("WHMCS_EMULATOR_PORT", default=8703),
    "STATE_FILE": env.str("WHMCS_EMULATOR_STATE_FILE", default=str(EMULATOR_DIR / "whmcs-state.json")),
}

# --- Portal rules -----------------------------------------------------------------------------

# Where customers' browsers reach the portal front end (links in emails point here).
PORTAL_FRONTEND_URL = env.str("PORTAL_FRONTEND_URL", default="http://127.0.0.1:8000").rstrip("/")

NOTIFICATION_RETENTION = timedelta(days=env.int("NOTIFICATION_RETENTION_DAYS", default=30))
RESIDENCE_CARD_MAX_BYTES = env.int("RESIDENCE_CARD_MAX_BYTES", default=10 * 1024 * 1024)
INTERNET_ORDERS_REQUIRE_ID_VERIFICATION = env.bool("INTERNET_ORDERS_REQUIRE_ID_VERIFICATION", default=False)
CATALOG_CACHE_SECONDS = env.int("CATALOG_CACHE_SECONDS", default=300)
# Each customer's dashboard payload, dropped by every write that changes it
# (apps/accounts/dashboard_cache.py). Only with a cache all processes share: off without Redis.
DASHBOARD_CACHE_SECONDS = env.int("DASHBOARD_CACHE_SECONDS", default=30 if REDIS_URL else 0)
# Sign-ins within this window reach Salesforce as one Portal_Last_SignIn__c update.
SIGN_IN_STAMP_COALESCE_SECONDS = env.int("SIGN_IN_STAMP_COALESCE_SECONDS", default=300)

# --- Email and logging ------------------------------------------------------------------------

EMAIL_CONFIG = env.email_url("EMAIL_URL", default="consolemail://")
vars().update(EMAIL_CONFIG)
DEFAULT_FROM_EMAIL = env.str(
    "DEFAULT_FROM_EMAIL", default="SonixNet Portal <no-reply@portal.sonixnet.example>"
)

LOG_LEVEL = env.str("LOG_LEVEL", default="INFO")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {
            "()": "portal.logging.ContextFormatter",
            "format": "%(asctime)s %(levelname)s %(name)s %(message)s",
        },
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
    },
}
