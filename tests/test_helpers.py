"""The suite's own helpers behave as the tests rely on."""

from __future__ import annotations

import pytest

from tests.helpers import in_ci, wait_until


@pytest.mark.parametrize(
    ("value", "expected"),
    [("true", True), ("1", True), ("yes", True), ("false", False), ("0", False), ("", False)],
)
def test_ci_is_read_as_a_boolean(monkeypatch: pytest.MonkeyPatch, value: str, expected: bool) -> None:
    monkeypatch.setenv("CI", value)

    assert in_ci() is expected


def test_ci_unset_is_false(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CI", raising=False)

    assert in_ci() is False


def test_wait_until_returns_once_the_condition_holds() -> None:
    calls = []

    wait_until(lambda: calls.append(1) or len(calls) >= 3, interval=0)

    assert len(calls) == 3


def test_wait_until_fails_naming_what_it_waited_for() -> None:
    with pytest.raises(pytest.fail.Exception) as failed:
        wait_until(lambda: False, timeout=0.05, message="the answer", details=lambda: "last: 7")

    assert str(failed.value) == "Timed out after 0.05 s waiting for the answer\nlast: 7"
