"""Guessing passwords and flooding mail through the customer API: throttles per client address
(which a made-up X-Forwarded-For does not change) and per email, the lockout of an email from one
address (django-axes), staff kept out of customer sign-in, and the password hash's cost."""

from __future__ import annotations

import pytest
from django.contrib.auth.hashers import Argon2PasswordHasher, identify_hasher, make_password
from django.core import mail
from pytest_django.fixtures import Settings
from rest_framework.test import APIClient

import portal.settings as configured
from tests.factories import AgentFactory, CustomerFactory
from tests.helpers import error_code, error_message

pytestmark = pytest.mark.django_db

PASSWORD = "correct-horse-battery"  # UserFactory's


@pytest.fixture
def api() -> APIClient:
    return APIClient()


def login(api: APIClient, email: str, password: str = "wrong-password", **extra: str) -> int:
    return api.post("/api/auth/login", {"email": email, "password": password}, format="json", **extra)


def test_a_made_up_x_forwarded_for_does_not_make_a_new_client(api: APIClient) -> None:
    statuses = [
        login(api, f"guess{n}@example.com", HTTP_X_FORWARDED_FOR=f"198.51.100.{n}").status_code
        for n in range(25)
    ]

    assert statuses == [400] * 10 + [429] * 15


def test_one_email_tried_from_many_addresses_is_throttled(api: APIClient) -> None:
    CustomerFactory(email="hana@example.com")

    responses = [
        login(api, " Hana@Example.com " if n % 2 else "hana@example.com", REMOTE_ADDR=f"203.0.113.{n}")
        for n in range(12)
    ]

    assert [response.status_code for response in responses] == [400] * 10 + [429] * 2
    assert error_code(responses[-1]) == "throttled"
    assert int(responses[-1]["Retry-After"]) > 0


def test_reset_mails_to_one_email_are_limited_whatever_the_address(api: APIClient) -> None:
    CustomerFactory(email="mei@example.com")

    statuses = [
        api.post(
            "/api/auth/password/reset",
            {"email": "mei@example.com"},
            format="json",
            REMOTE_ADDR=f"203.0.113.{n}",
            HTTP_X_FORWARDED_FOR=f"198.51.100.{n}",
        ).status_code
        for n in range(8)
    ]

    assert statuses == [202] * 5 + [429] * 3
    assert len(mail.outbox) == 5


def test_sign_ups_are_throttled_per_address_whatever_x_forwarded_for_says(api: APIClient) -> None:
    statuses = [
        api.post(
            "/api/auth/signup",
            {"email": f"new{n}@example.com"},
            format="json",
            HTTP_X_FORWARDED_FOR=f"198.51.100.{n}",
        ).status_code
        for n in range(6)
    ]

    assert statuses == [400] * 5 + [429]


def test_behind_one_trusted_proxy_the_right_most_forwarded_address_is_the_client(
    api: APIClient, settings: Settings
) -> None:
    settings.TRUSTED_PROXY_COUNT = 1
    # The proxy (REMOTE_ADDR) appends the address it saw; what the client wrote comes before it.
    statuses = [
        login(
            api,
            f"guess{n}@example.com",
            REMOTE_ADDR="10.0.0.2",
            HTTP_X_FORWARDED_FOR=f"198.51.100.{n}, 203.0.113.7",
        ).status_code
        for n in range(11)
    ]
    other_client = login(
        api,
        "guess-other@example.com",
        REMOTE_ADDR="10.0.0.2",
        HTTP_X_FORWARDED_FOR="198.51.100.1, 203.0.113.8",
    )

    assert statuses == [400] * 10 + [429]
    assert other_client.status_code == 400


def test_wrong_passwords_lock_the_email_out_from_that_address_only(
    api: APIClient, settings: Settings
) -> None:
    settings.AXES_FAILURE_LIMIT = 5
    CustomerFactory(email="ren@example.com")

    wrong = [login(api, "ren@example.com") for _ in range(5)]
    right = login(api, "REN@example.com", PASSWORD)
    elsewhere = APIClient().post(
        "/api/auth/login",
        {"email": "ren@example.com", "password": PASSWORD},
        format="json",
        REMOTE_ADDR="203.0.113.9",
    )

    assert [response.status_code for response in wrong] == [400] * 4 + [429]
    assert (error_code(wrong[-1]), error_message(wrong[-1])) == (
        "locked_out",
        "Too many failed sign-ins for this account from your network. Expected available in 900 seconds.",
    )
    assert wrong[-1]["Retry-After"] == "900"
    # Locked even with the right password, and no session: only the other address gets in.
    assert right.status_code == 429
    assert error_code(right) == "locked_out"
    assert api.get("/api/me").status_code == 401
    assert elsewhere.status_code == 200


def test_a_successful_sign_in_clears_the_failures(api: APIClient, settings: Settings) -> None:
    settings.AXES_FAILURE_LIMIT = 5
    CustomerFactory(email="ren@example.com")

    before = [login(api, "ren@example.com").status_code for _ in range(4)]
    signed_in = login(api, "ren@example.com", PASSWORD).status_code
    api.post("/api/auth/logout")
    after = [login(api, "ren@example.com").status_code for _ in range(4)]

    assert before == after == [400] * 4
    assert signed_in == 200


def test_staff_cannot_sign_in_through_the_customer_api(api: APIClient) -> None:
    agent = AgentFactory()

    response = login(api, agent.email, PASSWORD)

    assert response.status_code == 403
    assert (error_code(response), error_message(response)) == (
        "staff_account",
        "Staff accounts sign in to the agent console, not here.",
    )
    assert "sessionid" not in response.cookies
    assert api.get("/api/me").status_code == 401


def test_an_old_argon2_hash_is_remade_with_the_owasp_parameters_at_sign_in(
    api: APIClient, settings: Settings
) -> None:
    settings.PASSWORD_HASHERS = configured.PASSWORD_HASHERS  # the real ones, not the tests' fast hasher
    customer = CustomerFactory(email="yui@example.com")
    customer.password = make_password(PASSWORD, hasher=Argon2PasswordHasher())  # m=102400, p=8
    customer.save(update_fields=["password"])

    response = login(api, "yui@example.com", PASSWORD)

    assert response.status_code == 200
    customer.refresh_from_db()
    hasher = identify_hasher(customer.password)
    params = hasher.decode(customer.password)["params"]
    assert (hasher.algorithm, params.type.name) == ("argon2", "ID")
    assert (params.memory_cost, params.time_cost, params.parallelism) == (19456, 2, 1)
    assert customer.check_password(PASSWORD)
