"""The settings module read in fresh interpreters with different environments."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.helpers import run_python

PRODUCTION_ENV = {
    "DEBUG": "false",
    "SECRET_KEY": "x7!kq2-production-secret-for-tests-only-0123456789abcdefghijklmnop",
    "ALLOWED_HOSTS": "portal.sonixnet.example,api.sonixnet.example",
    "DATABASE_URL": "postgres://portal:pw@db.internal:5432/portal",
    "REDIS_URL": "redis://cache.internal:6379/0",
    "EMAIL_URL": "smtp+tls://mailer:pw@smtp.internal:587",
    "PORTAL_FRONTEND_URL": "https://portal.sonixnet.example",
    "SF_LOGIN_URL": "https://login.salesforce.com",
    "SF_CLIENT_ID": "3MVG9-connected-app",
    "SF_USERNAME": "integration@sonixnet.example",
    "SF_PRIVATE_KEY_BASE64": "LS0tLS1CRUdJTiBQUklWQVRFIEtFWS0tLS0t",
    "SF_PUBSUB_ENDPOINT": "api.pubsub.salesforce.com:7443",
    "WHMCS_API_URL": "https://billing.sonixnet.example/includes/api.php",
    "WHMCS_API_IDENTIFIER": "portal-identifier",
    "WHMCS_API_SECRET": "portal-secret",
}

PROBE = """
import json, portal.settings as s
print(json.dumps({
    "DEBUG": s.DEBUG,
    "ALLOWED_HOSTS": s.ALLOWED_HOSTS,
    "DB_ENGINE": s.DATABASES["default"]["ENGINE"],
    "DB_NAME": str(s.DATABASES["default"]["NAME"]),
    "DB_HOST": s.DATABASES["default"].get("HOST", ""),
    "CACHE": s.CACHES["default"]["BACKEND"],
    "BROKER": s.CELERY_BROKER_URL,
    "TIME_ZONE": s.TIME_ZONE,
    "LANGUAGES": [code for code, _ in s.LANGUAGES],
    "SF_LOGIN_URL": s.SALESFORCE["LOGIN_URL"],
    "SF_OVERRIDES": s.SALESFORCE["FIELD_MAP_OVERRIDES"],
    "WHMCS_API_URL": s.WHMCS["API_URL"],
    "SSL_REDIRECT": s.SECURE_SSL_REDIRECT,
    "HSTS": s.SECURE_HSTS_SECONDS,
}))
"""


def read_settings(env: dict[str, str], tmp_path: Path) -> dict[str, object]:
    result = run_python(PROBE, env, tmp_path)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_embedded_default_uses_sqlite_locmem_and_a_serverless_broker(tmp_path: Path) -> None:
    values = read_settings({"DEBUG": "true"}, tmp_path)

    assert values["DB_ENGINE"] == "django.db.backends.sqlite3"
    assert values["DB_NAME"].endswith("var/portal.sqlite3")
    assert values["CACHE"] == "django.core.cache.backends.locmem.LocMemCache"
    assert values["BROKER"] == "filesystem://"
    assert values["ALLOWED_HOSTS"] == ["localhost", "127.0.0.1", "[::1]"]
    assert values["SF_LOGIN_URL"] == "https://127.0.0.1:8701"
    assert values["WHMCS_API_URL"] == "http://127.0.0.1:8703/includes/api.php"
    assert values["TIME_ZONE"] == "Asia/Tokyo"
    assert values["LANGUAGES"] == ["en", "ja"]
    assert values["SSL_REDIRECT"] is False


def test_production_environment_is_parsed(tmp_path: Path) -> None:
    values = read_settings(
        {
            **PRODUCTION_ENV,
            "SF_FIELD_MAP_OVERRIDES": '{"picklists": {"Order.activation_status": {"activated": "Provisioned"}}}',
        },
        tmp_path,
    )

    assert values["DEBUG"] is False
    assert values["ALLOWED_HOSTS"] == ["portal.sonixnet.example", "api.sonixnet.example"]
    assert values["DB_ENGINE"] == "django.db.backends.postgresql"
    assert values["DB_NAME"] == "portal"
    assert values["DB_HOST"] == "db.internal"
    assert values["CACHE"] == "portal.cache.DegradingRedisCache"
    assert values["BROKER"] == "redis://cache.internal:6379/0"
    assert values["SF_OVERRIDES"] == {"picklists": {"Order.activation_status": {"activated": "Provisioned"}}}
    assert values["SSL_REDIRECT"] is True
    assert values["HSTS"] == 31_536_000


def test_missing_secret_key_stops_production_at_start_up(tmp_path: Path) -> None:
    env = {key: value for key, value in PRODUCTION_ENV.items() if key != "SECRET_KEY"}

    result = run_python("import portal.settings", env, tmp_path)

    assert result.returncode != 0
    assert "SECRET_KEY must be set when DEBUG is off." in result.stderr


@pytest.mark.parametrize("debug", ["false", "0", "off"])
def test_debug_accepts_the_usual_false_spellings(debug: str, tmp_path: Path) -> None:
    values = read_settings({**PRODUCTION_ENV, "DEBUG": debug}, tmp_path)

    assert values["DEBUG"] is False


def test_production_settings_pass_the_deployment_checklist(tmp_path: Path) -> None:
    env = {**PRODUCTION_ENV, "DATABASE_URL": f"sqlite:///{tmp_path / 'deploy.sqlite3'}"}

    result = run_python(
        "import sys; from django.core.management import execute_from_command_line;"
        "execute_from_command_line(['manage.py', 'check', '--deploy', '--fail-level', 'WARNING'])",
        {**env, "DJANGO_SETTINGS_MODULE": "portal.settings"},
        tmp_path,
    )

    assert result.returncode == 0, result.stderr
    assert "System check identified no issues" in result.stdout


def test_production_without_its_connections_refuses_to_start_naming_what_is_missing(tmp_path: Path) -> None:
    env = {key: PRODUCTION_ENV[key] for key in ("DEBUG", "SECRET_KEY", "ALLOWED_HOSTS", "DATABASE_URL")}

    result = run_python("import portal.settings", env, tmp_path)

    assert result.returncode != 0
    message = result.stderr.strip().splitlines()[-1]
    assert message.startswith("django.core.exceptions.ImproperlyConfigured: Missing settings: EMAIL_URL, ")
    for name in (
        "PORTAL_FRONTEND_URL",
        "SF_LOGIN_URL",
        "SF_CLIENT_ID",
        "SF_USERNAME",
        "SF_PRIVATE_KEY_PATH or SF_PRIVATE_KEY_BASE64",
        "SF_PUBSUB_ENDPOINT",
        "WHMCS_API_URL",
        "WHMCS_API_IDENTIFIER",
        "WHMCS_API_SECRET",
    ):
        assert name in message
    assert "USE_EMULATORS=true" in message


@pytest.mark.parametrize("missing", ["SF_CLIENT_ID", "WHMCS_API_SECRET", "EMAIL_URL", "PORTAL_FRONTEND_URL"])
def test_each_production_connection_setting_is_required(missing: str, tmp_path: Path) -> None:
    env = {key: value for key, value in PRODUCTION_ENV.items() if key != missing}

    result = run_python("import portal.settings", env, tmp_path)

    assert result.returncode != 0
    assert f"Missing settings: {missing}." in result.stderr


def test_a_staging_box_may_run_on_the_emulators_when_it_says_so(tmp_path: Path) -> None:
    env = {key: value for key, value in PRODUCTION_ENV.items() if not key.startswith(("SF_", "WHMCS_"))}

    values = read_settings({**env, "USE_EMULATORS": "true"}, tmp_path)

    assert values["DEBUG"] is False
    assert values["SF_LOGIN_URL"] == "https://127.0.0.1:8701"
    assert values["WHMCS_API_URL"] == "http://127.0.0.1:8703/includes/api.php"
