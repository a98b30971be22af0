"""Signing in to the console: repeated wrong passwords lock the account out from that address
(django-axes), supervisors see and lift lockouts, and with STAFF_REQUIRE_2FA staff need the code of
their authenticator app (django-otp TOTP) as well as the password."""

from __future__ import annotations

import pytest
from axes.models import AccessAttempt
from django.test import Client
from django.urls import reverse
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice
from pytest_django.fixtures import Settings

from apps.accounts.models import User
from tests.factories import ResidenceCardSubmissionFactory

pytestmark = pytest.mark.django_db

PASSWORD = "correct-horse-battery"  # UserFactory's
LOGIN = "/admin/login/?next=/admin/"


def sign_in(client: Client, email: str, password: str = PASSWORD, **fields: str) -> object:
    return client.post(LOGIN, {"username": email, "password": password, **fields})


def signed_in_to_the_console(client: Client) -> bool:
    return client.get(reverse("admin:index")).status_code == 200


def current_code(device: TOTPDevice) -> str:
    return f"{TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift).token():0{device.digits}d}"


@pytest.fixture
def two_factor(settings: Settings) -> None:
    settings.STAFF_REQUIRE_2FA = True


@pytest.fixture
def device(agent: User) -> TOTPDevice:
    return TOTPDevice.objects.create(user=agent, name="phone", confirmed=True)


def test_wrong_passwords_lock_the_console_sign_in_even_for_the_right_one(
    agent: User, settings: Settings
) -> None:
    settings.AXES_FAILURE_LIMIT = 5
    client = Client()

    # Another spelling of the address is the same account, so it counts too.
    wrong = [
        sign_in(client, agent.email.upper() if n % 2 else agent.email, "wrong-password") for n in range(5)
    ]
    right = sign_in(client, agent.email)

    assert [response.status_code for response in wrong] == [200] * 4 + [429]
    assert right.status_code == 429
    assert "Too many failed sign-ins for this account from your network" in right.content.decode()
    assert right["Retry-After"] == "900"
    assert not signed_in_to_the_console(client)
    # Only this address is locked out: the agent still signs in from elsewhere.
    elsewhere = Client(REMOTE_ADDR="203.0.113.9")
    assert sign_in(elsewhere, agent.email).status_code == 302
    assert signed_in_to_the_console(elsewhere)


def test_a_supervisor_sees_the_lockout_and_lifts_it_an_agent_cannot(
    agent: User, agent_client: Client, supervisor_client: Client, settings: Settings
) -> None:
    settings.AXES_FAILURE_LIMIT = 5
    locked = Client()
    for _ in range(5):
        sign_in(locked, agent.email, "wrong-password")
    attempt = AccessAttempt.objects.get(username=agent.email)
    attempts = reverse("admin:axes_accessattempt_changelist")

    assert agent_client.get(attempts).status_code == 403
    page = supervisor_client.get(attempts)
    assert page.status_code == 200
    assert agent.email in page.content.decode()
    assert supervisor_client.get(reverse("admin:axes_accessfailurelog_changelist")).status_code == 200

    lifted = supervisor_client.post(
        reverse("admin:axes_accessattempt_delete", args=[attempt.pk]), {"post": "yes"}
    )

    assert lifted.status_code == 302
    assert sign_in(locked, agent.email).status_code == 302
    assert signed_in_to_the_console(locked)


def test_with_two_factor_on_the_password_alone_is_not_enough(
    two_factor: None, agent: User, device: TOTPDevice
) -> None:
    client = Client()

    response = sign_in(client, agent.email)

    assert response.status_code == 200
    assert 'name="otp_token"' in response.content.decode()
    assert "Enter the 6-digit code from your authenticator app." in response.content.decode()
    assert not signed_in_to_the_console(client)


def test_with_two_factor_on_a_wrong_code_is_refused(
    two_factor: None, agent: User, device: TOTPDevice
) -> None:
    client = Client()

    response = sign_in(
        client, agent.email, otp_token="000000" if current_code(device) != "000000" else "111111"
    )

    assert response.status_code == 200
    assert "The authenticator code is wrong or has expired." in response.content.decode()
    assert not signed_in_to_the_console(client)


def test_with_two_factor_on_the_password_and_the_current_code_open_the_console(
    two_factor: None, agent: User, device: TOTPDevice
) -> None:
    client = Client()

    response = sign_in(client, agent.email, otp_token=current_code(device))

    assert response.status_code == 302
    assert response["Location"] == "/admin/"
    assert 'id="console-queues"' in client.get(reverse("admin:index")).content.decode()


def test_with_two_factor_on_staff_without_an_authenticator_cannot_sign_in(
    two_factor: None, agent: User
) -> None:
    client = Client()

    response = sign_in(client, agent.email, otp_token="123456")

    assert response.status_code == 200
    assert "Your account has no authenticator app set up" in response.content.decode()
    assert not signed_in_to_the_console(client)


def test_with_two_factor_on_a_session_without_the_code_does_not_enter_the_console(
    two_factor: None, agent_client: Client, device: TOTPDevice
) -> None:
    submission = ResidenceCardSubmissionFactory()

    index = agent_client.get(reverse("admin:index"))
    login_page = agent_client.get(index["Location"])
    document = agent_client.get(
        reverse("admin:console_idverificationqueueitem_document", args=[submission.pk])
    )

    assert index.status_code == 302
    assert index["Location"].startswith("/admin/login/")
    assert "the console needs the code from your authenticator app as well" in login_page.content.decode()
    assert document.status_code == 404


def test_with_two_factor_off_the_password_is_enough(settings: Settings, agent: User) -> None:
    settings.STAFF_REQUIRE_2FA = False
    client = Client()

    response = sign_in(client, agent.email)

    assert response.status_code == 302
    assert signed_in_to_the_console(client)


def test_the_sign_in_page_asks_for_the_code_in_japanese(two_factor: None) -> None:
    page = Client().get(LOGIN, headers={"accept-language": "ja"}).content.decode()

    assert "認証コード" in page
