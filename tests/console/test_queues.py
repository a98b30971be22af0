"""The four queues: what each lists by default, in which order, their search and filters, and
the counts on the admin index."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from apps.accounts.models import CustomerProfile, EligibilityStatus, IdVerificationStatus, User
from apps.catalog.models import ProductType
from apps.checkout.models import OrderStatus
from apps.console.selectors import console_queue_counts
from apps.opportunities.models import LineReturnStatus, OpportunityStage
from apps.verification.models import EligibilityRequest, ResidenceCardSubmission
from emulators import EmulatorSuite
from tests.console.conftest import pending_eligibility
from tests.factories import (
    AgentFactory,
    CustomerFactory,
    EligibilityRequestFactory,
    OpportunityFactory,
    OrderFactory,
    ResidenceCardSubmissionFactory,
)
from tests.helpers import MakeCustomer

pytestmark = pytest.mark.django_db

ELIGIBILITY = reverse("admin:console_eligibilityqueueitem_changelist")
ID_VERIFICATION = reverse("admin:console_idverificationqueueitem_changelist")
ORDERS = reverse("admin:console_orderapprovalqueueitem_changelist")
CANCELLATIONS = reverse("admin:console_cancellationqueueitem_changelist")


def rows(page: str, marker: str) -> list[int]:
    """The order in which ``marker``-prefixed change links appear in a changelist page."""
    return [int(pk) for pk in re.findall(re.escape(marker) + r"(\d+)/change/", page)]


def test_the_eligibility_queue_lists_pending_checks_oldest_first_with_age_and_sla(
    systems: EmulatorSuite, make_customer: MakeCustomer, agent_client: Client
) -> None:
    now = timezone.now()
    newer, _, _ = pending_eligibility(systems, make_customer, requested_at=now - timedelta(hours=3))
    older, _, _ = pending_eligibility(systems, make_customer, requested_at=now - timedelta(days=6))
    decided = make_customer(
        internet_eligibility_status=EligibilityStatus.ELIGIBLE,
        internet_eligibility_requested_at=now - timedelta(days=9),
    )
    make_customer()  # never asked

    page = agent_client.get(ELIGIBILITY).content.decode()

    assert rows(page, "/admin/console/eligibilityqueueitem/") == [older.profile.pk, newer.profile.pk]
    assert "6 days" in page
    assert "3 hours" in page
    assert page.count("console-badge-overdue") == 1
    # the address the NTT check reads: the Japanese one
    assert "〒150-0002 東京都渋谷区渋谷2-21-1" in page

    everything = agent_client.get(ELIGIBILITY, {"state": "all"}).content.decode()
    assert rows(everything, "/admin/console/eligibilityqueueitem/") == [
        decided.profile.pk,
        older.profile.pk,
        newer.profile.pk,
    ]


def test_a_request_made_before_the_japanese_address_was_asked_for_shows_the_romaji_one(
    systems: EmulatorSuite, make_customer: MakeCustomer, agent_client: Client
) -> None:
    _, request, _ = pending_eligibility(systems, make_customer)
    request.prefecture_ja = request.city_ja = request.address_line1_ja = ""
    request.save(update_fields=["prefecture_ja", "city_ja", "address_line1_ja"])

    page = agent_client.get(ELIGIBILITY).content.decode()

    assert "〒150-0002 Tokyo Shibuya-ku 2-21-1 Shibuya" in page
    assert "東京都" not in page


def test_the_eligibility_queue_filters_by_sla_and_searches(
    systems: EmulatorSuite, make_customer: MakeCustomer, agent_client: Client
) -> None:
    now = timezone.now()
    fresh, _, _ = pending_eligibility(systems, make_customer, requested_at=now - timedelta(minutes=5))
    late, _, _ = pending_eligibility(systems, make_customer, requested_at=now - timedelta(days=10))

    overdue = agent_client.get(ELIGIBILITY, {"sla": "overdue"}).content.decode()
    on_time = agent_client.get(ELIGIBILITY, {"sla": "on_time"}).content.decode()
    found = agent_client.get(ELIGIBILITY, {"q": fresh.email}).content.decode()

    assert rows(overdue, "/admin/console/eligibilityqueueitem/") == [late.profile.pk]
    assert rows(on_time, "/admin/console/eligibilityqueueitem/") == [fresh.profile.pk]
    assert rows(found, "/admin/console/eligibilityqueueitem/") == [fresh.profile.pk]


@pytest.mark.parametrize(
    ("query", "who"),
    [
        # the latest request's address, part by part or run together
        ("神南1-2-3", "shibuya"),
        ("東京都渋谷区神南1-2-3", "shibuya"),
        ("渋谷区 神南", "shibuya"),
        # the customer's own address (their profile)
        ("渋谷2-21-1", "shibuya"),
        ("大阪市北区梅田", "osaka"),
        # an earlier request's
        ("札幌市中央区", "osaka"),
        ("北1条西2-1", "osaka"),
        # and what it found before
        ("osaka@example.com", "osaka"),
        ("150-0002", "shibuya"),
    ],
)
def test_the_eligibility_queue_searches_the_japanese_address(
    systems: EmulatorSuite, make_customer: MakeCustomer, agent_client: Client, query: str, who: str
) -> None:
    shibuya, request, _ = pending_eligibility(systems, make_customer)
    request.address_line1_ja = "神南1-2-3"
    request.save(update_fields=["address_line1_ja"])
    osaka, osaka_request, _ = pending_eligibility(systems, make_customer)
    User.objects.filter(pk=osaka.pk).update(email="osaka@example.com")
    CustomerProfile.objects.filter(user=osaka).update(
        postal_code="530-0001", prefecture_ja="大阪府", city_ja="大阪市北区", address_line1_ja="梅田1-1-1"
    )
    EligibilityRequest.objects.filter(pk=osaka_request.pk).update(
        postal_code="530-0001", prefecture_ja="大阪府", city_ja="大阪市北区", address_line1_ja="梅田1-1-1"
    )
    earlier = EligibilityRequestFactory(
        user=osaka,
        postal_code="060-0001",
        prefecture_ja="北海道",
        city_ja="札幌市中央区",
        address_line1_ja="北1条西2-1",
    )
    EligibilityRequest.objects.filter(pk=earlier.pk).update(
        created_at=osaka_request.created_at - timedelta(days=30)
    )

    found = agent_client.get(ELIGIBILITY, {"q": query}).content.decode()

    expected = {"shibuya": shibuya, "osaka": osaka}[who]
    assert rows(found, "/admin/console/eligibilityqueueitem/") == [expected.profile.pk]


def test_the_id_verification_queue_lists_submitted_cards_oldest_first(agent_client: Client) -> None:
    newer = ResidenceCardSubmissionFactory(user=CustomerFactory())
    older = ResidenceCardSubmissionFactory(user=CustomerFactory())
    ResidenceCardSubmission.objects.filter(pk=older.pk).update(
        submitted_at=timezone.now() - timedelta(days=2)
    )
    verified = ResidenceCardSubmissionFactory(
        user=CustomerFactory(), status=ResidenceCardSubmission.Status.VERIFIED
    )

    page = agent_client.get(ID_VERIFICATION).content.decode()
    done = agent_client.get(ID_VERIFICATION, {"state": "verified"}).content.decode()
    found = agent_client.get(ID_VERIFICATION, {"q": newer.user.email}).content.decode()
    pdfs = agent_client.get(ID_VERIFICATION, {"content_type": "application/pdf"}).content.decode()

    marker = "/admin/console/idverificationqueueitem/"
    assert rows(page, marker) == [older.pk, newer.pk]
    assert rows(done, marker) == [verified.pk]
    assert rows(found, marker) == [newer.pk]
    assert rows(pdfs, marker) == []
    assert "1990-04-01" in page or "April 1, 1990" in page


def test_the_order_queue_lists_orders_pending_review_with_prerequisites(agent_client: Client) -> None:
    eligible = CustomerFactory(
        profile__internet_eligibility_status=EligibilityStatus.ELIGIBLE,
        profile__internet_eligibility="Home 1G",
    )
    unverified = CustomerFactory(profile__id_verification_status=IdVerificationStatus.SUBMITTED)
    first = OrderFactory(user=eligible, total_amount=Decimal("4980.00"))
    second = OrderFactory(user=unverified, product_type=ProductType.SIM)
    OrderFactory(user=eligible, status=OrderStatus.APPROVED)

    page = agent_client.get(ORDERS).content.decode()
    sims = agent_client.get(ORDERS, {"product_type__exact": ProductType.SIM}).content.decode()
    found = agent_client.get(ORDERS, {"q": first.order_number}).content.decode()

    marker = "/admin/console/orderapprovalqueueitem/"
    assert rows(page, marker) == [first.pk, second.pk]
    assert page.count("console-badge-ok") == 1  # prerequisites met for the first only
    assert page.count("console-badge-overdue") == 1
    assert rows(sims, marker) == [second.pk]
    assert rows(found, marker) == [first.pk]


def test_the_cancellation_queue_lists_cancelling_services_by_scheduled_date(agent_client: Client) -> None:
    later = OpportunityFactory(
        user=CustomerFactory(),
        stage=OpportunityStage.CANCELLING,
        scheduled_cancellation_at=datetime(2026, 3, 31, 14, 59, tzinfo=UTC),
        line_return_status=LineReturnStatus.SENT_KIT,
    )
    sooner = OpportunityFactory(
        user=CustomerFactory(),
        product_type=ProductType.SIM,
        stage=OpportunityStage.CANCELLING,
        sim_scheduled_cancellation_at=datetime(2026, 1, 31, 14, 59, tzinfo=UTC),
    )
    OpportunityFactory(user=CustomerFactory(), stage=OpportunityStage.ACTIVE)

    page = agent_client.get(CANCELLATIONS).content.decode()
    returns = agent_client.get(
        CANCELLATIONS, {"line_return_status__exact": LineReturnStatus.SENT_KIT}
    ).content.decode()

    marker = "/admin/console/cancellationqueueitem/"
    assert rows(page, marker) == [sooner.pk, later.pk]
    assert "SentKit" in page
    assert "2026-03-31" in page or "March 31, 2026" in page
    assert rows(returns, marker) == [later.pk]


def test_the_admin_index_shows_the_open_count_of_each_queue(
    systems: EmulatorSuite, make_customer: MakeCustomer, agent_client: Client
) -> None:
    pending_eligibility(systems, make_customer, requested_at=timezone.now() - timedelta(days=7))
    pending_eligibility(systems, make_customer)
    ResidenceCardSubmissionFactory(user=CustomerFactory())
    OrderFactory(user=CustomerFactory())
    OrderFactory(user=CustomerFactory())
    OrderFactory(user=CustomerFactory())
    OpportunityFactory(user=CustomerFactory(), stage=OpportunityStage.CANCELLING)

    page = agent_client.get(reverse("admin:index")).content.decode()

    assert 'id="console-queues"' in page
    counts = {q.key: (q.count, q.overdue) for q in console_queue_counts(user=AgentFactory())}
    assert counts == {
        "eligibility": (2, 1),
        "id_verification": (1, 0),
        "order_approval": (3, 0),
        "cancellation": (1, 0),
        "support_case": (0, 0),
    }
    for key in counts:
        assert f'id="console-queue-{key}"' in page
    assert '<td class="console-queue-count">3</td>' in page
    assert "1 past SLA" in page


def test_nothing_can_be_added_edited_or_deleted_through_the_queues(agent_client: Client) -> None:
    order = OrderFactory(user=CustomerFactory())

    add = agent_client.get(reverse("admin:console_orderapprovalqueueitem_add"))
    delete = agent_client.post(reverse("admin:console_orderapprovalqueueitem_delete", args=[order.pk]))
    page = agent_client.get(ORDERS).content.decode()

    assert add.status_code == 403
    assert delete.status_code == 403
    assert "action-checkbox" not in page
