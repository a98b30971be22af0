"""Fixtures shared by the whole suite."""

from __future__ import annotations

from pathlib import Path

import pytest
from pytest_django.fixtures import Settings as SettingsFixture


@pytest.fixture(autouse=True)
def _fast_and_isolated(settings: SettingsFixture, tmp_path: Path) -> None:
    """Fast password hashing and a private storage folder of the test's own."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.PRIVATE_MEDIA_ROOT = tmp_path / "private"
