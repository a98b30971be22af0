"""One record in every console queue, with long Japanese text, and the console pages to open."""

from __future__ import annotations

from datetime import timedelta

from django.urls import reverse
from django.utils import timezone

from apps.accounts.models import RegistrationAttempt
from apps.opportunities.models import CaseOrigin, CaseType, LineReturnStatus, OpportunityStage
from emulators import EmulatorSuite
from tests.console.conftest import pending_eligibility, submitted_card
from tests.factories import (
    AgentDecisionFactory,
    CaseFactory,
    CustomerFactory,
    OpportunityFactory,
    OrderFactory,
    RegistrationAttemptFactory,
)
from tests.helpers import MakeCustomer


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
    records = [
        ("eligibilityqueueitem", eligibility_customer.profile.pk),
        ("idverificationqueueitem", submission.pk),
        ("orderapprovalqueueitem", order.pk),
        ("cancellationqueueitem", cancellation.pk),
        ("supportcasequeueitem", case.pk),
        ("registrationqueueitem", attempt.pk),
    ]
    urls = [reverse("admin:index"), reverse("admin:console_agentdecision_changelist")]
    for model, pk in records:
        urls.append(reverse(f"admin:console_{model}_changelist"))
        urls.append(reverse(f"admin:console_{model}_change", args=[pk]))
    return urls
