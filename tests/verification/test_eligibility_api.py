"""Internet eligibility requests through the HTTP API and the Salesforce emulator."""

from __future__ import annotations

import datetime
import threading

import pytest
from django.db import connection
from django.utils import timezone
from rest_framework.test import APIClient

from apps.accounts.models import CustomerProfile, EligibilityStatus, User
from apps.integrations.models import OutboxEntry
from apps.integrations.outbox import outbox_deliver_due
from apps.integrations.salesforce.field_map import parse_salesforce_datetime
from apps.opportunities.models import Case, CaseOrigin, CaseStatus, CaseType
from apps.verification.models import EligibilityRequest
from emulators import EmulatorSuite
from tests.factories import CaseFactory, EligibilityRequestFactory, UserFactory
from tests.helpers import MakeCustomer, error_code, error_message, field_errors, field_messages
from tests.scenarios import ADDRESS
from tests.verification.conftest import salesforce_account

pytestmark = pytest.mark.django_db

URL = "/api/eligibility-request"
TIMELINE = (
    "Our team is checking NTT serviceability for your address. This usually takes 1-2 business days, "
    "and we will email you when it is complete."
)


def make_due() -> None:
    OutboxEntry.objects.filter(status=OutboxEntry.Status.PENDING).update(next_attempt_at=timezone.now())


