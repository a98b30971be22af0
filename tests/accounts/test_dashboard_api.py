"""The dashboard: GET /api/me/status and /api/me/summary."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.test import APIClient

from apps.accounts.models import EligibilityStatus, IdVerificationStatus, User
from apps.checkout.models import OrderStatus
from apps.notifications.models import Notification, NotificationType
from apps.verification.models import RejectionReason, ResidenceCardSubmission
from tests.factories import (
    CustomerFactory,
    NotificationFactory,
    OrderFactory,
    ResidenceCardSubmissionFactory,
    WhmcsInvoiceFactory,
    WhmcsPaymentMethodFactory,
    WhmcsServiceFactory,
)

pytestmark = pytest.mark.django_db


def signed_in(customer: User) -> APIClient:
    api = APIClient()
    api.force_login(customer)
    return api


def task_types(body: dict[str, Any]) -> list[str]:
    return [task["type"] for task in body["tasks"]]


def test_a_new_customer_is_onboarded() -> None:
    customer = CustomerFactory(payment_method=None)

    body = signed_in(customer).get("/api/me/status").json()

    assert body["summary"] == {
        "stats": {
            "active_services": 0,
            "unpaid_invoices": 0,
            "orders_in_progress": 0,
            "unread_notifications": 0,
        },
        "next_invoice": None,
        "recent_activity": [],
    }
    assert body["payment_methods"] == {"total_count": 0}
    assert body["internet_eligibility"]["status"] is None
    assert body["residence_card_verification"]["can_resubmit"] is True
    assert body["tasks"] == [
        {
            "type": "onboarding",
            "priority": 5,
            "title": "Welcome to SonixNet",
            "description": "Check internet availability at your address or choose a SIM plan to get started.",
            "action_label": "Browse plans",
            "action_url": "/shop",
        }
    ]


def test_an_active_customer_with_an_invoice_due_is_told_to_pay_and_notified_once() -> None:
    customer = CustomerFactory(payment_method=None)
    today = timezone.localdate()
    WhmcsServiceFactory(user=customer)
    invoice = WhmcsInvoiceFactory(
        user=customer, number="INV-00042", due_on=today + timedelta(days=3), total=Decimal("5280.00")
    )
    WhmcsInvoiceFactory(user=customer, due_on=today + timedelta(days=40))
    WhmcsPaymentMethodFactory(user=customer)
    api = signed_in(customer)

    body = api.get("/api/me/status").json()
    api.get("/api/me/status")

    assert body["summary"]["stats"]["active_services"] == 1
    assert body["summary"]["stats"]["unpaid_invoices"] == 2
    assert body["summary"]["next_invoice"]["number"] == "INV-00042"
    assert body["summary"]["next_invoice"]["is_overdue"] is False
    assert body["payment_methods"] == {"total_count": 1}
    assert task_types(body) == ["invoice_due"]
    assert body["tasks"][0]["priority"] == 2
    assert (
        body["tasks"][0]["description"]
        == f"Invoice INV-00042 for ¥5,280 is due on {invoice.due_on.isoformat()}."
    )
    (notification,) = Notification.objects.filter(user=customer, type=NotificationType.INVOICE_DUE)
    assert notification.source_id == str(invoice.whmcs_id)


def test_an_overdue_invoice_comes_first() -> None:
    customer = CustomerFactory()
    WhmcsInvoiceFactory(user=customer, due_on=timezone.localdate() - timedelta(days=1))
    customer.profile.id_verification_status = IdVerificationStatus.REJECTED
    customer.profile.save()

    body = signed_in(customer).get("/api/me/status").json()

    assert task_types(body) == ["invoice_due", "id_verification_rejected"]
    assert body["tasks"][0]["title"] == "Invoice overdue"
    assert body["tasks"][0]["priority"] == 1


def test_rejected_id_shows_the_reason_and_can_be_resubmitted() -> None:
    customer = CustomerFactory()
    profile = customer.profile
    profile.id_verification_status = IdVerificationStatus.REJECTED
    profile.id_verification_rejection_message = "The card has expired."
    profile.save()
    ResidenceCardSubmissionFactory(
        user=customer,
        status=ResidenceCardSubmission.Status.REJECTED,
        rejection_reason=RejectionReason.EXPIRED,
    )

    body = signed_in(customer).get("/api/me/status").json()

    rejection = body["residence_card_verification"]["rejection"]
    assert (rejection["reason"], rejection["message"]) == ("expired", "The card has expired.")
    assert rejection["remediation"]
    assert body["residence_card_verification"]["can_resubmit"] is True
    assert task_types(body) == ["id_verification_rejected"]
    assert body["tasks"][0]["description"] == "The card has expired."


def test_pending_eligibility_and_an_order_in_progress_without_a_card() -> None:
    customer = CustomerFactory(payment_method=None)
    customer.profile.internet_eligibility_status = EligibilityStatus.PENDING
    customer.profile.save()
    OrderFactory(user=customer, status=OrderStatus.PENDING_REVIEW)

    body = signed_in(customer).get("/api/me/status").json()

    assert task_types(body) == ["add_payment_method", "order_in_progress", "eligibility_pending"]
    assert body["internet_eligibility"]["status"] == "pending"
    assert body["summary"]["stats"]["orders_in_progress"] == 1
    assert body["summary"]["recent_activity"][0]["type"] == "order"


def test_payment_method_count_is_null_without_a_billing_account() -> None:
    customer = CustomerFactory()
    customer.id_mapping.whmcs_client_id = None
    customer.id_mapping.save()

    body = signed_in(customer).get("/api/me/status").json()

    assert body["payment_methods"] == {"total_count": None}


def test_summary_matches_the_status_summary() -> None:
    customer = CustomerFactory()
    NotificationFactory(user=customer)
    api = signed_in(customer)

    summary = api.get("/api/me/summary").json()

    assert summary == api.get("/api/me/status").json()["summary"]
    assert summary["stats"]["unread_notifications"] == 1


def test_only_the_signed_in_customer_is_shown() -> None:
    mine, theirs = CustomerFactory(), CustomerFactory()
    WhmcsServiceFactory(user=theirs)
    NotificationFactory(user=theirs)

    body = signed_in(mine).get("/api/me/status").json()

    assert body["summary"]["stats"]["active_services"] == 0
    assert body["summary"]["stats"]["unread_notifications"] == 0


def test_anonymous_gets_no_dashboard() -> None:
    assert APIClient().get("/api/me/status").status_code == 401
    assert APIClient().get("/api/me/summary").status_code == 401


def grow_history(customer: User, size: int) -> None:
    today = timezone.localdate()
    for n in range(size):
        NotificationFactory(user=customer)
        OrderFactory(user=customer, status=OrderStatus.ACTIVATED)
        WhmcsInvoiceFactory(user=customer, due_on=today + timedelta(days=30 + n))
        WhmcsServiceFactory(user=customer)


def test_the_query_count_stays_constant_as_history_grows() -> None:
    small, large = CustomerFactory(), CustomerFactory()
    grow_history(small, 1)
    grow_history(large, 25)
    small_api, large_api = signed_in(small), signed_in(large)
    small_api.get("/api/me/status")  # warm the session

    with CaptureQueriesContext(connection) as small_queries:
        assert small_api.get("/api/me/status").status_code == 200
    large_api.get("/api/me/status")
    with CaptureQueriesContext(connection) as large_queries:
        assert large_api.get("/api/me/status").status_code == 200

    assert len(large_queries) == len(small_queries)
    assert len(large_queries) <= 8


@pytest.mark.parametrize(("required", "expected"), [(True, ["id_verification_required"]), (False, [])])
def test_internet_id_requirement_is_a_setting_shown_as_a_task(
    settings: Any, required: bool, expected: list[str]
) -> None:
    settings.INTERNET_ORDERS_REQUIRE_ID_VERIFICATION = required
    customer = CustomerFactory()
    customer.profile.internet_eligibility_status = EligibilityStatus.ELIGIBLE
    customer.profile.internet_eligibility = "Home 1G"
    customer.profile.save()

    body = signed_in(customer).get("/api/me/status").json()

    assert task_types(body) == expected


def test_an_indent_asked_for_in_accept_is_honoured_with_the_same_content(settings: Any) -> None:
    # The cached JSON is sent as it is only to clients taking plain JSON.
    settings.DASHBOARD_CACHE_SECONDS = 30
    customer = CustomerFactory()
    NotificationFactory(user=customer)
    api = signed_in(customer)
    compact = api.get("/api/me/status")

    indented = api.get("/api/me/status", HTTP_ACCEPT="application/json; indent=2")

    assert indented.status_code == 200
    assert indented.content.startswith(b'{\n  "summary"')
    assert indented.json() == compact.json()
    assert compact.content.startswith(b'{"summary":{"stats":{')
    assert compact["Content-Type"] == "application/json"
