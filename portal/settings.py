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
from csp.constants import NONCE, NONE, SELF
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
    # django.contrib.admin, with the console's admin site (a second factor for staff).
    "apps.console.admin_app.ConsoleAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "csp",
    "django_celery_beat",
    "apps.accounts.apps.SignInLockoutsConfig",  # django-axes
    "django_otp",
    "django_otp.plugins.otp_totp",
    "apps.accounts",
    "apps.catalog",
    "apps.checkout",
    "apps.verification",
    "apps.opportunities",
    "apps.notifications",
    "apps.billing",
    "apps.integrations",
    "apps.idempotency",
    "apps.console",
    "apps.web",
]

MIDDLEWARE = [
    # First, so that its header reaches every response, even those other middleware answer.
    "csp.middleware.CSPMiddleware",
    # Names the request (X-Request-ID) for its response, its error body and its log lines.
    "portal.request_id.RequestIdMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    # Django's, with the signed-in user read from the shared cache (apps/accounts/user_cache.py).
    "apps.accounts.user_cache.CachedUserAuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last: turns a lockout flagged during the view into its response (apps/accounts/security.py).
    "axes.middleware.AxesMiddleware",
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
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # Prepared statements, for the few hot reads sent through portal/prepared.py (the dashboard's
    # read of the partitioned notifications). Django turns psycopg's preparation off; its own
    # cursors bind values on the client and are never prepared, so only those reads are. A
    # prepared statement gets one generic plan for any value, instead of five custom plans first.
    _pg_options = DATABASES["default"].setdefault("OPTIONS", {})
    _pg_options.setdefault("prepare_threshold", 5)
    _pg_options["options"] = f"{_pg_options.get('options', '')} -c plan_cache_mode=force_generic_plan".strip()
elif DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
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
    "apps.accounts.hashers.OwaspArgon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# Axes first: it refuses a locked-out sign-in before the password is even checked.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]

# Failed sign-ins (the admin and the customer API, both through authenticate()) lock out an email
# address *from one client address* (django-axes): an attacker elsewhere cannot lock a customer
# out, and the API throttles (apps/accounts/api/throttles.py) bound guesses per email from many
# addresses. Supervisors see and lift lockouts in the console (Axes: access attempts).
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("AXES_COOLOFF_MINUTES", default=15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_ENABLE_ACCESS_FAILURE_LOG = True
AXES_USERNAME_FORM_FIELD = "username"
AXES_USERNAME_CALLABLE = "apps.accounts.security.axes_username"
AXES_CLIENT_IP_CALLABLE = "apps.accounts.security.client_address"
AXES_LOCKOUT_CALLABLE = "apps.accounts.security.lockout_response"

# Staff sign in to the console with a TOTP code as well (django-otp; apps/console/sites.py).
STAFF_REQUIRE_2FA = env.bool("STAFF_REQUIRE_2FA", default=not DEBUG)
OTP_TOTP_ISSUER = "SonixNet agent console"

# --- Internationalisation ---------------------------------------------------------------------

LANGUAGE_CODE = "en"
LANGUAGES = [("en", _("English")), ("ja", _("Japanese"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Asia/Tokyo"
USE_I18N = True
USE_TZ = True

# --- Security ---------------------------------------------------------------------------------

SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
# Proxies in front of the app that append to X-Forwarded-For: the client is the entry that many
# places from the right. 0 trusts no header (the socket address is the client), so nobody can
# pick their own address to escape throttles and lockouts (apps/accounts/security.py).
TRUSTED_PROXY_COUNT = env.int("TRUSTED_PROXY_COUNT", default=0)
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=not DEBUG)
SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=not DEBUG)
# The API's error envelope (`csrf_failed`) under /api/, Django's page elsewhere.
CSRF_FAILURE_VIEW = "portal.views.csrf_failure"
CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=not DEBUG)
SESSION_COOKIE_HTTPONLY = True
# Sessions are read from the cache and written through to the database (cached_db): a request
# whose answer is cached reads no table, and a Redis restart or outage signs nobody out (the
# database copy is read instead). Only with a shared cache: a per-process copy would outlive a
# sign-out made in another process, so without Redis sessions live in the database alone.
SESSION_ENGINE = (
    "django.contrib.sessions.backends.cached_db" if REDIS_URL else "django.contrib.sessions.backends.db"
)
# The signed-in user is kept in the shared cache for this long (apps/accounts/user_cache.py);
# every save of a user drops its copy. 0 (off) without Redis.
AUTH_USER_CACHE_SECONDS = env.int("AUTH_USER_CACHE_SECONDS", default=60 if REDIS_URL else 0)
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0 if DEBUG else 31_536_000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=not DEBUG)
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=not DEBUG)
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
# Content-Security-Policy on every response (django-csp). Nothing is loaded from another host
# (Swagger UI's assets come from drf-spectacular-sidecar), no inline script or eval anywhere, and
# no inline style except a <style> carrying the request's nonce (Swagger UI's page).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF, NONCE],
        "img-src": [SELF, "data:"],
        "object-src": [NONE],
        "base-uri": [SELF],
        "frame-ancestors": [NONE],
        "form-action": [SELF],
    },
}

