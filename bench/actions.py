"""Benchmark 2: Salesforce API calls per customer action, counted at the emulator.

One customer's journey through the real HTTP API (Django's test client, in-process) against the
emulators: sign-up, sign-ins, eligibility request, residence card, order, cancellation, and the
agent's decision after each step. Every action is followed by outbox delivery
(``outbox_deliver_due``), so a figure is everything the action costs in Salesforce API calls:
the calls the emulator counted (``counters()["total"]``; OAuth token calls are not API calls) and
the requests the portal sent (``api_call_counter``), which differ only when a call failed.

Actions are looked up when the benchmark runs: an endpoint that does not resolve, or a service
module that does not exist yet, shows "not built yet" instead of a number. The agent decisions
go through the console's services (``AGENT_DECISIONS``), as its admin actions do.
"""

from __future__ import annotations

import importlib.util
import io
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from functools import partial
from typing import Any

from django.urls import Resolver404, resolve
from django.utils import timezone
from rest_framework.test import APIClient

from apps.accounts.models import CustomerProfile, EligibilityStatus, IdVerificationStatus, User
from apps.integrations.models import OutboxEntry
from apps.integrations.outbox import outbox_deliver_due
from apps.integrations.salesforce.field_map import get_field_map
from apps.integrations.salesforce.gateway import api_call_counter
from bench.report import Row, verdict
from emulators import EmulatorSuite
from portal.schema import operation_docs

PROXY = {"X-Forwarded-Proto": "https"}
PASSWORD = "violet-harbor-1987"


def documented_request(operation_id: str) -> dict[str, Any]:
    """The request body ``portal/operations.yaml`` documents for an operation: the journey sends
    what the API reference shows, so the example and the benchmark cannot drift apart."""
    return dict(operation_docs()[operation_id]["request"])


def signup_body(email: str) -> dict[str, Any]:
    return {**documented_request("auth_signup"), "email": email, "password": PASSWORD}


class NotBuilt(Exception):
    """The action's endpoint or service does not exist yet."""


class ActionFailed(Exception):
    """The action exists but did not succeed (its figure would be meaningless)."""


@dataclass
class Journey:
    suite: EmulatorSuite
    client: APIClient = field(default_factory=lambda: APIClient(headers=PROXY))
    customer: User | None = None
    staff: User | None = None
    objects: dict[str, Any] = field(default_factory=dict)

    @property
    def user(self) -> User:
        if self.customer is None:
            raise ActionFailed("skipped: the journey has no customer (sign-up failed)")
        return self.customer

    @property
    def agent(self) -> User:
        if self.staff is None:
            raise ActionFailed("skipped: the journey has no agent")
        return self.staff

    @property
    def account_id(self) -> str:
        return self.user.id_mapping.salesforce_account_id


@dataclass(frozen=True)
class Action:
    name: str
    seed_calls: int | None  # the NestJS flows' calls for the same action; None: not stated
    seed_note: str
    target: int
    run: Callable[[Journey], None]


@dataclass(frozen=True)
class Calls:
    counted: int  # by the emulator (accepted API calls)
    sent: int  # by the portal's gateway (every REST request, failures included)
    leftover: int  # outbox entries of the action still undelivered


def require_endpoint(path: str) -> None:
    try:
        resolve(path)
    except Resolver404:
        raise NotBuilt(path) from None


def require_module(name: str) -> None:
    if importlib.util.find_spec(name) is None:
        raise NotBuilt(name)


def expect(response: Any, status: int, what: str) -> Any:
    if response.status_code != status:
        body = getattr(response, "content", b"")[:400]
        raise ActionFailed(f"{what}: HTTP {response.status_code} {body!r}")
    return response


def deliver_due(*, rounds: int = 20) -> None:
    """Deliver everything due now (the action's entries are due at once)."""
    for _ in range(rounds):
        report = outbox_deliver_due(limit=200)
        if report.failed:
            raise ActionFailed(f"outbox entries failed: {report.failed}")
        if not (report.delivered or report.retrying):
            return
    raise ActionFailed("the outbox kept finding work after 20 rounds")


