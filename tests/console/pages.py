"""One record in every console queue, with long Japanese text, and the console pages to open:
every list and record page a supervisor may open (``console_page_names`` checks that against
the admin site), the customer page and the search with its results."""

from __future__ import annotations

from datetime import timedelta

from axes.models import AccessAttempt, AccessFailureLog, AccessLog
from django.urls import reverse
from django.utils import timezone

from apps.accounts.models import RegistrationAttempt
from apps.console.models import AgentDecision
from apps.integrations.models import OUTCOME_UNKNOWN, OutboxEntry
from apps.opportunities.models import CaseOrigin, CaseType, LineReturnStatus, OpportunityStage
from emulators import EmulatorSuite
from tests.console.conftest import pending_eligibility, submitted_card
from tests.factories import (
    AgentDecisionFactory,
    CaseFactory,
    CustomerFactory,
    OpportunityFactory,
    OrderFactory,
    OutboxEntryFactory,
    PriceMismatchFactory,
    RegistrationAttemptFactory,
)
from tests.helpers import MakeCustomer, account_id_of


def console_pages(systems: EmulatorSuite, make_customer: MakeCustomer) -> list[str]:
    """A record of every queue, with long Japanese text and addresses, and the URLs to open."""
    long_subject = "光回線の速度が夜になると極端に遅くなり動画が止まってしまう件について至急ご確認ください"
    eligibility_customer, request, _ = pending_eligibility(
        systems, make_customer, requested_at=timezone.now() - timedelta(days=5)
    )
    request.address_line1 = "渋谷二丁目21番1号 渋谷ヒカリエ ステーションタワー34階 ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    request.save(update_fields=["address_line1"])
    AgentDecisionFactory(
        customer=eligibility_customer,
        subject_id=str(eligibility_customer.profile.pk),
        before={"internet_eligibility_status": "eligible", "internet_eligibility_checked_at": None},
        after={
            "internet_eligibility_status": "pending",
            "internet_eligibility_checked_at": "2026-03-02T01:30:00+00:00",
            "internet_eligibility": "Home 10G with a very long offering name for the sidebar",
        },
        note="Reopened after the customer sent a corrected building name " * 3,
    )
    _, submission = submitted_card(systems, make_customer)
    order = OrderFactory(user=CustomerFactory())
    cancellation = OpportunityFactory(
        user=CustomerFactory(),
        stage=OpportunityStage.CANCELLING,
        scheduled_cancellation_at=timezone.now() + timedelta(days=20),
        line_return_status=LineReturnStatus.SENT_KIT,
    )
    case = CaseFactory(
        user=CustomerFactory(),
        type=CaseType.GENERAL_INQUIRY,
        origin=CaseOrigin.PORTAL_WEBSITE,
        subject=long_subject,
        description=f"Category: Technical\n\n{long_subject * 4}",
    )
    attempt = RegistrationAttemptFactory(
        status=RegistrationAttempt.Status.NEEDS_ATTENTION,
        error="Salesforce refused the Account: REQUIRED_FIELD_MISSING " * 4,
    )
    failed_write = OutboxEntryFactory(
        record_key=f"Account:{account_id_of(eligibility_customer)}",
        operation="console.eligibility.mark_eligible",
        status=OutboxEntry.Status.FAILED,
        attempts=12,
        last_error=f"{OUTCOME_UNKNOWN}: the connection dropped after the request was sent " * 3,
        payload={"subrequests": [{"body": {"Internet_Eligibility__c": long_subject}}]},
    )
    OutboxEntryFactory(
        record_key=f"Account:{account_id_of(eligibility_customer)}",
        operation="account.signed_in",
        status=OutboxEntry.Status.FAILED,
        last_error="UNABLE_TO_LOCK_ROW: unable to obtain exclusive access to this record",
        payload={"coalesced": True},
    )
    mismatch = PriceMismatchFactory()
    attempt_at = timezone.now() - timedelta(minutes=5)
    lockout = AccessAttempt.objects.create(
        username=eligibility_customer.email,
        ip_address="203.0.113.7",
        user_agent="Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 " * 3,
        http_accept="text/html",
        path_info="/api/auth/login",
        failures_since_start=5,
        attempt_time=attempt_at,
    )
    access = AccessLog.objects.create(
        username=eligibility_customer.email,
        ip_address="203.0.113.7",
        user_agent="Mozilla/5.0",
        http_accept="text/html",
        path_info="/api/auth/login",
        attempt_time=attempt_at,
    )
    failure = AccessFailureLog.objects.create(
        username=eligibility_customer.email,
        ip_address="203.0.113.7",
        user_agent="Mozilla/5.0",
        http_accept="text/html",
        path_info="/api/auth/login",
        attempt_time=attempt_at,
        locked_out=True,
    )
    records = [
        ("console", "eligibilityqueueitem", eligibility_customer.profile.pk),
        ("console", "idverificationqueueitem", submission.pk),
        ("console", "orderapprovalqueueitem", order.pk),
        ("console", "cancellationqueueitem", cancellation.pk),
        ("console", "supportcasequeueitem", case.pk),
        ("console", "registrationqueueitem", attempt.pk),
        ("console", "salesforcewritequeueitem", failed_write.pk),
        ("console", "agentdecision", AgentDecision.objects.order_by("pk").values_list("pk", flat=True)[0]),
        ("catalog", "pricemismatch", mismatch.pk),
        ("axes", "accessattempt", lockout.pk),
        ("axes", "accesslog", access.pk),
        ("axes", "accessfailurelog", failure.pk),
    ]
    urls = [
        reverse("admin:index"),
        reverse("admin:console_customer", args=[eligibility_customer.pk]),
        reverse("admin:console_customer_search"),
        f"{reverse('admin:console_customer_search')}?q=Sato",
    ]
    for app_label, model, pk in records:
        urls.append(reverse(f"admin:{app_label}_{model}_changelist"))
        urls.append(reverse(f"admin:{app_label}_{model}_change", args=[pk]))
    return urls
