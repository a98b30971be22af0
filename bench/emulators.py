"""The Salesforce and WHMCS emulators in-process on free loopback ports, the portal pointed at them."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.conf import settings
from django.test.utils import override_settings

from apps.devtools.emulators import settings_overrides
from apps.integrations.salesforce.auth import clear_session_cache
from bench.env import BenchEnv
from emulators import EmulatorSuite


@contextmanager
def emulators(env: BenchEnv) -> Iterator[EmulatorSuite]:
    suite = EmulatorSuite(directory=env.workdir / "emulators", keepalive_interval=5.0)
    suite.start()
    overrides = settings_overrides(suite)
    patched: dict[str, Any] = {
        "SALESFORCE": {**settings.SALESFORCE, **overrides["SALESFORCE"]},
        "WHMCS": {**settings.WHMCS, **overrides["WHMCS"]},
    }
    try:
        with override_settings(**patched):
            clear_session_cache()
            yield suite
    finally:
        clear_session_cache()
        suite.stop()