def measure(suite: EmulatorSuite, run: Callable[[], None]) -> Calls:
    deliver_due()
    last_id = OutboxEntry.objects.order_by("-id").values_list("id", flat=True).first() or 0
    counted_before = suite.salesforce.counters()["total"]
    sent_before = api_call_counter.value
    run()
    deliver_due()
    leftover = OutboxEntry.objects.filter(id__gt=last_id).exclude(status=OutboxEntry.Status.DELIVERED).count()
    return Calls(
        counted=suite.salesforce.counters()["total"] - counted_before,
        sent=api_call_counter.value - sent_before,
        leftover=leftover,
    )


# --- customer actions ---------------------------------------------------------------------------


def register(journey: Journey) -> None:
    require_endpoint("/api/auth/signup")
    response = journey.client.post("/api/auth/signup", signup_body("journey@bench.example"), format="json")
    expect(response, 201, "sign-up")
    journey.customer = User.objects.select_related("id_mapping", "profile").get(email="journey@bench.example")


def register_in_sim_checkout(journey: Journey) -> None:
    require_endpoint("/api/checkout/registration")
    client = APIClient(headers=PROXY)
    body = {**signup_body("checkout@bench.example"), "order_type": "sim"}
    expect(client.post("/api/checkout/registration", body, format="json"), 201, "checkout registration")


def sign_in_five_times(journey: Journey) -> None:
    """Five sign-ins within the coalescing window, then the stamp's wait is over."""
    require_endpoint("/api/auth/login")
    for _ in range(5):
        client = APIClient(headers=PROXY)
        body = {"email": journey.user.email, "password": PASSWORD}
        expect(client.post("/api/auth/login", body, format="json"), 200, "sign-in")
    # Skip the coalescing wait (SIGN_IN_STAMP_COALESCE_SECONDS) instead of sleeping through it.
    OutboxEntry.objects.filter(status=OutboxEntry.Status.PENDING).update(next_attempt_at=timezone.now())


def request_eligibility(journey: Journey) -> None:
    require_endpoint("/api/eligibility-request")
    require_module("apps.verification.services")
    client = _signed_in(journey.user)
    expect(
        client.post("/api/eligibility-request", documented_request("eligibility_request"), format="json"),
        201,
        "eligibility request",
    )


def upload_residence_card(journey: Journey) -> None:
    require_endpoint("/api/verification/residence-card")
    require_module("apps.verification.services")
    client = _signed_in(journey.user)
    upload = io.BytesIO(_png())
    upload.name = "card.png"
    response = client.post("/api/verification/residence-card", {"file": upload}, format="multipart")
    expect(response, 201, "residence card upload")


def place_order(journey: Journey) -> None:
    """An internet plan plus its installation fee: two OrderItems (the seed's N=2)."""
    require_endpoint("/api/orders")
    require_module("apps.checkout.services")
    plan, fee = journey.objects["internet_products"]
    client = _signed_in(journey.user)
    body = {
        "product_type": "internet",
        "items": [{"product_id": plan.pk, "quantity": 1}, {"product_id": fee.pk, "quantity": 1}],
    }
    response = client.post("/api/orders", body, format="json", headers={"Idempotency-Key": "bench-order-1"})
    expect(response, 201, "order placement")
    journey.objects["order_id"] = response.json()["id"]


def request_cancellation(journey: Journey) -> None:
    service = journey.objects["cancellable_service"]
    path = f"/api/subscriptions/{service.pk}/cancellation"
    require_endpoint(path)
    require_module("apps.opportunities.services")
    client = _signed_in(journey.user)
    body = {"confirm": True, "comments": "Moving abroad."}
    expect(client.post(path, body, format="json"), 201, "cancellation request")


# --- agent decisions (hooks) --------------------------------------------------------------------


