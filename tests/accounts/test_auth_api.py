"""Sign-up, sign-in and out, passwords and /api/me, through the HTTP API and the emulators."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.core import mail
from rest_framework.test import APIClient

from apps.accounts.models import IdMapping, RegistrationAttempt, RegistrationSource, User
from apps.integrations.models import OutboxEntry
from apps.integrations.outbox import outbox_deliver_due
from emulators import EmulatorSuite
from tests.factories import CustomerFactory, UserFactory
from tests.helpers import error_code, error_message, field_messages
from tests.scenarios import SIGNUP

pytestmark = pytest.mark.django_db


@pytest.fixture
def api() -> APIClient:
    return APIClient()


def test_signup_creates_the_customer_everywhere_and_signs_them_in(
    api: APIClient, systems: EmulatorSuite, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=False):
        response = api.post("/api/auth/signup", SIGNUP, format="json")

    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["email"] == "hana.sato@example.com"
    assert body["registration_source"] == RegistrationSource.PORTAL_SIGNUP
    assert body["postal_code"] == "150-0002"
    assert body["prefecture"] == "Tokyo"
    assert (body["prefecture_ja"], body["city_ja"], body["address_line1_ja"], body["address_line2_ja"]) == (
        "東京都",
        "渋谷区",
        "渋谷2-21-1",
        "",
    )
    assert body["phone_number"] == "09012345678"
    assert re.fullmatch(r"P\d{7}", body["customer_number"])

    # Salesforce: Account and Contact in ONE call.
    assert systems.salesforce.counters()["composite"] == 1
    assert systems.salesforce.counters()["total"] == 1
    mapping = IdMapping.objects.get(user__email="hana.sato@example.com")
    account = systems.salesforce.store.get_record("Account", mapping.salesforce_account_id)
    assert account["SF_Account_No__c"] == body["customer_number"]
    assert account["Portal_Status__c"] == "Active"
    assert account["Portal_Registration_Source__c"] == "Portal Signup"
    # The address in romaji on the standard billing address, in Japanese beside it.
    assert (account["BillingPostalCode"], account["BillingState"], account["BillingCity"]) == (
        "150-0002",
        "Tokyo",
        "Shibuya-ku",
    )
    assert account["BillingStreet"] == "2-21-1 Shibuya"
    assert (
        account["Billing_State_JA__c"],
        account["Billing_City_JA__c"],
        account["Billing_Street_JA__c"],
    ) == (
        "東京都",
        "渋谷区",
        "渋谷2-21-1",
    )
    contact = systems.salesforce.store.get_record("Contact", mapping.salesforce_contact_id)
    assert contact["AccountId"] == mapping.salesforce_account_id
    assert contact["Email"] == "hana.sato@example.com"
    # WHMCS: the billing client, tagged as the portal's.
    (client,) = systems.whmcs.state.clients
    assert int(client["id"]) == mapping.whmcs_client_id
    assert client["email"] == "hana.sato@example.com"
    assert "SonixNet portal" in client["notes"]
    # Signed in.
    assert api.get("/api/me").json()["email"] == "hana.sato@example.com"
    # The Account learns its WHMCS id through the outbox: the second and last Salesforce call.
    assert OutboxEntry.objects.get().operation == "registration.link_whmcs_client"
    outbox_deliver_due()
    account = systems.salesforce.store.get_record("Account", mapping.salesforce_account_id)
    assert account["WH_Account__c"] == str(mapping.whmcs_client_id)
    assert systems.salesforce.counters()["total"] == 2
    attempt = RegistrationAttempt.objects.get()
    assert attempt.status == RegistrationAttempt.Status.SUCCEEDED
    assert [(step["step"], step["status"]) for step in attempt.steps] == [
        ("salesforce_account", "started"),
        ("salesforce_account", "succeeded"),
        ("whmcs_client", "started"),
        ("whmcs_client", "succeeded"),
        ("id_mapping", "succeeded"),
    ]
    assert body["account_setup"] == "complete"


def test_a_sign_up_in_romaji_only_still_works_without_a_japanese_address(
    api: APIClient, systems: EmulatorSuite
) -> None:
    romaji_only = {key: value for key, value in SIGNUP.items() if not key.endswith("_ja")}

    response = api.post("/api/auth/signup", romaji_only, format="json")

    assert response.status_code == 201, response.json()
    body = response.json()
    assert (body["prefecture_ja"], body["city_ja"], body["address_line1_ja"]) == ("", "", "")
    mapping = IdMapping.objects.get(user__email="hana.sato@example.com")
    account = systems.salesforce.store.get_record("Account", mapping.salesforce_account_id)
    assert account["BillingCity"] == "Shibuya-ku"
    assert not account.get("Billing_City_JA__c")


def test_a_sign_up_with_part_of_a_japanese_address_names_the_missing_parts(
    api: APIClient, systems: EmulatorSuite
) -> None:
    partial = {**SIGNUP, "city_ja": "", "address_line1_ja": ""}

    response = api.post("/api/auth/signup", partial, format="json")

    assert response.status_code == 400
    assert field_messages(response) == {
        "city_ja": ["Give the whole address in Japanese: this part is missing."],
        "address_line1_ja": ["Give the whole address in Japanese: this part is missing."],
    }
    assert not User.objects.exists()
    assert systems.salesforce.counters()["total"] == 0


def test_a_taken_email_is_refused_before_any_external_call(api: APIClient, systems: EmulatorSuite) -> None:
    UserFactory(email="hana.sato@example.com")

    response = api.post("/api/auth/signup", SIGNUP, format="json")

    assert response.status_code == 400
    assert field_messages(response) == {"email": ["An account with this email address already exists."]}
    assert systems.salesforce.counters()["total"] == 0
    assert systems.whmcs.calls == {}


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("postal_code", "15-00002", "Enter a Japanese postal code like 150-0002."),
        ("prefecture", "Gotham", "Enter one of the 47 prefectures of Japan."),
        ("prefecture_ja", "ゴッサム", "Enter one of the 47 prefectures of Japan in Japanese, like 東京都."),
        ("city_ja", "Shibuya", "Write this in Japanese, like 渋谷区."),
        ("phone_number", "12345", "Enter a Japanese phone number like 090-1234-5678."),
        ("password", "password", "This password is too short. It must contain at least 10 characters."),
    ],
)
def test_bad_input_is_refused_field_by_field(
    api: APIClient, systems: EmulatorSuite, field: str, value: str, message: str
) -> None:
    response = api.post("/api/auth/signup", {**SIGNUP, field: value}, format="json")

    assert response.status_code == 400
    assert message in field_messages(response)[field]
    assert not User.objects.exists()
    assert systems.salesforce.counters()["total"] == 0


def test_login_logout_and_me(api: APIClient) -> None:
    customer = CustomerFactory(email="ren@example.com")

    wrong = api.post("/api/auth/login", {"email": "ren@example.com", "password": "nope"}, format="json")
    right = api.post(
        "/api/auth/login", {"email": "REN@example.com", "password": "correct-horse-battery"}, format="json"
    )

    assert wrong.status_code == 400
    assert (error_code(wrong), error_message(wrong)) == (
        "invalid_credentials",
        "The email address or password is incorrect.",
    )
    assert right.status_code == 200
    assert right.json()["customer_number"] == customer.profile.customer_number
    assert api.get("/api/me").status_code == 200
    assert api.post("/api/auth/logout").status_code == 204
    assert api.get("/api/me").status_code == 401


def test_me_never_shows_whether_the_user_is_staff_and_names_missing_states_null(api: APIClient) -> None:
    customer = CustomerFactory(email="ren@example.com")
    api.force_login(customer)

    body = api.get("/api/me").json()

    assert "is_staff" not in body
    assert (body["internet_eligibility_status"], body["id_verification_status"]) == (None, None)


def test_sign_in_needs_the_csrf_token_from_a_browser() -> None:
    CustomerFactory(email="ren@example.com")
    browser = APIClient(enforce_csrf_checks=True)
    credentials = {"email": "ren@example.com", "password": "correct-horse-battery"}

    refused = browser.post("/api/auth/login", credentials, format="json")
    token = browser.get("/api/auth/csrf").json()["csrf_token"]
    accepted = browser.post("/api/auth/login", credentials, format="json", HTTP_X_CSRFTOKEN=token)

    assert refused.status_code == 403
    assert accepted.status_code == 200


def test_login_is_throttled(api: APIClient) -> None:
    # A different email each time: one email alone is locked out sooner (test_sign_in_protection.py).
    statuses = [
        api.post(
            "/api/auth/login",
            {"email": f"nobody{n}@example.com", "password": "wrong-password"},
            format="json",
        ).status_code
        for n in range(11)
    ]

    assert statuses == [400] * 10 + [429]


def test_password_change_keeps_this_session(api: APIClient) -> None:
    customer = CustomerFactory()
    api.force_login(customer)

    wrong = api.post(
        "/api/auth/password/change",
        {"current_password": "nope", "new_password": "amber-lantern-2024"},
        format="json",
    )
    changed = api.post(
        "/api/auth/password/change",
        {"current_password": "correct-horse-battery", "new_password": "amber-lantern-2024"},
        format="json",
    )

    assert wrong.status_code == 400
    assert field_messages(wrong) == {"current_password": ["Your current password is incorrect."]}
    assert changed.status_code == 204
    assert api.get("/api/me").status_code == 200
    customer.refresh_from_db()
    assert customer.check_password("amber-lantern-2024")


def test_password_reset_by_email_link(api: APIClient) -> None:
    customer = CustomerFactory(email="mei@example.com")

    unknown = api.post("/api/auth/password/reset", {"email": "stranger@example.com"}, format="json")
    known = api.post("/api/auth/password/reset", {"email": "mei@example.com"}, format="json")

    assert unknown.status_code == known.status_code == 202
    (message,) = mail.outbox
    assert message.to == ["mei@example.com"]
    uid, token = re.search(r"uid=([\w-]+)&token=([\w-]+)", message.body).groups()

    bad = api.post(
        "/api/auth/password/reset/confirm", {"uid": uid, "token": "x-y", "new_password": "amber-lantern-2024"}
    )
    good = api.post(
        "/api/auth/password/reset/confirm", {"uid": uid, "token": token, "new_password": "amber-lantern-2024"}
    )
    reused = api.post(
        "/api/auth/password/reset/confirm", {"uid": uid, "token": token, "new_password": "amber-lantern-2025"}
    )

    assert bad.status_code == 400
    assert field_messages(bad) == {"token": ["This reset link is invalid or has expired."]}
    assert good.status_code == 204
    assert reused.status_code == 400
    customer.refresh_from_db()
    assert customer.check_password("amber-lantern-2024")


def test_me_requires_sign_in(api: APIClient) -> None:
    response = api.get("/api/me")

    assert response.status_code == 401
    assert response["WWW-Authenticate"] == 'Session realm="api"'
    assert error_code(response) == "not_authenticated"
