"""Each Salesforce failure becomes one typed, retryable-or-not error, with no secrets in it."""

from __future__ import annotations

import dataclasses
import logging

import pytest

from apps.integrations.salesforce.auth import get_session
from apps.integrations.salesforce.exceptions import (
    SalesforceDuplicate,
    SalesforceError,
    SalesforceGeneralError,
    SalesforceMalformedRequest,
    SalesforceNotFound,
    SalesforceOutcomeUnknown,
    SalesforceRequestLimitExceeded,
    SalesforceUnavailable,
)
from apps.integrations.salesforce.gateway import SalesforceGateway, get_gateway
from emulators.salesforce.http_server import SalesforceRestEmulator


def test_injected_503_is_unavailable_and_retryable(
    gateway: SalesforceGateway, salesforce: SalesforceRestEmulator
) -> None:
    # Given
    salesforce.fail_next(status=503, error_code="SERVER_UNAVAILABLE", path_prefix="query")

    # When
    with pytest.raises(SalesforceUnavailable) as caught:
        gateway.query("SELECT Id FROM Account")

    # Then
    assert caught.value.error_code == "SERVER_UNAVAILABLE"
    assert caught.value.status == 503
    assert caught.value.retryable is True
    assert gateway.query("SELECT Id FROM Account") == []


def test_injected_500_is_unavailable(gateway: SalesforceGateway, salesforce: SalesforceRestEmulator) -> None:
    salesforce.fail_next(
        status=500, error_code="UNKNOWN_EXCEPTION", method="POST", path_prefix="sobjects/Account"
    )

    with pytest.raises(SalesforceUnavailable) as caught:
        gateway.create("Account", {"Name": "x"})

    assert (caught.value.error_code, caught.value.status, caught.value.retryable) == (
        "UNKNOWN_EXCEPTION",
        500,
        True,
    )


def test_request_limit_exceeded_is_retryable(
    gateway: SalesforceGateway, salesforce: SalesforceRestEmulator
) -> None:
    salesforce.fail_next(status=403, error_code="REQUEST_LIMIT_EXCEEDED")

    with pytest.raises(SalesforceRequestLimitExceeded) as caught:
        gateway.create("Account", {"Name": "x"})

    assert (caught.value.error_code, caught.value.status, caught.value.retryable) == (
        "REQUEST_LIMIT_EXCEEDED",
        403,
        True,
    )


def test_exhausted_daily_limit_refuses_every_call_until_cleared(
    gateway: SalesforceGateway, salesforce: SalesforceRestEmulator
) -> None:
    # Given
    salesforce.exhaust_api_limit()

    # When / Then
    for call in (lambda: gateway.query("SELECT Id FROM Account"), gateway.limits):
        with pytest.raises(SalesforceRequestLimitExceeded):
            call()
    assert gateway.api_usage is not None
    assert gateway.api_usage.used == gateway.api_usage.max

    # When
    salesforce.clear_faults()

    # Then
    assert gateway.query("SELECT Id FROM Account") == []


def test_missing_record_is_not_found(gateway: SalesforceGateway) -> None:
    with pytest.raises(SalesforceNotFound) as caught:
        gateway.get("Account", "001000000000000AAA")

    assert (caught.value.error_code, caught.value.status, caught.value.retryable) == ("NOT_FOUND", 404, False)


def test_unknown_standard_object_is_not_found(gateway: SalesforceGateway) -> None:
    with pytest.raises(SalesforceNotFound) as caught:
        gateway.create("Spaceship", {"Name": "x"})

    assert caught.value.error_code == "NOT_FOUND"


def test_malformed_query_is_terminal(gateway: SalesforceGateway) -> None:
    with pytest.raises(SalesforceMalformedRequest) as caught:
        gateway.query("SELEKT Id FROM Account")

    assert (caught.value.error_code, caught.value.status, caught.value.retryable) == (
        "MALFORMED_QUERY",
        400,
        False,
    )


@pytest.mark.parametrize(
    ("fields", "error_code", "error_fields"),
    [
        ({"Phone": "1"}, "REQUIRED_FIELD_MISSING", ("Name",)),
        ({"Name": "x", "Nmae": "typo"}, "INVALID_FIELD", ("Nmae",)),
        (
            {"Name": "x", "CreatedDate": "2020-01-01T00:00:00.000+0000"},
            "INVALID_FIELD_FOR_INSERT_UPDATE",
            ("CreatedDate",),
        ),
        ({"Name": "x", "ParentId": "not-an-id"}, "MALFORMED_ID", ("ParentId",)),
        ({"Name": "x", "ParentId": "001000000000000AAA"}, "INVALID_CROSS_REFERENCE_KEY", ("ParentId",)),
    ],
)
def test_invalid_records_are_malformed_requests_with_fields(
    gateway: SalesforceGateway, fields: dict[str, str], error_code: str, error_fields: tuple[str, ...]
) -> None:
    with pytest.raises(SalesforceMalformedRequest) as caught:
        gateway.create("Account", fields)

    assert caught.value.error_code == error_code
    assert caught.value.errors[0].fields == error_fields


