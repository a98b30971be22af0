"""Order fulfillment end to end: an agent approves an Order in the Salesforce emulator, the flow
publishes ``OrderProvisionRequested__e``, the subscriber records it and the fulfillment task
provisions the order in the WHMCS emulator and reports back to Salesforce."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone
from pytest_django import DjangoCaptureOnCommitCallbacks
from pytest_django.fixtures import Settings as SettingsWrapper

from apps.billing.models import WhmcsInvoice, WhmcsService
from apps.checkout.fulfillment import (
    ADD_ORDER_SETTLE_MARGIN,
    FulfillmentRetry,
    fulfillment_request,
    fulfillment_run_execute,
)
from apps.checkout.models import ActivationStatus, FulfillmentRun, Order, OrderStatus
from apps.checkout.tasks import fulfill_order_task, resume_fulfillments_task
from apps.integrations.models import OutboxEntry
from apps.integrations.outbox import outbox_deliver_due
from apps.notifications.models import Notification, NotificationType
from apps.opportunities.models import Opportunity, OpportunityStage
from emulators import EmulatorSuite
from tests.helpers import Background, wait_until
from tests.scenarios import (
    ORDER_TOPIC,
    ApprovedOrderScenario,
    republish_last,
    run_subscriber,
    seed_cursor,
    seed_order,
)


def notifications(scenario: ApprovedOrderScenario) -> list[tuple[str, str | None]]:
    return list(
        Notification.objects.filter(user=scenario.customer)
        .order_by("created_at")
        .values_list("type", "source_id")
    )


def approve(systems: EmulatorSuite, scenario: ApprovedOrderScenario) -> None:
    """The agent approves the order in Salesforce (the flow publishes the event)."""
    systems.salesforce.store.update_record("Order", scenario.order_id, {"Status": "Approved"})


def provision_request(systems: EmulatorSuite, scenario: ApprovedOrderScenario) -> dict[str, object]:
    approve(systems, scenario)
    return systems.bus.decode(systems.bus.events(ORDER_TOPIC)[-1])


def sf_order(systems: EmulatorSuite, scenario: ApprovedOrderScenario) -> dict[str, object]:
    record = systems.salesforce.store.get_record("Order", scenario.order_id)
    assert record is not None
    return record


def requested_run(systems: EmulatorSuite) -> FulfillmentRun:
    """An order awaiting review, approved in Salesforce, its provision request recorded."""
    run = fulfillment_request(payload=provision_request(systems, seed_order(systems)), event_id="evt-1")
    assert run is not None
    return run


def whmcs_calls(systems: EmulatorSuite) -> dict[str, int]:
    calls = systems.whmcs.calls
    return {action: calls.get(action, 0) for action in ("addorder", "acceptorder", "getorders")}


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("eager_celery")
def test_an_approved_order_ends_activated_in_every_system(systems: EmulatorSuite) -> None:
    # Given an order awaiting review and the subscriber's position
    scenario = seed_order(systems)
    seed_cursor(systems, ORDER_TOPIC)

    # When the agent approves it and the subscriber handles the event (delivered twice)
    approve(systems, scenario)
    republish_last(systems, ORDER_TOPIC)
    run_subscriber(ORDER_TOPIC, 2)

    # Then WHMCS has one accepted order with the plan, the installation and the invoice
    [whmcs_order] = systems.whmcs.state.orders
    services = sorted(systems.whmcs.state.services, key=lambda service: service["id"])
    [invoice] = systems.whmcs.state.invoices
    assert (whmcs_order["status"], whmcs_order["userid"], whmcs_order["invoiceid"]) == (
        "Active",
        scenario.whmcs_client_id,
        invoice["id"],
    )
    assert [(s["pid"], s["status"], s["billingcycle"], s["configoptions"]) for s in services] == [
        (1, "Active", "Monthly", {"1": 2}),
        (3, "Active", "One Time", {}),
    ]
    assert whmcs_calls(systems) == {"addorder": 1, "acceptorder": 1, "getorders": 0}
    plan_service_id = services[0]["id"]

    # And Salesforce shows the order activated and the opportunity active with the service
    order = sf_order(systems, scenario)
    assert (
        order["Status"],
        order["Activation_Status__c"],
        order["WHMCS_Order_ID__c"],
        order["Activation_Error_Code__c"],
    ) == ("Completed", "Activated", str(whmcs_order["id"]), None)
    opportunity = systems.salesforce.store.get_record("Opportunity", scenario.opportunity_id)
    assert opportunity is not None
    assert (opportunity["StageName"], opportunity["WHMCS_Service_ID__c"]) == ("Active", plan_service_id)
    assert set(OutboxEntry.objects.values_list("status", flat=True)) == {OutboxEntry.Status.DELIVERED}

    # And the portal mirror, the run, the two notifications and the billing mirror agree
    local_order = Order.objects.get(pk=scenario.order.pk)
    assert (local_order.status, local_order.activation_status, local_order.whmcs_order_id) == (
        OrderStatus.COMPLETED,
        ActivationStatus.ACTIVATED,
        whmcs_order["id"],
    )
    local_opportunity = Opportunity.objects.get(pk=scenario.opportunity.pk)
    assert (local_opportunity.stage, local_opportunity.whmcs_service_id) == (
        OpportunityStage.ACTIVE,
        plan_service_id,
    )
    run = FulfillmentRun.objects.get(salesforce_order_id=scenario.order_id)
    assert (run.status, run.whmcs_order_id, run.whmcs_service_id, run.whmcs_invoice_id, run.attempts) == (
        FulfillmentRun.Status.SUCCEEDED,
        whmcs_order["id"],
        plan_service_id,
        invoice["id"],
        1,
    )
    assert [step["step"] for step in run.steps] == [
        "requested",
        "load_order",
        "whmcs_add_order",
        "whmcs_add_order",
        "whmcs_accept_order",
        "whmcs_accept_order",
        "complete",
    ]
    assert notifications(scenario) == [
        (NotificationType.ORDER_APPROVED, scenario.order_id),
        (NotificationType.ORDER_ACTIVATED, scenario.order_id),
    ]
    activated = Notification.objects.get(type=NotificationType.ORDER_ACTIVATED)
    assert (
        activated.message
        == f"Your order {scenario.order_number} is complete and SonixNet Home 1G is now active."
    )
    assert sorted(WhmcsService.objects.filter(user=scenario.customer).values_list("whmcs_id", flat=True)) == [
        service["id"] for service in services
    ]
    assert list(WhmcsInvoice.objects.filter(user=scenario.customer).values_list("whmcs_id", flat=True)) == [
        invoice["id"]
    ]


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("eager_celery")
def test_a_whmcs_failure_fails_the_order_and_an_agent_retry_resumes_it(systems: EmulatorSuite) -> None:
    # Given WHMCS refuses to accept the order
    scenario = seed_order(systems)
    seed_cursor(systems, ORDER_TOPIC)
    systems.whmcs.inject_fault(
        action="AcceptOrder", kind="error", message="Provisioning module refused the order"
    )

    # When the order is approved
    approve(systems, scenario)
    run_subscriber(ORDER_TOPIC, 1)

    # Then the order is Failed with the error, in the portal and in Salesforce, and the customer is told
    run = FulfillmentRun.objects.get(salesforce_order_id=scenario.order_id)
    message = "WHMCS AcceptOrder: Provisioning module refused the order"
    assert (run.status, run.error_code, run.error_message) == (
        FulfillmentRun.Status.FAILED,
        "WHMCS_ACCEPT_ORDER_FAILED",
        message,
    )
    local_order = Order.objects.get(pk=scenario.order.pk)
    assert (
        local_order.activation_status,
        local_order.activation_error_code,
        local_order.activation_error_message,
    ) == (ActivationStatus.FAILED, "WHMCS_ACCEPT_ORDER_FAILED", message)
    assert local_order.activation_error_at is not None
    order = sf_order(systems, scenario)
    assert (
        order["Activation_Status__c"],
        order["Activation_Error_Code__c"],
        order["Activation_Error_Message__c"],
    ) == (
        "Failed",
        "WHMCS_ACCEPT_ORDER_FAILED",
        message,
    )
    assert order["Activation_Error_DateTime__c"] is not None
    assert notifications(scenario) == [
        (NotificationType.ORDER_APPROVED, scenario.order_id),
        (NotificationType.ORDER_FAILED, scenario.order_id),
    ]
    [whmcs_order] = systems.whmcs.state.orders
    assert whmcs_order["status"] == "Pending"
    assert Opportunity.objects.get(pk=scenario.opportunity.pk).stage == OpportunityStage.VOID

    # When the agent sets the activation status back to Activating (a new event, a new IdemKey)
    systems.salesforce.store.update_record("Order", scenario.order_id, {"Activation_Status__c": "Activating"})
    run_subscriber(ORDER_TOPIC, 1)

    # Then the run resumes: the same WHMCS order is accepted, never placed twice
    run.refresh_from_db()
    assert (run.status, run.error_code, run.attempts, len(run.idempotency_keys)) == (
        FulfillmentRun.Status.SUCCEEDED,
        "",
        2,
        2,
    )
    assert whmcs_calls(systems) == {"addorder": 1, "acceptorder": 2, "getorders": 1}
    assert [order["status"] for order in systems.whmcs.state.orders] == ["Active"]
    order = sf_order(systems, scenario)
    assert (
        order["Activation_Status__c"],
        order["Activation_Error_Code__c"],
        order["Activation_Error_Message__c"],
    ) == (
        "Activated",
        None,
        None,
    )
    assert Order.objects.get(pk=scenario.order.pk).activation_status == ActivationStatus.ACTIVATED
    assert Opportunity.objects.get(pk=scenario.opportunity.pk).stage == OpportunityStage.ACTIVE
    assert notifications(scenario) == [
        (NotificationType.ORDER_APPROVED, scenario.order_id),
        (NotificationType.ORDER_FAILED, scenario.order_id),
        (NotificationType.ORDER_ACTIVATED, scenario.order_id),
    ]


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("eager_celery")
def test_a_transient_whmcs_error_is_retried_by_the_task(systems: EmulatorSuite) -> None:
    # Given WHMCS answers AcceptOrder once with a 503
    scenario = seed_order(systems)
    seed_cursor(systems, ORDER_TOPIC)
    systems.whmcs.inject_fault(action="AcceptOrder", kind="http_status", status=503)

    # When the order is approved
    approve(systems, scenario)
    run_subscriber(ORDER_TOPIC, 1)

    # Then the task retried and finished without a second AddOrder or any failure notice
    run = FulfillmentRun.objects.get(salesforce_order_id=scenario.order_id)
    assert (run.status, run.attempts) == (FulfillmentRun.Status.SUCCEEDED, 2)
    assert [(step["step"], step["status"]) for step in run.steps if step["status"] == "retrying"] == [
        ("whmcs_accept_order", "retrying")
    ]
    assert whmcs_calls(systems) == {"addorder": 1, "acceptorder": 2, "getorders": 1}
    assert [t for t, _ in notifications(scenario)] == [
        NotificationType.ORDER_APPROVED,
        NotificationType.ORDER_ACTIVATED,
    ]


@pytest.mark.django_db
def test_an_add_order_whose_answer_was_lost_is_found_instead_of_placed_again(
    systems: EmulatorSuite, settings: SettingsWrapper
) -> None:
    # Given WHMCS places the order but answers after the client gave up
    run = requested_run(systems)
    settings.WHMCS = {**settings.WHMCS, "TIMEOUT_SECONDS": 0.3}
    systems.whmcs.inject_fault(action="AddOrder", kind="latency", seconds=1.0)

    # When the first attempt times out and the next one runs once WHMCS has the order
    with pytest.raises(FulfillmentRetry):
        fulfillment_run_execute(run_id=run.pk)
    wait_until(lambda: systems.whmcs.state.orders, timeout=5, message="WHMCS to place the order")
    fulfillment_run_execute(run_id=run.pk)

    # Then the order WHMCS placed is used and no second one exists
    run.refresh_from_db()
    [whmcs_order] = systems.whmcs.state.orders
    assert (run.status, run.whmcs_order_id) == (FulfillmentRun.Status.SUCCEEDED, whmcs_order["id"])
    assert whmcs_calls(systems) == {"addorder": 1, "acceptorder": 1, "getorders": 1}
    assert [step for step in run.steps if step["step"] == "whmcs_add_order"][-1]["found_existing"] is True


@pytest.mark.django_db
def test_an_unanswered_add_order_is_not_sent_again_until_whmcs_has_surely_finished_it(
    systems: EmulatorSuite, settings: SettingsWrapper
) -> None:
    # Given an attempt whose AddOrder got no answer (the connection dropped) and left no order
    run = requested_run(systems)
    systems.whmcs.inject_fault(action="AddOrder", kind="drop_connection")
    with pytest.raises(FulfillmentRetry):
        fulfillment_run_execute(run_id=run.pk)
    assert (whmcs_calls(systems)["addorder"], systems.whmcs.state.orders) == (1, [])

    # When the next attempt comes while that request could still be running at WHMCS
    with pytest.raises(FulfillmentRetry) as retry:
        fulfillment_run_execute(run_id=run.pk)

    # Then it looked, found nothing, and waits out the client timeout instead of sending again
    run.refresh_from_db()
    assert whmcs_calls(systems) == {"addorder": 1, "acceptorder": 0, "getorders": 1}
    assert run.status == FulfillmentRun.Status.PENDING
    client_timeout = timedelta(seconds=settings.WHMCS["TIMEOUT_SECONDS"])
    assert client_timeout < retry.value.delay <= client_timeout + ADD_ORDER_SETTLE_MARGIN

    # And once that time has passed, the order is placed (once)
    FulfillmentRun.objects.filter(pk=run.pk).update(
        whmcs_add_order_started_at=timezone.now() - timedelta(minutes=5), next_attempt_at=timezone.now()
    )
    fulfillment_run_execute(run_id=run.pk)
    run.refresh_from_db()
    assert run.status == FulfillmentRun.Status.SUCCEEDED
    assert len(systems.whmcs.state.orders) == 1
    assert whmcs_calls(systems)["addorder"] == 2


@pytest.mark.django_db
def test_a_task_redelivered_after_its_worker_died_takes_its_claim_over_and_no_other_task_does(
    systems: EmulatorSuite,
) -> None:
    # Given a run claimed by task "t-1", whose worker was killed (the claim has minutes to run)
    run = requested_run(systems)
    FulfillmentRun.objects.filter(pk=run.pk).update(
        status=FulfillmentRun.Status.RUNNING,
        claimed_until=timezone.now() + timedelta(minutes=9),
        claimed_by="t-1",
    )

    # When another task comes for it, then the broker redelivers "t-1"
    other = fulfill_order_task.apply(args=[run.pk], task_id="t-2").get()
    redelivered = fulfill_order_task.apply(args=[run.pk], task_id="t-1").get()

    # Then the other task left it alone and the redelivered one finished it at once
    assert other is None
    assert redelivered == FulfillmentRun.Status.SUCCEEDED
    assert len(systems.whmcs.state.orders) == 1


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("eager_celery")
def test_a_request_while_the_order_is_being_fulfilled_is_recorded_and_left_to_the_run_in_progress(
    systems: EmulatorSuite,
) -> None:
    # Given an approved order whose fulfillment is under way: its task waits on a slow AddOrder
    scenario = seed_order(systems)
    first = provision_request(systems, scenario)
    systems.whmcs.inject_fault(action="AddOrder", kind="latency", seconds=2.0)

    def handle_first_request() -> None:
        try:
            # Celery runs eagerly: the task runs here, when the request commits.
            fulfillment_request(payload=first, event_id="evt-1")
        finally:
            connection.close()

    fulfilling = Background(handle_first_request, name="fulfillment")
    wait_until(lambda: systems.whmcs.calls.get("addorder") == 1, message="the run's AddOrder")
    run = FulfillmentRun.objects.get(salesforce_order_id=scenario.order_id)
    assert run.status == FulfillmentRun.Status.RUNNING

    # When the agent sets the order to Activating again meanwhile: a request with a new IdemKey
    systems.salesforce.store.update_record(
        "Order", scenario.order_id, {"Activation_Status__c": "Pending Review"}
    )
    systems.salesforce.store.update_record("Order", scenario.order_id, {"Activation_Status__c": "Activating"})
    second = systems.bus.decode(systems.bus.events(ORDER_TOPIC)[-1])
    assert second["IdemKey__c"] != first["IdemKey__c"]
    recorded = fulfillment_request(payload=second, event_id="evt-2")

    # Then it is recorded on the run in progress, which finishes undisturbed with one WHMCS order
    assert recorded is not None
    assert (recorded.pk, recorded.status) == (run.pk, FulfillmentRun.Status.RUNNING)
    fulfilling.join(timeout=60)
    run.refresh_from_db()
    assert run.status == FulfillmentRun.Status.SUCCEEDED
    assert (run.idempotency_keys, run.last_idempotency_key) == (
        [first["IdemKey__c"], second["IdemKey__c"]],
        second["IdemKey__c"],
    )
    assert [step["step"] for step in run.steps].count("requested") == 1
    assert whmcs_calls(systems) == {"addorder": 1, "acceptorder": 1, "getorders": 0}
    assert len(systems.whmcs.state.orders) == 1
    assert fulfillment_request(payload=second, event_id="evt-2") == run  # Already handled.


@pytest.mark.django_db
def test_a_product_missing_from_the_catalog_fails_without_calling_whmcs(systems: EmulatorSuite) -> None:
    # Given the installation product is not in the portal catalog
    scenario = seed_order(systems)
    scenario.order.items.filter(product=scenario.installation).delete()
    scenario.installation.delete()
    run = fulfillment_request(payload=provision_request(systems, scenario), event_id="evt-1")
    assert run is not None

    # When the fulfillment runs and the outbox delivers
    fulfillment_run_execute(run_id=run.pk)
    outbox_deliver_due()

    # Then the order failed with a code the agent can act on, and WHMCS was not called
    run.refresh_from_db()
    assert (run.status, run.error_code) == (FulfillmentRun.Status.FAILED, "PRODUCT_NOT_IN_CATALOG")
    assert whmcs_calls(systems) == {"addorder": 0, "acceptorder": 0, "getorders": 0}
    assert sf_order(systems, scenario)["Activation_Error_Code__c"] == "PRODUCT_NOT_IN_CATALOG"
    # The order was not loaded, so the customer is notified through the existing portal order
    assert [t for t, _ in notifications(scenario)] == [NotificationType.ORDER_FAILED]


@pytest.mark.django_db
def test_the_same_request_is_recorded_once(systems: EmulatorSuite) -> None:
    scenario = seed_order(systems)
    payload = provision_request(systems, scenario)

    first = fulfillment_request(payload=payload, event_id="evt-1")
    fulfillment_run_execute(run_id=first.pk if first else 0)
    second = fulfillment_request(payload=payload, event_id="evt-1")

    assert first is not None
    assert second is not None
    assert (second.pk, second.status, second.idempotency_keys) == (
        first.pk,
        FulfillmentRun.Status.SUCCEEDED,
        [payload["IdemKey__c"]],
    )
    assert FulfillmentRun.objects.count() == 1


@pytest.mark.django_db
@pytest.mark.usefixtures("eager_celery")
def test_a_lost_task_is_resumed_by_the_periodic_job(
    systems: EmulatorSuite, django_capture_on_commit_callbacks: DjangoCaptureOnCommitCallbacks
) -> None:
    # Given a recorded request whose task never reached a worker
    scenario = seed_order(systems)
    with django_capture_on_commit_callbacks(execute=False):
        run = fulfillment_request(payload=provision_request(systems, scenario), event_id="evt-1")
    assert run is not None
    FulfillmentRun.objects.filter(pk=run.pk).update(next_attempt_at=timezone.now() - timedelta(minutes=5))

    # When the periodic resume runs
    resumed = resume_fulfillments_task.apply().get()

    # Then the run was queued again and completed
    run.refresh_from_db()
    assert (resumed, run.status) == (1, FulfillmentRun.Status.SUCCEEDED)
    assert resume_fulfillments_task.apply().get() == 0
