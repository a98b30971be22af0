"""Run the flows that handle secrets with every log record captured, and look for the secrets."""

from __future__ import annotations

import logging
import re
import tempfile
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from rest_framework.test import APIClient

from apps.integrations.outbox import outbox_deliver_due
from apps.integrations.salesforce.auth import get_session
from apps.integrations.whmcs.client import WhmcsClient
from apps.integrations.whmcs.exceptions import WhmcsError
from emulators import EmulatorSuite
from tests.factories import CustomerFactory
from tests.helpers import run_python
from tests.scenarios import SIGNUP

pytestmark = pytest.mark.django_db


def private_key_body(path: str) -> str:
    with open(path) as handle:
        return "".join(line.strip() for line in handle if not line.startswith("-----"))


def test_no_secret_reaches_a_log_line_or_an_error_body(
    systems: EmulatorSuite, caplog: pytest.LogCaptureFixture, django_capture_on_commit_callbacks: Any
) -> None:
    caplog.set_level(logging.DEBUG)
    bodies: list[bytes] = []
    api = APIClient()

    # Registration, sign-in, Salesforce outage and a failed sign-in.
    with django_capture_on_commit_callbacks(execute=False):
        bodies.append(api.post("/api/auth/signup", SIGNUP, format="json").content)
    bodies.append(api.post("/api/auth/logout").content)
    bodies.append(
        api.post(
            "/api/auth/login", {"email": SIGNUP["email"], "password": SIGNUP["password"]}, format="json"
        ).content
    )
    bodies.append(
        api.post("/api/auth/login", {"email": SIGNUP["email"], "password": "wrong"}, format="json").content
    )
    systems.salesforce.fail_next(5, status=503, error_code="SERVER_UNAVAILABLE", path_prefix="/services/data")
    other = {**SIGNUP, "email": "second@example.com"}
    bodies.append(APIClient().post("/api/auth/signup", other, format="json").content)
    systems.salesforce.clear_faults()
    # An expired session and its re-login, outbox delivery.
    systems.salesforce.expire_sessions()
    outbox_deliver_due()
    # A WHMCS call refused for bad credentials.
    client = WhmcsClient(
        settings.WHMCS["API_URL"], settings.WHMCS["IDENTIFIER"], "wrong-secret-value", timeout=5.0
    )
    with pytest.raises(WhmcsError) as refused:
        client.get_clients_products(1)
    bodies.append(str(refused.value).encode())

    secrets = {
        "access token": get_session().access_token,
        "private key": private_key_body(settings.SALESFORCE["PRIVATE_KEY_PATH"])[:64],
        "customer password": SIGNUP["password"],
        "session id": api.cookies["sessionid"].value,
        "WHMCS secret": settings.WHMCS["SECRET"],
        "wrong WHMCS secret": "wrong-secret-value",
    }
    lines = [record.getMessage() + " " + str(record.__dict__) for record in caplog.records]
    assert len(lines) > 10  # the flows really logged
    for name, secret in secrets.items():
        assert secret, name
        leaking = [line for line in lines if secret in line]
        assert leaking == [], f"{name} appears in the logs"
        assert not [body for body in bodies if secret.encode() in body], f"{name} appears in an error body"


def test_a_reset_link_printed_by_the_development_mail_backend_has_its_token_masked(
    settings: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    """The console backend is development's mail: what it prints is a log, so a live reset link
    there would sign in whoever reads the logs."""
    settings.EMAIL_BACKEND = "portal.mail.TokenMaskingConsoleEmailBackend"
    CustomerFactory(email="mei@example.com")

    response = APIClient().post("/api/auth/password/reset", {"email": "mei@example.com"}, format="json")

    printed = capsys.readouterr().out
    assert response.status_code == 202
    assert "/account/reset-password#uid=" in printed
    assert "&token=[masked]" in printed
    assert not re.search(r"token=(?!\[masked\])", printed)


def test_the_embedded_default_prints_mail_through_the_masking_backend() -> None:
    result = run_python(
        "import portal.settings as s; print(s.EMAIL_BACKEND)", {"DEBUG": "true"}, Path(tempfile.mkdtemp())
    )

    assert result.stdout.strip() == "portal.mail.TokenMaskingConsoleEmailBackend"
