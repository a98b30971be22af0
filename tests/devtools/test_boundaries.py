"""The emulators stay out of production: they import nothing of the portal, only the development app
imports them, and that app is installed only for development (DEBUG or USE_EMULATORS)."""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

BASE_DIR = Path(__file__).resolve().parents[2]

PRODUCTION_ENV = {
    "DEBUG": "false",
    "SECRET_KEY": "boundary-check-production-secret-0123456789abcdefghijklmnopqrstuvwxyz",
    "ALLOWED_HOSTS": "portal.sonixnet.example",
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

# Loads the whole portal as a web or worker process does, then reports what got installed/imported.
PROBE = """
import json, sys
import django
django.setup()
import portal.urls, portal.celery
from django.core.management import get_commands
from django.conf import settings
print(json.dumps({
    "devtools_installed": "apps.devtools" in settings.INSTALLED_APPS,
    "emulators_imported": sorted(name for name in sys.modules if name == "emulators" or name.startswith("emulators.")),
    "commands": sorted(name for name in get_commands() if name in {"run_portal", "load_demo_data", "run_emulators"}),
}))
"""


def imported_modules(path: Path) -> set[str]:
    """Top-level names of every module a file imports (absolute imports only)."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


def python_files(*folders: str) -> list[Path]:
    return sorted(path for folder in folders for path in (BASE_DIR / folder).rglob("*.py"))


def test_the_emulators_and_the_pubsub_wire_code_import_nothing_of_the_portal() -> None:
    offenders = {
        str(path.relative_to(BASE_DIR)): sorted(
            imported_modules(path) & {"apps", "portal", "django", "tests"}
        )
        for path in python_files("emulators", "salesforce_pubsub")
    }

    assert {path: names for path, names in offenders.items() if names} == {}


def test_only_the_development_app_imports_the_emulators() -> None:
    importers = [
        str(path.relative_to(BASE_DIR))
        for path in python_files("apps", "portal", "salesforce_pubsub")
        if "emulators" in imported_modules(path)
    ]

    assert importers
    assert [path for path in importers if not path.startswith("apps/devtools/")] == []


def run_probe(env: dict[str, str], tmp_path: Path) -> dict[str, object]:
    clean = {
        key: value
        for key, value in os.environ.items()
        if key
        not in {"DEBUG", "SECRET_KEY", "DATABASE_URL", "REDIS_URL", "ALLOWED_HOSTS", "DJANGO_SETTINGS_MODULE"}
        and not key.startswith(("SF_", "WHMCS_", "EMAIL_", "USE_EMULATORS", "PORTAL_FRONTEND_URL"))
    }
    clean.update(
        {
            "PATH": os.environ["PATH"],
            "DJANGO_SETTINGS_MODULE": "portal.settings",
            "EMULATOR_DIR": str(tmp_path / "emulators"),
            "DATABASE_URL": f"sqlite:///{tmp_path / 'probe.sqlite3'}",
            **env,
        }
    )
    result = subprocess.run(
        [sys.executable, "-c", PROBE], cwd=BASE_DIR, env=clean, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_production_neither_installs_the_development_app_nor_imports_the_emulators(tmp_path: Path) -> None:
    loaded = run_probe(PRODUCTION_ENV, tmp_path)

    assert loaded == {"devtools_installed": False, "emulators_imported": [], "commands": []}


@pytest.mark.parametrize(
    "env",
    [{"DEBUG": "true"}, {**PRODUCTION_ENV, "USE_EMULATORS": "true"}],
    ids=["DEBUG", "USE_EMULATORS"],
)
def test_development_and_emulator_boxes_get_the_development_commands(
    env: dict[str, str], tmp_path: Path
) -> None:
    loaded = run_probe(env, tmp_path)

    assert loaded["devtools_installed"] is True
    assert loaded["commands"] == ["load_demo_data", "run_emulators", "run_portal"]