# --- REST API ---------------------------------------------------------------------------------

REST_FRAMEWORK = {
    # Django's session, answering 401 with WWW-Authenticate when signed out (portal/authentication.py).
    "DEFAULT_AUTHENTICATION_CLASSES": ["portal.authentication.SessionAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    # drf-spectacular's, documenting Idempotency-Key where a view honours it.
    "DEFAULT_SCHEMA_CLASS": "portal.schema.AutoSchema",
    # DRF's defaults, JSON refused with 400 `parse_error` when nested too deeply (portal/parsers.py);
    # bodies other than file uploads are capped by Django's DATA_UPLOAD_MAX_MEMORY_SIZE (2.5 MB).
    "DEFAULT_PARSER_CLASSES": [
        "portal.parsers.BoundedJSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "EXCEPTION_HANDLER": "portal.exceptions.api_exception_handler",
    # page and page_size (at most 100) on every list (portal/pagination.py).
    "DEFAULT_PAGINATION_CLASS": "portal.pagination.PagePagination",
    "PAGE_SIZE": 20,
    "NUM_PROXIES": TRUSTED_PROXY_COUNT,
    "DEFAULT_THROTTLE_RATES": {
        "login": env.str("THROTTLE_LOGIN_RATE", default="10/min"),
        "signup": env.str("THROTTLE_SIGNUP_RATE", default="5/min"),
        "password_reset": env.str("THROTTLE_PASSWORD_RESET_RATE", default="5/hour"),
        # Each call reaches WHMCS (a sign-on link, a pay-method refresh): per customer.
        "whmcs_link": env.str("THROTTLE_WHMCS_LINK_RATE", default="30/min"),
    },
}
SPECTACULAR_SETTINGS = {
    "TITLE": "SonixNet customer portal API",
    # What every API user needs first: sign-in and CSRF, errors, request ids, retries, money, lists.
    "DESCRIPTION": (BASE_DIR / "portal" / "api_description.md").read_text(encoding="utf-8"),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    # Swagger UI's assets from the pinned drf-spectacular-sidecar package, served as our static
    # files, instead of swagger-ui-dist@latest from a public CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    # drf-spectacular's enum naming, then links from creating POSTs to their record's operations.
    "POSTPROCESSING_HOOKS": ["drf_spectacular.hooks.postprocess_schema_enums", "portal.schema.add_links"],
    # ReDoc (/api/redoc/) from the same package.
    "REDOC_DIST": "SIDECAR",
    # Enums named by what they mean, one name for one set of values wherever it appears (instead
    # of StageEnum beside OpportunityStageEnum, or KindEnum, StateEnum, ReasonEnum).
    "ENUM_NAME_OVERRIDES": {
        "AccountSetup": "apps.accounts.models.AccountSetup",
        "RegistrationSource": "apps.accounts.models.RegistrationSource",
        "Language": "apps.accounts.models.Language",
        "InternetEligibilityStatus": "apps.accounts.api.serializers.INTERNET_ELIGIBILITY_STATUSES",
        "ProductType": "apps.catalog.models.ProductType",
        "CatalogItemClass": "apps.catalog.models.ItemClass",
        "BillingCycle": "apps.catalog.models.BillingCycle",
        "OrderStatus": "apps.checkout.models.OrderStatus",
        "OrderActivationStatus": "apps.checkout.api.serializers.ORDER_ACTIVATION_STATUSES",
        "OrderActivationErrorCode": "apps.checkout.api.serializers.ORDER_ACTIVATION_ERROR_CODES",
        "OpportunityStage": "apps.opportunities.models.OpportunityStage",
        "LineReturnStatus": "apps.billing.api.serializers.LINE_RETURN_STATUSES",
        "SupportCaseKind": "apps.opportunities.support.CaseKind.CHOICES",
        "SupportCaseState": ["submitting", "new", "working", "escalated", "closed"],
        "SupportCaseCategory": "apps.opportunities.support.SupportCategory",
        "IdVerificationStatus": "apps.accounts.api.serializers.ID_VERIFICATION_STATUSES",
        "IdVerificationRejectionReason": "apps.verification.models.RejectionReason",
        "HousingType": "apps.verification.api.serializers.HousingType.CHOICES",
        "NotificationType": "apps.notifications.api.serializers.NOTIFICATION_TYPES",
        "NotificationSource": "apps.notifications.api.serializers.NOTIFICATION_SOURCES",
        "InvoiceStatus": "apps.billing.api.serializers.INVOICE_STATUSES",
        "SubscriptionStatus": "apps.billing.api.serializers.SUBSCRIPTION_STATUSES",
        "PaymentMethodType": "apps.billing.api.serializers.PAYMENT_METHOD_TYPES",
        "SubscriptionBillingCycle": "apps.billing.api.serializers.SUBSCRIPTION_BILLING_CYCLES",
        "DashboardActivityType": ["order", "invoice", "notification"],
        "DashboardTaskType": [
            "account_setup",
            "invoice_due",
            "add_payment_method",
            "order_in_progress",
            "eligibility_pending",
            "id_verification_rejected",
            "id_verification_required",
            "onboarding",
        ],
    },
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
    "opportunities.reconcile_opportunities": {"queue": "salesforce"},
    "opportunities.reconcile_cases": {"queue": "salesforce"},
    "checkout.reconcile_orders": {"queue": "salesforce"},
    "accounts.advance_registration": {"queue": "salesforce"},
    "accounts.resume_registrations": {"queue": "salesforce"},
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
# With USE_EMULATORS (the default only when DEBUG is on) the defaults point at the local emulators
# (``manage.py run_emulators``); otherwise every connection setting must be given, and a missing
# one stops the process at start-up (see the end of this module) instead of quietly talking to an
# emulator's credentials in production. README "Real systems" says how to point at a real org.

USE_EMULATORS = env.bool("USE_EMULATORS", default=DEBUG)
EMULATOR_DIR = Path(env.str("EMULATOR_DIR", default=str(VAR_DIR / "emulators")))
if DEBUG or USE_EMULATORS:
    # Demo data, run_portal and run_emulators: the only app that imports the emulators package,
    # so a production install neither loads nor needs it.
    INSTALLED_APPS.append("apps.devtools")


def _connection_setting(name: str, emulator_default: str) -> str:
    """A Salesforce or WHMCS connection setting: the emulator's value only with USE_EMULATORS."""
    return env.str(name, default=emulator_default if USE_EMULATORS else "")


SALESFORCE = {
    "LOGIN_URL": _connection_setting("SF_LOGIN_URL", "https://127.0.0.1:8701"),
    "CLIENT_ID": _connection_setting("SF_CLIENT_ID", "portal-emulator-consumer-key"),
    "USERNAME": _connection_setting("SF_USERNAME", "integration@portal.emulator"),
    "PRIVATE_KEY_PATH": _connection_setting("SF_PRIVATE_KEY_PATH", str(EMULATOR_DIR / "jwt-private-key.pem")),
    "PRIVATE_KEY_BASE64": env.str("SF_PRIVATE_KEY_BASE64", default=""),
    "API_VERSION": env.str("SF_API_VERSION", default="59.0"),
    # A CA bundle for TLS verification; empty means the system store (real Salesforce).
    "CA_BUNDLE": _connection_setting("SF_CA_BUNDLE", str(EMULATOR_DIR / "ca.pem")),
    "TIMEOUT_SECONDS": env.float("SF_TIMEOUT_SECONDS", default=15.0),
    "PUBSUB_ENDPOINT": _connection_setting("SF_PUBSUB_ENDPOINT", "127.0.0.1:8702"),
    "ACCOUNT_EVENT_CHANNEL": env.str(
        "SF_ACCOUNT_EVENT_CHANNEL", default="/event/Account_Internet_Eligibility_Update__e"
    ),
    "ORDER_PROVISION_EVENT_CHANNEL": env.str(
        "SF_ORDER_PROVISION_EVENT_CHANNEL", default="/event/OrderProvisionRequested__e"
    ),
    # Change Data Capture channels the events subscriber follows (comma-separated); the standard
    # channel /data/ChangeEvents carries them all in one subscription.
    "CHANGE_EVENT_CHANNELS": [
        channel
        for channel in env.list(
            "SF_CHANGE_EVENT_CHANNELS",
            default=[
                "/data/AccountChangeEvent",
                "/data/OpportunityChangeEvent",
                "/data/OrderChangeEvent",
                "/data/CaseChangeEvent",
                "/data/Product2ChangeEvent",
            ],
        )
        if channel
    ],
    # Per-org differences in field or picklist names, as JSON (see apps/integrations/salesforce/field_map.py).
    "FIELD_MAP_OVERRIDES": env.json("SF_FIELD_MAP_OVERRIDES", default={}),
}
# Where run_emulators serves; both emulators listen on HOST and keep their records in EMULATOR_DIR.
SALESFORCE_EMULATOR = {
    "HOST": env.str("SF_EMULATOR_HOST", default="127.0.0.1"),
    "HTTP_PORT": env.int("SF_EMULATOR_HTTP_PORT", default=8701),
    "GRPC_PORT": env.int("SF_EMULATOR_GRPC_PORT", default=8702),
}

# --- WHMCS ------------------------------------------------------------------------------------

WHMCS = {
    "API_URL": _connection_setting("WHMCS_API_URL", "http://127.0.0.1:8703/includes/api.php"),
    "IDENTIFIER": _connection_setting("WHMCS_API_IDENTIFIER", "portal-emulator-identifier"),
    "SECRET": _connection_setting("WHMCS_API_SECRET", "portal-emulator-secret"),
    "ACCESS_KEY": env.str("WHMCS_ACCESS_KEY", default=""),
    "PAYMENT_METHOD": env.str("WHMCS_PAYMENT_METHOD", default="mailin"),
    "TIMEOUT_SECONDS": env.float("WHMCS_TIMEOUT_SECONDS", default=30.0),
    # Where the customer's single sign-on link (CreateSsoToken, sso:custom_redirect) lands: the
    # client area's add-payment-method page, relative to the WHMCS base URL.
    "ADD_PAYMENT_METHOD_PATH": env.str(
        "WHMCS_ADD_PAYMENT_METHOD_PATH", default="index.php?rp=/account/paymentmethods/add"
    ),
}
WHMCS_EMULATOR = {
    "PORT": env.int("WHMCS_EMULATOR_PORT", default=8703),
}

# --- Portal rules -----------------------------------------------------------------------------

# Where customers' browsers reach the portal front end (links in emails point here). Required
# when DEBUG is off: a default would send customers' reset links to a developer's machine.
PORTAL_FRONTEND_URL = env.str("PORTAL_FRONTEND_URL", default="http://127.0.0.1:8000" if DEBUG else "").rstrip(
    "/"
)

# Registration runs its Salesforce and WHMCS steps while the customer waits, each call cut short
# at this timeout; what does not finish is completed by the worker (apps/accounts/registration.py).
REGISTRATION_STEP_TIMEOUT_SECONDS = env.float("REGISTRATION_STEP_TIMEOUT_SECONDS", default=8.0)
# A step that failed for a passing reason is tried again after this, doubling up to an hour.
REGISTRATION_RETRY_INITIAL_SECONDS = env.float("REGISTRATION_RETRY_INITIAL_SECONDS", default=30.0)
# After a call whose answer was lost, wait this long before looking for what it created: a write
# still in flight lands first.
REGISTRATION_RETRY_AFTER_UNKNOWN_SECONDS = env.int("REGISTRATION_RETRY_AFTER_UNKNOWN_SECONDS", default=60)

NOTIFICATION_RETENTION = timedelta(days=env.int("NOTIFICATION_RETENTION_DAYS", default=30))
RESIDENCE_CARD_MAX_BYTES = env.int("RESIDENCE_CARD_MAX_BYTES", default=10 * 1024 * 1024)
INTERNET_ORDERS_REQUIRE_ID_VERIFICATION = env.bool("INTERNET_ORDERS_REQUIRE_ID_VERIFICATION", default=False)
# Orders are refused (payment_method_required) while the customer has no usable payment method
# in the WHMCS mirror, since WHMCS could not bill them (apps/checkout/services.py).
ORDERS_REQUIRE_PAYMENT_METHOD = env.bool("ORDERS_REQUIRE_PAYMENT_METHOD", default=True)
# Where the console's customer page links a customer's records in Salesforce (Lightning, e.g.
# https://sonixnet.lightning.force.com) and WHMCS (its admin area, e.g.
# https://billing.sonixnet.example/admin); no links when unset.
CONSOLE_SALESFORCE_URL = env.str("CONSOLE_SALESFORCE_URL", default="")
CONSOLE_WHMCS_ADMIN_URL = env.str("CONSOLE_WHMCS_ADMIN_URL", default="")
CATALOG_CACHE_SECONDS = env.int("CATALOG_CACHE_SECONDS", default=300)
# Each customer's dashboard payload, dropped by every write that changes it
# (apps/accounts/dashboard_cache.py). Only with a cache all processes share: off without Redis.
# Every write drops it at once, so the timeout only bounds what time alone changes (a notification
# expiring; due dates are keyed by the day): 5 minutes keeps most views of busy customers hits.
DASHBOARD_CACHE_SECONDS = env.int("DASHBOARD_CACHE_SECONDS", default=300 if REDIS_URL else 0)
# Sign-ins within this window reach Salesforce as one Portal_Last_SignIn__c update.
SIGN_IN_STAMP_COALESCE_SECONDS = env.int("SIGN_IN_STAMP_COALESCE_SECONDS", default=300)
# Idempotency-Key (apps/idempotency): how long a key's answer is kept for repeats, and how long a
# request holds its key before a repeat may take it over (longer than any request can run: the
# web server's timeout is 30 s).
IDEMPOTENCY_KEY_RETENTION = timedelta(hours=env.int("IDEMPOTENCY_KEY_RETENTION_HOURS", default=24))
IDEMPOTENCY_LOCK = timedelta(seconds=env.int("IDEMPOTENCY_LOCK_SECONDS", default=60))
# Bearer token that unlocks the details of /readyz for monitoring; empty: only staff sessions.
MONITORING_TOKEN = env.str("MONITORING_TOKEN", default="")

# --- Email and logging ------------------------------------------------------------------------

# Required when DEBUG is off. The console backend (development) masks one-time tokens in what it
# prints, since its output is a log (portal/mail.py).
EMAIL_URL = env.str("EMAIL_URL", default="consolemail://" if DEBUG else "")
EMAIL_CONFIG = env.email_url_config(EMAIL_URL) if EMAIL_URL else {}
vars().update(EMAIL_CONFIG)
if EMAIL_CONFIG.get("EMAIL_BACKEND") == "django.core.mail.backends.console.EmailBackend":
    EMAIL_BACKEND = "portal.mail.TokenMaskingConsoleEmailBackend"
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
    "filters": {"request_id": {"()": "portal.logging.RequestIdFilter"}},
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": "plain", "filters": ["request_id"]}
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        # Failed sign-ins and lockouts are warnings; axes' INFO lines repeat them for every attempt.
        "axes": {"level": "WARNING"},
    },
}

# --- Production refuses to start on development defaults ---------------------------------------

_required = {
    "EMAIL_URL": bool(EMAIL_URL),
    "PORTAL_FRONTEND_URL": bool(PORTAL_FRONTEND_URL),
}
if not USE_EMULATORS:
    _required |= {
        "SF_LOGIN_URL": bool(SALESFORCE["LOGIN_URL"]),
        "SF_CLIENT_ID": bool(SALESFORCE["CLIENT_ID"]),
        "SF_USERNAME": bool(SALESFORCE["USERNAME"]),
        "SF_PRIVATE_KEY_PATH or SF_PRIVATE_KEY_BASE64": bool(
            SALESFORCE["PRIVATE_KEY_PATH"] or SALESFORCE["PRIVATE_KEY_BASE64"]
        ),
        "SF_PUBSUB_ENDPOINT": bool(SALESFORCE["PUBSUB_ENDPOINT"]),
        "WHMCS_API_URL": bool(WHMCS["API_URL"]),
        "WHMCS_API_IDENTIFIER": bool(WHMCS["IDENTIFIER"]),
        "WHMCS_API_SECRET": bool(WHMCS["SECRET"]),
    }
_missing = [name for name, present in _required.items() if not present]
if _missing:
    raise ImproperlyConfigured(
        f"Missing settings: {', '.join(_missing)}. Set them in the environment (README "
        "'Configuration'); on a staging box that runs the emulators, USE_EMULATORS=true supplies "
        "the Salesforce and WHMCS ones."
    )