def test_duplicate_value_on_a_unique_field(
    gateway: SalesforceGateway, salesforce: SalesforceRestEmulator
) -> None:
    # Given
    salesforce.store.add_field("Account", "Customer_Number__c")
    salesforce.store.add_unique_field("Account", "Customer_Number__c")
    first = gateway.create("Account", {"Name": "A", "Customer_Number__c": "C-0001"})

    # When
    with pytest.raises(SalesforceDuplicate) as caught:
        gateway.create("Account", {"Name": "B", "Customer_Number__c": "c-0001"})

    # Then
    assert caught.value.error_code == "DUPLICATE_VALUE"
    assert caught.value.status == 400
    assert caught.value.retryable is False
    assert caught.value.errors[0].message == (
        f"duplicate value found: Customer_Number__c duplicates value on record with id: {first}"
    )


def test_duplicate_rule_match(gateway: SalesforceGateway, salesforce: SalesforceRestEmulator) -> None:
    salesforce.store.add_duplicate_rule("Contact", "Email")
    gateway.create("Contact", {"LastName": "Suzuki", "Email": "suzuki@example.jp"})

    with pytest.raises(SalesforceDuplicate) as caught:
        gateway.create("Contact", {"LastName": "Suzuki", "Email": "SUZUKI@example.jp"})

    assert caught.value.error_code == "DUPLICATES_DETECTED"


def test_other_refusals_are_general_errors(
    gateway: SalesforceGateway, salesforce: SalesforceRestEmulator
) -> None:
    salesforce.fail_next(status=403, error_code="INSUFFICIENT_ACCESS", message="no access")

    with pytest.raises(SalesforceGeneralError) as caught:
        gateway.limits()

    assert (caught.value.error_code, caught.value.status, caught.value.retryable) == (
        "INSUFFICIENT_ACCESS",
        403,
        False,
    )


def test_slow_responses_time_out_as_unavailable(salesforce: SalesforceRestEmulator, settings) -> None:
    # Given
    gateway = get_gateway()
    settings.SALESFORCE = {**settings.SALESFORCE, "TIMEOUT_SECONDS": 0.2}
    slow_gateway = get_gateway()
    salesforce.add_latency(0.6, path_prefix="limits", count=1)

    # When
    with pytest.raises(SalesforceUnavailable) as caught:
        slow_gateway.limits()

    # Then
    assert caught.value.error_code == "TIMEOUT"
    assert caught.value.retryable is True
    assert gateway.limits()["DailyApiRequests"]["Max"] == 15000


def test_no_token_or_private_key_in_logs_or_errors(
    salesforce: SalesforceRestEmulator, caplog: pytest.LogCaptureFixture, private_key_text: str
) -> None:
    # Given
    caplog.set_level(logging.DEBUG)
    gateway = get_gateway()
    token = get_session().access_token
    salesforce.fail_next(status=503, error_code="SERVER_UNAVAILABLE", path_prefix="query")
    salesforce.fail_next(status=403, error_code="REQUEST_LIMIT_EXCEEDED", path_prefix="sobjects")
    errors: list[SalesforceError] = []

    # When
    for call in (
        lambda: gateway.query("SELECT Id FROM Account"),
        lambda: gateway.create("Account", {"Name": "x"}),
        lambda: gateway.get("Account", "001000000000000AAA"),
        lambda: gateway.query("SELECT nonsense"),
    ):
        with pytest.raises(SalesforceError) as caught:
            call()
        errors.append(caught.value)
    salesforce.expire_sessions()
    gateway.query("SELECT Id FROM Account")

    # Then
    assert [error.error_code for error in errors] == [
        "SERVER_UNAVAILABLE",
        "REQUEST_LIMIT_EXCEEDED",
        "NOT_FOUND",
        "MALFORMED_QUERY",
    ]
    new_token = get_session().access_token
    texts = [
        caplog.text,
        *(str(error) for error in errors),
        *(repr(error) for error in errors),
        repr(gateway),
    ]
    texts += [str(error.__cause__) for error in errors if error.__cause__ is not None]
    for text in texts:
        assert token not in text
        assert new_token not in text
        assert private_key_text[:64] not in text


def test_a_lost_answer_is_told_apart_from_a_request_that_never_left(
    salesforce: SalesforceRestEmulator, settings
) -> None:
    # A read timeout: the request reached Salesforce, which may have applied it
    settings.SALESFORCE = {**settings.SALESFORCE, "TIMEOUT_SECONDS": 0.2}
    salesforce.add_latency(0.6, path_prefix="limits", count=1)
    with pytest.raises(SalesforceOutcomeUnknown) as lost:
        get_gateway().limits()

    # Nothing listening: nothing was sent
    session = get_session()
    unreachable = SalesforceGateway(
        dataclasses.replace(session, instance_url="https://127.0.0.1:9"), session_provider=get_session
    )
    with pytest.raises(SalesforceUnavailable) as refused:
        unreachable.limits()

    assert (lost.value.error_code, lost.value.retryable) == ("TIMEOUT", True)
    assert not isinstance(refused.value, SalesforceOutcomeUnknown)
    assert (refused.value.error_code, refused.value.retryable) == ("CONNECTION_ERROR", True)