def _profile_id(user: User) -> int:
    return CustomerProfile.objects.only("pk").get(user=user).pk


def _latest_card_id(user: User) -> int:
    from apps.verification.models import ResidenceCardSubmission

    return ResidenceCardSubmission.objects.filter(user=user).latest("submitted_at").pk


def _cancelling_opportunity_id(journey: Journey) -> int:
    from apps.opportunities.models import Opportunity

    service = journey.objects["cancellable_service"]
    return Opportunity.objects.get(user=journey.user, whmcs_service_id=service.whmcs_id).pk


def _mark_eligible(journey: Journey) -> None:
    from apps.console import services

    services.eligibility_mark_eligible(
        agent=journey.agent, profile_id=_profile_id(journey.user), offering="Home 1G"
    )


def _mark_ineligible(journey: Journey) -> None:
    from apps.console import services

    second = journey.objects["second"]
    services.eligibility_mark_ineligible(
        agent=journey.agent, profile_id=_profile_id(second), notes="No fibre to the building yet."
    )


def _verify_id(journey: Journey) -> None:
    from apps.console import services

    services.id_verification_verify(agent=journey.agent, submission_id=_latest_card_id(journey.user))


def _reject_id(journey: Journey) -> None:
    from apps.console import services

    services.id_verification_reject(
        agent=journey.agent,
        submission_id=_latest_card_id(journey.objects["second"]),
        reason="blurry",
        message="The photo is too blurry to read. Please take it again in good light.",
    )


def _approve_order(journey: Journey) -> None:
    from apps.console import services

    services.order_approve(agent=journey.agent, order_id=journey.objects["order_id"])


def _update_line_return(journey: Journey) -> None:
    from apps.console import services

    services.cancellation_line_return_update(
        agent=journey.agent,
        opportunity_id=_cancelling_opportunity_id(journey),
        line_return_status="returned_1",
    )


def _complete_cancellation(journey: Journey) -> None:
    from apps.console import services

    # The scheduled date is the end of this or next month; the agent completes it on that day.
    services.cancellation_complete(
        agent=journey.agent,
        opportunity_id=_cancelling_opportunity_id(journey),
        now=timezone.now() + timedelta(days=62),
    )


# Each decision goes through the console's service, as the admin action does, with
# ``journey.agent`` as the agent, on the journey's customer in the state the step before left, or
# for the two "(2nd customer)" decisions on ``journey.objects["second"]``.
AGENT_DECISIONS: dict[str, Callable[[Journey], None]] = {
    "mark_eligible": _mark_eligible,
    "mark_ineligible": _mark_ineligible,
    "verify_id": _verify_id,
    "reject_id": _reject_id,
    "approve_order": _approve_order,
    "update_line_return": _update_line_return,
    "complete_cancellation": _complete_cancellation,
}


def _decision(name: str, label: str) -> Action:
    return Action(
        f"agent: {label}", 1, "one update in the Salesforce UI", 1, lambda j: AGENT_DECISIONS[name](j)
    )


# The journey, in order. Registration creates the customer every later step uses; where a decision
# is not built yet the state it would have set is put in place directly (``_setup_after``).
JOURNEY: list[Action] = [
    Action(
        "registration (sign-up)", 3, "Account create + Contact create + Account update (WH id)", 2, register
    ),
    Action(
        "registration in SIM checkout",
        4,
        "as sign-up + Opportunity create",
        2,
        register_in_sim_checkout,
    ),
    Action("sign-in x5 (coalesced stamp)", None, "not in the seed figures", 1, sign_in_five_times),
    Action("eligibility request", 2, "Case create + Account update", 1, request_eligibility),
    _decision("mark_eligible", "mark eligible"),
    Action("residence card upload", 2, "ContentVersion create + Account update", 1, upload_residence_card),
    _decision("verify_id", "verify ID"),
    Action(
        "order placement (2 items)",
        4,
        "Opportunity create/update + Order create + 2 OrderItem creates",
        1,
        place_order,
    ),
    _decision("approve_order", "approve order"),
    Action(
        "cancellation",
        3,
        "Case create + Opportunity query + Opportunity update",
        1,
        request_cancellation,
    ),
    _decision("update_line_return", "update line return"),
    _decision("complete_cancellation", "complete cancellation"),
    _decision("mark_ineligible", "mark ineligible (2nd customer)"),
    _decision("reject_id", "reject ID (2nd customer)"),
]


