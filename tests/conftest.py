"""Fixtures shared by the whole suite."""

from __future__ import annotations

import functools
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.core.cache import cache
from pytest_django.fixtures import Settings as SettingsFixture

from apps.accounts.models import User
from apps.devtools.emulators import settings_overrides
from apps.integrations.salesforce.auth import clear_session_cache
from apps.integrations.salesforce.gateway import api_call_counter
from emulators import EmulatorSuite
from portal.celery import app as celery_app
from tests import helpers
from tests.browser import browser  # noqa: F401  (the browser tests' fixture: tests/web, tests/console)


@pytest.fixture(scope="session")
def django_db_modify_db_settings(
    django_db_modify_db_settings_parallel_suffix: None, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """On SQLite, test in a file of this run's own rather than the shared in-memory database, so
    tests of concurrent workers meet real locking (WAL and the busy timeout) as the portal does."""
    from django.conf import settings

    database = settings.DATABASES["default"]
    if database["ENGINE"] == "django.db.backends.sqlite3":
        database.setdefault("TEST", {})["NAME"] = str(tmp_path_factory.mktemp("db") / "test-portal.sqlite3")


@pytest.fixture(autouse=True)
def _fast_and_isolated(settings: SettingsFixture, tmp_path: Path) -> Iterator[None]:
    """Fast password hashing, a private storage folder of the test's own, an empty cache
    (throttles and cached catalog pages must not leak between tests)."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.PRIVATE_MEDIA_ROOT = tmp_path / "private"
    # The dashboard cache is dropped when writes commit, which most tests never do; its own tests
    # (tests/accounts/test_dashboard_cache.py) turn it on.
    settings.DASHBOARD_CACHE_SECONDS = 0
    cache.clear()
    yield
    cache.clear()


@pytest.fixture(scope="session")
def emulator_suite(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmulatorSuite]:
    """Salesforce (REST + Pub/Sub) and WHMCS emulators on free loopback ports for the session."""
    suite = EmulatorSuite(directory=tmp_path_factory.mktemp("emulators"), keepalive_interval=1.0)
    suite.start()
    yield suite
    suite.stop()


@pytest.fixture
def systems(emulator_suite: EmulatorSuite, settings: SettingsFixture) -> Iterator[EmulatorSuite]:
    """Point the portal at the emulators; every test starts with empty systems and no faults."""
    overrides = settings_overrides(emulator_suite)
    settings.SALESFORCE = {**settings.SALESFORCE, **overrides["SALESFORCE"], "TIMEOUT_SECONDS": 5.0}
    settings.WHMCS = {**settings.WHMCS, **overrides["WHMCS"], "TIMEOUT_SECONDS": 5.0}
    emulator_suite.reset()
    clear_session_cache()
    api_call_counter.reset()
    yield emulator_suite
    emulator_suite.salesforce.clear_faults()
    emulator_suite.whmcs.clear_faults()
    clear_session_cache()


@pytest.fixture
def make_customer(systems: EmulatorSuite) -> helpers.MakeCustomer:
    """Make customers whose Salesforce Account exists in the emulator (``tests.helpers.make_customer``)."""
    return functools.partial(helpers.make_customer, systems)


@pytest.fixture
def customer(make_customer: helpers.MakeCustomer) -> User:
    """A customer named Hana Sato, with a Salesforce Account in the emulator."""
    return make_customer()


@pytest.fixture
def eager_celery() -> Iterator[None]:
    """Tasks queued with ``.delay()`` run at once, in the caller's thread."""
    previous = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = True
    yield
    celery_app.conf.task_always_eager = previous


@pytest.fixture
def database_sessions(settings: SettingsFixture) -> None:
    """Sessions and the signed-in user read from the database on every request, as without Redis
    (with Redis, ``cached_db`` sessions and the user cache take both reads away): tests that count
    a view's own queries count the same either way."""
    settings.SESSION_ENGINE = "django.contrib.sessions.backends.db"
    settings.AUTH_USER_CACHE_SECONDS = 0
