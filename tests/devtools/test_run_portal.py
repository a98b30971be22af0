"""``run_portal`` names the customer portal first, with a demo customer to sign in as."""

from __future__ import annotations

import io
from typing import Any

import pytest
from django.core.management import call_command

from apps.devtools.demo_data import DemoLogin
from apps.devtools.management.commands import load_demo_data, run_portal

LOGINS = [
    DemoLogin("support agent", "agent@example.com", "agent-pw", totp_uri="otpauth://totp/x", totp_key="K"),
    DemoLogin("new customer, nothing requested yet", "hana@example.com", "hana-pw"),
    DemoLogin("active internet customer with an invoice", "yui@example.com", "yui-pw"),
]


class Processes:
    """Stands in for honcho: records the processes instead of starting them."""

    started: dict[str, str] = {}

    def __init__(self) -> None:
        self.returncode = 0

    def add_process(self, name: str, command: str, cwd: str) -> None:
        Processes.started[name] = command

    def loop(self) -> None:
        pass


@pytest.mark.django_db
def test_the_portal_and_a_demo_customer_come_first(monkeypatch: pytest.MonkeyPatch) -> None:
    def load(self: Any, *args: Any, **options: Any) -> None:
        self.logins = LOGINS
        self.stdout.write("Demo data loaded.")

    monkeypatch.setattr(load_demo_data.Command, "handle", load)
    monkeypatch.setattr(run_portal, "Manager", Processes)
    out = io.StringIO()

    with pytest.raises(SystemExit):
        call_command("run_portal", "--port", "8123", stdout=out)

    lines = [line for line in out.getvalue().splitlines() if line.strip()]
    assert lines[0] == "SonixNet customer portal: http://127.0.0.1:8123/"
    assert lines[1] == (
        "  Sign in as a demo customer (active internet customer with an invoice): yui@example.com / yui-pw"
    )
    assert lines[2] == "Demo data loaded."
    assert "web" in Processes.started


def test_without_demo_data_no_customer_is_named() -> None:
    assert run_portal.demo_customer([]) is None
    assert run_portal.demo_customer(LOGINS[:2]) == LOGINS[1]