def run(suite: EmulatorSuite) -> list[Row]:
    journey = Journey(suite=suite)
    journey.staff = User.objects.create_user(
        "agent@bench.example", password=PASSWORD, is_staff=True, first_name="Aki", last_name="Agent"
    )
    rows: list[Row] = []
    missing: list[str] = []
    for action in JOURNEY:
        _setup_before(action, journey)
        value, ratio, result = "", "—", ""
        try:
            calls = measure(suite, partial(action.run, journey))
        except NotBuilt as exc:
            value, result = "not built yet", "hook to fill" if "hook to fill" in str(exc) else "not built yet"
        except ActionFailed as exc:
            value, result = "failed", f"FAILED: {exc}"[:160]
            print(f"action failed: {exc}", file=sys.stderr)
        else:
            value = f"{calls.counted} call(s)"
            if calls.sent != calls.counted:
                value += f" ({calls.sent} sent)"
            if calls.leftover:
                value += f", {calls.leftover} undelivered"
            ok = calls.counted <= action.target and calls.sent <= action.target and not calls.leftover
            if action.seed_calls:
                ratio = f"{calls.counted / action.seed_calls:.2f}"
            result = verdict(ok)
        _setup_after(action, journey, built=value not in ("not built yet", "failed"))
        seed = (
            f"seed {action.seed_calls}: {action.seed_note}"
            if action.seed_calls is not None
            else action.seed_note
        )
        rows.append(
            Row("2", f"SF API calls: {action.name}", value, seed, ratio, f"<= {action.target}", result)
        )
        if value == "not built yet":
            missing.append(action.name.removeprefix("agent: "))
    if missing:
        rows.append(
            Row(
                "2", "not built yet (hooks: JOURNEY, AGENT_DECISIONS in bench/actions.py)", "; ".join(missing)
            )
        )
    return rows


# --- set-up between steps (agent-side changes: no API calls) -----------------------------------


def _setup_before(action: Action, journey: Journey) -> None:
    if action.run is place_order and journey.customer is not None:
        journey.objects["internet_products"] = _internet_products(journey.suite)
        # A card in the WHMCS mirror, as the billing sync leaves it once the customer added one
        # (orders WHMCS could not bill are refused); set up agent-side, no Salesforce call.
        from apps.billing.models import WhmcsPaymentMethod

        WhmcsPaymentMethod.objects.get_or_create(
            user=journey.user,
            whmcs_id=990_001,
            defaults={
                "type": WhmcsPaymentMethod.Type.CREDIT_CARD,
                "description": "Visa ending 4242",
                "card_type": "Visa",
                "card_last_four": "4242",
                "expires_on": date(2030, 12, 31),
            },
        )
    if action.run is request_cancellation and journey.customer is not None:
        journey.objects["cancellable_service"] = _active_internet_service(journey)
    if action.name.endswith("(2nd customer)") and "second" not in journey.objects:
        journey.objects["second"] = _second_customer(journey)


def _setup_after(action: Action, journey: Journey, *, built: bool) -> None:
    """Stand in for a decision that is not built yet, so the next step finds its state."""
    if built or journey.customer is None:
        return
    profile = CustomerProfile.objects.get(user=journey.user)
    if action.name == "agent: mark eligible":
        profile.internet_eligibility_status = EligibilityStatus.ELIGIBLE
        profile.internet_eligibility = "Home 1G"
        profile.internet_eligibility_checked_at = timezone.now()
        profile.save()
    elif action.name == "agent: verify ID":
        profile.id_verification_status = IdVerificationStatus.VERIFIED
        profile.id_verification_verified_at = timezone.now()
        profile.save()


