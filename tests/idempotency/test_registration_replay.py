"""Registration with an ``Idempotency-Key``: a repeat signs the browser in again, but only with the
password that created the account, and the password is never kept, not even in a digest."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from apps.accounts.models import User
from apps.idempotency.api import request_fingerprint
from apps.idempotency.models import IdempotentRequest
from emulators import EmulatorSuite
from tests.helpers import error_code, error_message
from tests.scenarios import SIGNUP

pytestmark = pytest.mark.django_db

REGISTRATIONS = {
    "/api/auth/signup": SIGNUP,
    "/api/checkout/registration": {**SIGNUP, "order_type": "internet"},
}


class Browser:
    """A browser on the portal: its session cookie and the CSRF token it sends back."""

    def __init__(self) -> None:
        self.client = APIClient(enforce_csrf_checks=True)
        self.csrf_token = self.client.get("/api/auth/csrf").json()["csrf_token"]

    def register(self, url: str, body: dict[str, object], *, key: str) -> object:
        return self.client.post(
            url, body, format="json", headers={"Idempotency-Key": key, "X-CSRFToken": self.csrf_token}
        )

    def signed_in_as(self) -> str | None:
        response = self.client.get("/api/me")
        return response.json()["email"] if response.status_code == 200 else None


@pytest.mark.parametrize("url", REGISTRATIONS)
def test_a_repeat_with_the_password_signs_in_the_customer_registered_once(
    systems: EmulatorSuite, url: str
) -> None:
    # Given a registration whose answer the browser lost
    body = REGISTRATIONS[url]
    first = Browser().register(url, body, key="signup-9e1f")

    # When the browser (a new session) sends it again with the same key
    retry = Browser()
    repeat = retry.register(url, body, key="signup-9e1f")

    # Then it gets the first answer, is signed in, and the customer exists once everywhere
    assert first.status_code == 201, first.json()
    assert (repeat.status_code, repeat.json()) == (201, first.json())
    assert repeat.headers["Idempotent-Replayed"] == "true"
    assert retry.signed_in_as() == "hana.sato@example.com"
    assert User.objects.count() == 1
    assert len(systems.salesforce.store.find_records("Account")) == 1
    assert len(systems.whmcs.state.clients) == 1


@pytest.mark.parametrize("url", REGISTRATIONS)
def test_a_repeat_with_another_password_is_refused_and_signs_in_no_one(
    systems: EmulatorSuite, url: str
) -> None:
    body = REGISTRATIONS[url]
    Browser().register(url, body, key="signup-9e1f")

    stranger = Browser()
    response = stranger.register(url, {**body, "password": "guessed-password-42"}, key="signup-9e1f")

    assert response.status_code == 409
    assert (error_code(response), error_message(response)) == (
        "idempotency_key_reused",
        "This Idempotency-Key was already used for a different request.",
    )
    assert stranger.signed_in_as() is None
    assert User.objects.count() == 1


@pytest.mark.parametrize("url", REGISTRATIONS)
def test_the_password_is_left_out_of_what_is_kept(systems: EmulatorSuite, url: str) -> None:
    body = REGISTRATIONS[url]

    Browser().register(url, body, key="signup-9e1f")

    kept = IdempotentRequest.objects.get()
    without_password = {name: value for name, value in body.items() if name != "password"}
    assert kept.fingerprint == request_fingerprint(without_password, url_kwargs={}, secret_fields=frozenset())
    assert SIGNUP["password"] not in str(kept.response_body)
