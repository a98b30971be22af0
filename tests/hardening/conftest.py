"""Fixtures of the hardening tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from emulators import EmulatorSuite
from portal.celery import app as celery_app
from tests.processes import Workers


@pytest.fixture
def workers(systems: EmulatorSuite, tmp_path: Path) -> Iterator[Workers]:
    """Real Celery workers (``tests.processes.Workers``); nothing queued before reaches them."""
    celery_app.control.purge()
    started = Workers(systems, tmp_path)
    yield started
    started.kill_all()
    celery_app.control.purge()