def _signed_in(user: User) -> APIClient:
    client = APIClient(headers=PROXY)
    client.force_login(user)
    return client


def _png() -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.frombytes("RGB", (64, 48), os.urandom(64 * 48 * 3)).save(buffer, "PNG")
    return buffer.getvalue()


def _internet_products(suite: EmulatorSuite) -> tuple[Any, Any]:
    from apps.catalog.models import BillingCycle, ItemClass, Product, ProductType

    store = suite.salesforce.store
    standard = store.find_records("Pricebook2", IsStandard=True)[0]
    products = []
    for name, item_class, price, cycle in (
        ("Home 1G", ItemClass.PLAN, "4980.00", BillingCycle.MONTHLY),
        ("Installation", ItemClass.INSTALLATION, "22000.00", BillingCycle.ONE_TIME),
    ):
        product2 = store.create_record("Product2", {"Name": name, "IsActive": True})
        store.create_record(
            "PricebookEntry",
            {
                "Pricebook2Id": standard["Id"],
                "Product2Id": product2["Id"],
                "UnitPrice": float(price),
                "IsActive": True,
            },
        )
        products.append(
            Product.objects.create(
                salesforce_id=product2["Id"],
                name=name,
                sku=name.upper().replace(" ", "-"),
                product_type=ProductType.INTERNET,
                item_class=item_class,
                billing_cycle=cycle,
                price=Decimal(price),
                eligibility_offering="Home 1G" if item_class == ItemClass.PLAN else "",
            )
        )
    return products[0], products[1]


def _active_internet_service(journey: Journey) -> Any:
    """An Active internet line with its Active Opportunity, as fulfilment would have left them."""
    from apps.billing.models import WhmcsService
    from apps.catalog.models import ProductType
    from apps.opportunities.models import CommodityType, Opportunity, OpportunitySource, OpportunityStage

    field_map = get_field_map()
    remote = journey.suite.salesforce.store.create_record(
        "Opportunity",
        field_map.record(
            "Opportunity",
            {
                "account_id": journey.account_id,
                "name": "Sato Hana - Internet (existing line)",
                "stage": OpportunityStage.ACTIVE,
                "close_date": date.today().isoformat(),  # noqa: DTZ011 - a date in the org's records
                "commodity_type": CommodityType.PERSONAL_INTERNET,
            },
        ),
    )
    service = WhmcsService.objects.create(
        user=journey.user,
        whmcs_id=990_001,
        whmcs_product_id=1,
        name="Home 1G",
        product_type=ProductType.INTERNET,
        status=WhmcsService.Status.ACTIVE,
        billing_cycle="Monthly",
        recurring_amount=Decimal("4980.00"),
        registered_on=date(2024, 4, 1),
    )
    Opportunity.objects.create(
        user=journey.user,
        salesforce_id=remote["Id"],
        name="Sato Hana - Internet (existing line)",
        product_type=ProductType.INTERNET,
        stage=OpportunityStage.ACTIVE,
        commodity_type=CommodityType.PERSONAL_INTERNET,
        source=OpportunitySource.ORDER_PLACEMENT,
        whmcs_service_id=service.whmcs_id,
    )
    return service


def _second_customer(journey: Journey) -> User:
    """A customer with a pending eligibility check and a submitted card, for the negative
    decisions (set up through the API but not counted)."""
    client = APIClient(headers=PROXY)
    expect(
        client.post("/api/auth/signup", signup_body("second@bench.example"), format="json"), 201, "sign-up"
    )
    second = User.objects.get(email="second@bench.example")
    try:
        request_eligibility(Journey(suite=journey.suite, customer=second))
        upload_residence_card(Journey(suite=journey.suite, customer=second))
    except NotBuilt:
        pass
    deliver_due()
    return second
