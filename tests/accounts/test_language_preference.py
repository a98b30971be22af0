"""The customer's language: chosen at sign-up, on the pages or through the API, kept on the
account, and spoken by the pages after sign-in and by the emails the customer receives."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.core import mail
from django.test import Client
from rest_framework.test import APIClient

from apps.accounts.models import Language, User
from apps.accounts.services import password_set_invitation_send
from emulators import EmulatorSuite
from tests.factories import CustomerFactory
from tests.helpers import error_code, field_errors
from tests.scenarios import SIGNUP

pytestmark = pytest.mark.django_db

PASSWORD = "correct-horse-battery"


def signed_in(email: str) -> APIClient:
    client = APIClient()
    response = client.post("/api/auth/login", {"email": email, "password": PASSWORD}, format="json")
    assert response.status_code == 200, response.json()
    return client


def test_sign_up_in_japanese_keeps_japanese(systems: EmulatorSuite) -> None:
    client = APIClient()
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "ja"

    response = client.post("/api/auth/signup", SIGNUP, format="json")

    assert response.status_code == 201, response.json()
    assert response.json()["preferred_language"] == Language.JAPANESE
    assert User.objects.get(pk=response.json()["id"]).preferred_language == Language.JAPANESE


def test_the_chosen_language_is_kept_and_set_for_this_browser() -> None:
    CustomerFactory(email="ren@example.com")
    client = signed_in("ren@example.com")

    response = client.put("/api/me/language", {"language": "ja"}, format="json")

    assert response.status_code == 200
    assert response.json() == {"language": "ja"}
    assert response.cookies[settings.LANGUAGE_COOKIE_NAME].value == "ja"
    assert client.get("/api/me").json()["preferred_language"] == "ja"


def test_a_language_the_portal_does_not_speak_is_refused() -> None:
    CustomerFactory(email="ren@example.com")
    client = signed_in("ren@example.com")

    response = client.put("/api/me/language", {"language": "fr"}, format="json")

    assert response.status_code == 400
    assert field_errors(response) == {"language": ["invalid_choice"]}
    assert User.objects.get(email="ren@example.com").preferred_language == Language.ENGLISH


def test_choosing_a_language_needs_a_signed_in_customer() -> None:
    response = APIClient().put("/api/me/language", {"language": "ja"}, format="json")

    assert response.status_code == 401
    assert error_code(response) == "not_authenticated"


def test_signing_in_on_another_browser_brings_the_customers_language() -> None:
    CustomerFactory(email="ren@example.com", preferred_language=Language.JAPANESE)

    response = APIClient().post(
        "/api/auth/login", {"email": "ren@example.com", "password": PASSWORD}, format="json"
    )

    assert response.cookies[settings.LANGUAGE_COOKIE_NAME].value == "ja"


def test_the_pages_language_switch_remembers_a_signed_in_customers_choice() -> None:
    customer = CustomerFactory(email="ren@example.com")
    browser = Client()
    browser.force_login(customer)

    response = browser.post("/i18n/setlang/", {"language": "ja", "next": "/account"})

    assert response.status_code == 302
    assert response.cookies[settings.LANGUAGE_COOKIE_NAME].value == "ja"
    customer.refresh_from_db()
    assert customer.preferred_language == Language.JAPANESE


def test_the_pages_language_switch_still_works_signed_out() -> None:
    response = Client().post("/i18n/setlang/", {"language": "ja", "next": "/"})

    assert response.status_code == 302
    assert response.cookies[settings.LANGUAGE_COOKIE_NAME].value == "ja"


def test_the_reset_email_speaks_the_customers_language_whatever_the_request_speaks() -> None:
    CustomerFactory(email="mei@example.com", preferred_language=Language.JAPANESE)
    client = APIClient()
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"

    response = client.post("/api/auth/password/reset", {"email": "mei@example.com"}, format="json")

    assert response.status_code == 202
    (message,) = mail.outbox
    assert message.subject == "SonixNetポータルのパスワード再設定"
    assert "uid=" in message.body


def test_an_invitation_an_agent_sends_speaks_the_customers_language() -> None:
    english = CustomerFactory(email="en@example.com")
    japanese = CustomerFactory(email="ja@example.com", preferred_language=Language.JAPANESE)

    password_set_invitation_send(user_id=english.pk)
    password_set_invitation_send(user_id=japanese.pk)

    subjects = {message.to[0]: message.subject for message in mail.outbox}
    assert subjects["en@example.com"] == "Welcome to the SonixNet customer portal"
    assert subjects["ja@example.com"] != subjects["en@example.com"]