def test_a_request_creates_the_case_and_marks_the_account_pending_in_one_salesforce_call(
    api: APIClient, customer: User, systems: EmulatorSuite
) -> None:
    response = api.post(URL, ADDRESS, format="json")

    assert response.status_code == 201, response.json()
    body = response.json()
    profile = CustomerProfile.objects.get(user=customer)
    assert body == {
        "status": "pending",
        "offering": "",
        "requested_at": body["requested_at"],
        "checked_at": None,
        "notes": "",
        "case_submitted": False,
        "expected_timeline": TIMELINE,
        "address": {
            "postal_code": "150-0002",
            "prefecture": "Tokyo",
            "city": "Shibuya-ku",
            "address_line1": "2-21-1 Shibuya",
            "address_line2": "Room 1203",
            "prefecture_ja": "東京都",
            "city_ja": "渋谷区",
            "address_line1_ja": "渋谷2-21-1",
            "address_line2_ja": "1203号室",
            "housing_type": "apartment",
            "notes": "Fibre socket in the living room.",
            "requested_at": body["address"]["requested_at"],
        },
    }
    assert profile.internet_eligibility_status == EligibilityStatus.PENDING
    assert profile.internet_eligibility_requested_at is not None
    case = Case.objects.get(user=customer)
    assert case.type == CaseType.ELIGIBILITY_CHECK
    assert case.subject == "Internet availability check request (Portal)"
    assert case.origin == CaseOrigin.PORTAL
    assert case.status == CaseStatus.NEW
    assert case.salesforce_id is None
    assert case.description == (
        "The customer asked the portal to check internet availability at this address.\n\n"
        "Address (Japanese): 〒150-0002 東京都渋谷区渋谷2-21-1 1203号室\n"
        "Address (romaji): 〒150-0002 Tokyo Shibuya-ku 2-21-1 Shibuya Room 1203\n"
        "Housing type: apartment\n\n"
        "Customer notes:\nFibre socket in the living room."
    )
    assert EligibilityRequest.objects.get(user=customer).case == case
    # Nothing has been sent yet: the request never waits on Salesforce.
    assert systems.salesforce.counters()["total"] == 0

    report = outbox_deliver_due()

    assert report.api_calls == 1
    assert systems.salesforce.counters()["total"] == 1
    assert systems.salesforce.counters()["composite"] == 1
    case.refresh_from_db()
    profile.refresh_from_db()
    account_id = customer.id_mapping.salesforce_account_id
    (sf_case,) = systems.salesforce.store.find_records("Case")
    assert case.salesforce_id == sf_case["Id"]
    assert profile.internet_eligibility_case_id == sf_case["Id"]
    assert sf_case["AccountId"] == account_id
    assert sf_case["Subject"] == "Internet availability check request (Portal)"
    assert sf_case["Description"] == case.description
    assert sf_case["Origin"] == "Portal"
    assert sf_case["Type"] == "Eligibility Check"
    assert sf_case["Status"] == "New"
    assert sf_case["Priority"] == "Medium"
    account = salesforce_account(systems, account_id)
    assert account["Internet_Eligibility_Status__c"] == "Pending"
    assert account["Internet_Eligibility_Case_Id__c"] == sf_case["Id"]
    requested = profile.internet_eligibility_requested_at
    assert parse_salesforce_datetime(
        account["Internet_Eligibility_Request_Date_Time__c"]
    ) == requested.replace(microsecond=requested.microsecond // 1000 * 1000)
    assert api.get(URL).json()["case_submitted"] is True


def test_a_second_request_while_pending_is_refused_and_writes_nothing(
    api: APIClient, customer: User, systems: EmulatorSuite
) -> None:
    assert api.post(URL, ADDRESS, format="json").status_code == 201

    response = api.post(URL, {**ADDRESS, "address_line1": "1-1-1 Ebisu"}, format="json")

    assert response.status_code == 409
    assert (error_code(response), error_message(response)) == (
        "eligibility_pending",
        "We are already checking internet availability for you. "
        "You will hear from us when the check is complete.",
    )
    assert EligibilityRequest.objects.count() == 1
    assert Case.objects.count() == 1
    assert OutboxEntry.objects.count() == 1


def test_a_customer_who_moved_can_ask_again_after_a_result(
    make_customer: MakeCustomer, systems: EmulatorSuite
) -> None:
    checked_at = timezone.now() - datetime.timedelta(days=90)
    customer = make_customer(
        internet_eligibility_status=EligibilityStatus.ELIGIBLE,
        internet_eligibility="Home 1G",
        internet_eligibility_checked_at=checked_at,
        internet_eligibility_notes="FLET'S available.",
        internet_eligibility_case_id="500000000000001AAA",
    )
    api = APIClient()
    api.force_login(customer)

    response = api.post(URL, ADDRESS, format="json")

    assert response.status_code == 201
    body = response.json()
    assert (body["status"], body["offering"], body["checked_at"], body["notes"], body["case_submitted"]) == (
        "pending",
        "Home 1G",
        None,
        "",
        False,
    )
    outbox_deliver_due()
    account = salesforce_account(systems, customer.id_mapping.salesforce_account_id)
    assert account["Internet_Eligibility_Status__c"] == "Pending"
    assert account["Internet_Eligibility_Checked_Date_Time__c"] is None
    assert account["Internet_Eligibility_Notes__c"] is None


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("postal_code", "15-00002", "Enter a Japanese postal code like 150-0002."),
        ("prefecture", "Gotham", "Enter one of the 47 prefectures of Japan."),
        ("city", "", "This field may not be blank."),
        ("housing_type", "castle", '"castle" is not a valid choice.'),
    ],
)
def test_bad_addresses_are_refused_field_by_field(
    api: APIClient, systems: EmulatorSuite, field: str, value: str, message: str
) -> None:
    response = api.post(URL, {**ADDRESS, field: value}, format="json")

    assert response.status_code == 400
    assert field_messages(response) == {field: [message]}
    assert not EligibilityRequest.objects.exists()
    assert not Case.objects.exists()
    assert not OutboxEntry.objects.exists()


def test_missing_fields_are_refused(api: APIClient, systems: EmulatorSuite) -> None:
    response = api.post(URL, {}, format="json")

    assert response.status_code == 400
    assert set(field_errors(response)) == {
        "postal_code",
        "prefecture",
        "city",
        "address_line1",
        "prefecture_ja",
        "city_ja",
        "address_line1_ja",
    }


def test_a_request_in_romaji_only_is_refused_the_ntt_check_needs_the_japanese_address(
    api: APIClient, systems: EmulatorSuite
) -> None:
    romaji_only = {key: value for key, value in ADDRESS.items() if not key.endswith("_ja")}

    response = api.post(URL, romaji_only, format="json")

    assert response.status_code == 400
    assert field_errors(response) == {
        "prefecture_ja": ["required"],
        "city_ja": ["required"],
        "address_line1_ja": ["required"],
    }
    assert not EligibilityRequest.objects.exists()
    assert not OutboxEntry.objects.exists()


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        (
            {"prefecture_ja": "Tokyo"},
            "prefecture_ja",
            "Enter one of the 47 prefectures of Japan in Japanese, like 東京都.",
        ),
        (
            {"prefecture_ja": "東京市"},
            "prefecture_ja",
            "Enter one of the 47 prefectures of Japan in Japanese, like 東京都.",
        ),
        (
            {"prefecture_ja": "大阪府"},
            "prefecture_ja",
            "This is not the same prefecture as the one in romaji (Tokyo).",
        ),
        ({"city_ja": "Shibuya-ku"}, "city_ja", "Write this in Japanese, like 渋谷区."),
        (
            {"address_line1_ja": "Shibuya 2-21-1"},
            "address_line1_ja",
            "Write this in Japanese, like 神宮前1-2-3.",
        ),
    ],
)
def test_a_japanese_address_part_not_in_japanese_is_refused_with_the_field_named(
    api: APIClient, systems: EmulatorSuite, changes: dict[str, str], field: str, message: str
) -> None:
    response = api.post(URL, {**ADDRESS, **changes}, format="json")

    assert response.status_code == 400
    assert field_messages(response) == {field: [message]}
    assert not EligibilityRequest.objects.exists()


def test_the_japanese_address_is_normalised_and_street_text_is_not_over_restricted(
    api: APIClient, customer: User, systems: EmulatorSuite
) -> None:
    response = api.post(
        URL,
        {
            **ADDRESS,
            "prefecture_ja": " 東京 ",
            "city_ja": "渋谷区",
            "address_line1_ja": "2-21-1",
            "address_line2_ja": "Shibuya Hikarie 34F",
        },
        format="json",
    )

    assert response.status_code == 201, response.json()
    address = response.json()["address"]
    assert (
        address["prefecture_ja"],
        address["city_ja"],
        address["address_line1_ja"],
        address["address_line2_ja"],
    ) == (
        "東京都",
        "渋谷区",
        "2-21-1",
        "Shibuya Hikarie 34F",
    )
    request = EligibilityRequest.objects.get(user=customer)
    assert request.address_ja == "〒150-0002 東京都渋谷区2-21-1 Shibuya Hikarie 34F"


def test_the_request_succeeds_while_salesforce_is_down_and_is_delivered_later(
    api: APIClient, customer: User, systems: EmulatorSuite
) -> None:
    systems.salesforce.fail_next(1, status=503, error_code="SERVER_UNAVAILABLE", path_prefix="/services/data")

    response = api.post(URL, ADDRESS, format="json")
    first = outbox_deliver_due()

    assert response.status_code == 201
    entry = OutboxEntry.objects.get()
    assert first.retrying == [entry.pk]
    assert entry.status == OutboxEntry.Status.PENDING
    assert entry.attempts == 1
    assert not systems.salesforce.store.find_records("Case")
    assert api.get(URL).json()["case_submitted"] is False

    make_due()
    second = outbox_deliver_due()

    entry.refresh_from_db()
    assert second.delivered == [entry.pk]
    assert entry.status == OutboxEntry.Status.DELIVERED
    (sf_case,) = systems.salesforce.store.find_records("Case")
    account = salesforce_account(systems, customer.id_mapping.salesforce_account_id)
    assert account["Internet_Eligibility_Case_Id__c"] == sf_case["Id"]
    assert api.get(URL).json()["case_submitted"] is True


def test_a_customer_with_no_request_sees_nothing_requested(api: APIClient, systems: EmulatorSuite) -> None:
    response = api.get(URL)

    assert response.status_code == 200
    assert response.json() == {
        "status": None,
        "offering": "",
        "requested_at": None,
        "checked_at": None,
        "notes": "",
        "case_submitted": False,
        "expected_timeline": None,
        "address": None,
    }


def test_a_result_shows_the_offering_and_no_timeline(make_customer: MakeCustomer) -> None:
    checked_at = timezone.now()
    customer = make_customer(
        internet_eligibility_status=EligibilityStatus.ELIGIBLE,
        internet_eligibility="Mansion 1G",
        internet_eligibility_checked_at=checked_at,
        internet_eligibility_notes="Building already wired.",
    )
    case = CaseFactory(user=customer, type=CaseType.ELIGIBILITY_CHECK)
    EligibilityRequestFactory(user=customer, case=case)
    api = APIClient()
    api.force_login(customer)

    body = api.get(URL).json()

    assert body["status"] == "eligible"
    assert body["offering"] == "Mansion 1G"
    assert body["notes"] == "Building already wired."
    assert body["expected_timeline"] is None
    assert body["case_submitted"] is True
    assert body["address"]["postal_code"] == "150-0002"


def test_a_customer_only_ever_sees_their_own_status(api: APIClient, make_customer: MakeCustomer) -> None:
    other = make_customer()
    other_api = APIClient()
    other_api.force_login(other)
    assert other_api.post(URL, {**ADDRESS, "address_line1": "9-9-9 Other"}, format="json").status_code == 201

    body = api.get(URL).json()

    assert body["status"] is None
    assert body["address"] is None
    assert other_api.get(URL).json()["address"]["address_line1"] == "9-9-9 Other"


def test_anonymous_callers_are_refused(anonymous: APIClient, systems: EmulatorSuite) -> None:
    assert anonymous.get(URL).status_code == 401
    response = anonymous.post(URL, ADDRESS, format="json")
    assert response.status_code == 401
    assert not EligibilityRequest.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_concurrent_requests_create_exactly_one_check(customer: User, systems: EmulatorSuite) -> None:
    barrier = threading.Barrier(3)
    statuses: list[int] = []
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            client = APIClient()
            client.force_login(customer)
            barrier.wait()
            statuses.append(client.post(URL, ADDRESS, format="json").status_code)
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert errors == []
    assert sorted(statuses) == [201, 409, 409]
    assert EligibilityRequest.objects.count() == 1
    assert Case.objects.count() == 1
    assert OutboxEntry.objects.count() == 1


def test_a_user_without_a_customer_account_is_told_to_contact_support(systems: EmulatorSuite) -> None:
    staff = UserFactory.create(email="agent@sonixnet.example", is_staff=True)
    api = APIClient()
    api.force_login(staff)

    response = api.post(URL, ADDRESS, format="json")

    assert response.status_code == 400
    assert (error_code(response), error_message(response)) == (
        "account_not_linked",
        "Your customer account is not set up yet. Please contact support.",
    )
    assert not EligibilityRequest.objects.exists()
    assert api.get(URL).json()["status"] is None


def test_the_japanese_address_errors_speak_japanese_to_a_japanese_customer(
    api: APIClient, systems: EmulatorSuite
) -> None:
    mismatch = api.post(
        URL, {**ADDRESS, "prefecture_ja": "大阪府"}, format="json", headers={"accept-language": "ja"}
    )
    romaji = api.post(
        URL, {**ADDRESS, "city_ja": "Shibuya-ku"}, format="json", headers={"accept-language": "ja"}
    )

    assert field_messages(mismatch) == {
        "prefecture_ja": ["ローマ字で入力した都道府県（Tokyo）と一致しません。"]
    }
    assert field_messages(romaji) == {"city_ja": ["「渋谷区」のように日本語で入力してください。"]}
