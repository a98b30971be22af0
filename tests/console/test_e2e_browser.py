"""The agent console end to end in a real headless browser (Debian's Chromium via Playwright).

An agent signs in to admin, opens the ID verification queue, views the submitted card and
rejects it with a reason; then opens the eligibility queue and marks a request eligible. Each
time the customer's own API shows the decision and exactly one notification.

Skipped on a developer machine without Chromium; with ``CI`` true it runs (and fails if Chromium
is missing), since CI installs it.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.test import Client
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice
from playwright.sync_api import Browser, BrowserContext, ConsoleMessage, Page, expect
from pytest_django.fixtures import Settings

from apps.accounts.models import User
from emulators import EmulatorSuite
from tests.browser import BROWSER_TEST
from tests.console.conftest import pending_eligibility, submitted_card
from tests.factories import AgentFactory
from tests.helpers import MakeCustomer, account_id_of, deliver_all

PASSWORD = "correct-horse-battery"  # UserFactory's


pytestmark = [
    *BROWSER_TEST,
    # Chromium starts once per test and every page waits up to 10 s for what it expects.
    pytest.mark.timeout(300),
]


def agent_page(browser: Browser, base_url: str, agent: User) -> Page:
    context = browser.new_context(base_url=base_url, locale="en-US")
    context.set_default_timeout(10_000)
    page = context.new_page()
    page.goto("/admin/")
    page.fill("#id_username", agent.email)
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    expect(page.locator("#console-queues")).to_be_visible()
    return page


def customer_api(browser: Browser, base_url: str, customer: User) -> BrowserContext:
    """A browser context signed in as the customer (their session cookie), for their API."""
    client = Client()
    client.force_login(customer)
    context = browser.new_context(base_url=base_url)
    context.add_cookies([{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": base_url}])
    return context


def api_get(context: BrowserContext, path: str) -> Any:
    response = context.request.get(path)
    assert response.status == 200, response.text()
    return response.json()


def test_an_agent_rejects_a_card_and_approves_an_eligibility_request_in_the_browser(
    systems: EmulatorSuite, make_customer: MakeCustomer, live_server: Any, browser: Browser
) -> None:
    agent = AgentFactory(first_name="Aoi", last_name="Tanaka")
    card_customer, submission = submitted_card(systems, make_customer)
    eligibility_customer, _, _ = pending_eligibility(systems, make_customer)
    page = agent_page(browser, live_server.url, agent)

    # ID verification: the queue, the card beside name and birth date, reject with a reason.
    expect(page.locator("#console-queue-id_verification .console-queue-count")).to_have_text("1")
    page.click("#console-queue-id_verification a")
    page.click(f"a[href$='/idverificationqueueitem/{submission.pk}/change/']")
    expect(page.locator("#console-name")).to_have_text("Sato Hana")
    expect(page.locator("#console-birth-date")).to_have_text("1990-04-01")
    card = page.locator("#console-document img")
    expect(card).to_be_visible()
    assert card.evaluate("image => image.complete && image.naturalWidth") == 1
    page.select_option("#id_reject-reason", "blurry")
    message = "The photo is too blurry to read. Please take it again in good light."
    page.fill("#id_reject-message", message)
    page.click("#console-form-reject input[type=submit]")
    expect(page.locator(".messagelist")).to_contain_text("ID rejected")
    expect(page.locator("#console-status")).to_have_text("Rejected")

    card_api = customer_api(browser, live_server.url, card_customer)
    status = api_get(card_api, "/api/verification/residence-card")
    assert status["status"] == "rejected"
    assert status["rejection"]["reason"] == "blurry"
    assert status["rejection"]["message"] == message
    notifications = api_get(card_api, "/api/notifications")
    assert len(notifications["results"]) == 1
    assert notifications["results"][0]["type"] == "verification_rejected"

    # Internet eligibility: the queue, the address, mark eligible with the offering.
    page.goto("/admin/")
    page.click("#console-queue-eligibility a")
    page.click(f"a[href$='/eligibilityqueueitem/{eligibility_customer.profile.pk}/change/']")
    expect(page.locator("#console-address")).to_contain_text("2-21-1 Shibuya")
    page.fill("#id_mark_eligible-offering", "Home 1G")
    page.fill("#id_mark_eligible-notes", "FLET'S光 Cross available")
    page.click("#console-form-mark_eligible input[type=submit]")
    expect(page.locator(".messagelist")).to_contain_text("Marked eligible")
    expect(page.locator("#console-status")).to_have_text("Eligible")

    eligibility_api = customer_api(browser, live_server.url, eligibility_customer)
    eligibility = api_get(eligibility_api, "/api/eligibility-request")
    assert eligibility["status"] == "eligible"
    assert eligibility["offering"] == "Home 1G"
    notifications = api_get(eligibility_api, "/api/notifications")
    assert len(notifications["results"]) == 1
    assert notifications["results"][0]["type"] == "eligibility_eligible"

    # Both decisions reach Salesforce through the outbox.
    deliver_all()
    card_account = systems.salesforce.store.get_record("Account", account_id_of(card_customer))
    assert card_account["Id_Verification_Status__c"] == "Rejected"
    eligibility_account = systems.salesforce.store.get_record("Account", account_id_of(eligibility_customer))
    assert eligibility_account["Internet_Eligibility_Status__c"] == "Eligible"


def watch_for_blocked_content(context: BrowserContext, problems: list[str]) -> None:
    """Add to ``problems`` what the browser reports on the context's pages from now on:
    Content-Security-Policy violations (the ``securitypolicyviolation`` event, in every frame),
    console errors and warnings (refused and failed loads), and uncaught script errors."""
    context.expose_binding("reportViolation", lambda source, text: problems.append(text))
    # Playwright's init scripts and bindings are not subject to the page's CSP.
    context.add_init_script(
        "document.addEventListener('securitypolicyviolation', (event) => window.reportViolation("
        "`${event.effectiveDirective} blocked ${event.blockedURI || 'inline'} on ${event.documentURI}`));"
    )

    def on_console(message: ConsoleMessage) -> None:
        url = message.location.get("url", "")
        # Chromium asks every page for /favicon.ico, which the portal does not serve.
        if message.type in {"error", "warning"} and not url.endswith("/favicon.ico"):
            problems.append(f"console {message.type}: {message.text} ({url})")

    context.on("console", on_console)
    context.on("weberror", lambda error: problems.append(f"script error: {error.error}"))


def test_nothing_is_blocked_by_the_content_security_policy_and_swagger_ui_calls_the_api(
    systems: EmulatorSuite, make_customer: MakeCustomer, live_server: Any, browser: Browser
) -> None:
    customer, submission = submitted_card(systems, make_customer)
    _, pdf_submission = submitted_card(systems, make_customer, content_type="application/pdf")

    # The admin login page, signed out.
    problems: list[str] = []
    anonymous = browser.new_context(base_url=live_server.url, locale="en-US")
    watch_for_blocked_content(anonymous, problems)
    login = anonymous.new_page()
    response = login.goto("/admin/login/")
    assert response is not None
    assert "script-src 'self'" in response.headers["content-security-policy"]
    expect(login.locator("#id_username")).to_be_visible()

    # The admin index, a queue and checklist pages (an image and a framed PDF) as an agent.
    page = agent_page(browser, live_server.url, AgentFactory())
    watch_for_blocked_content(page.context, problems)
    for path in (
        "/admin/",
        "/admin/console/idverificationqueueitem/",
        f"/admin/console/idverificationqueueitem/{submission.pk}/change/",
        f"/admin/console/idverificationqueueitem/{pdf_submission.pk}/change/",
    ):
        response = page.goto(path)
        assert response is not None
        assert response.ok, path
        assert "default-src 'self'" in response.headers["content-security-policy"], path
        page.wait_for_load_state("networkidle")
    # The PDF's own response lets the checklist page frame it (frame-ancestors 'self').
    expect(page.locator("#console-document iframe")).to_be_visible()
    assert any(frame.url.endswith(f"/{pdf_submission.pk}/document/") for frame in page.frames)

    # Swagger UI, as a signed-in customer: the operations render and a POST goes through with the
    # session cookie and the CSRF token.
    api = customer_api(browser, live_server.url, customer)
    watch_for_blocked_content(api, problems)
    docs = api.new_page()
    response = docs.goto("/api/docs/")
    assert response is not None
    assert "script-src 'self'" in response.headers["content-security-policy"]
    expect(docs.locator(".opblock").first).to_be_visible()
    assert docs.locator(".opblock").count() > 20
    logout = docs.locator("#operations-auth-auth_logout")
    logout.locator(".opblock-summary").click()
    logout.get_by_role("button", name="Try it out").click()
    logout.get_by_role("button", name="Execute").click()
    expect(logout.locator(".live-responses-table .response .response-col_status")).to_have_text("204")
    assert api.request.get("/api/me").status == 401  # the POST really signed the customer out

    assert problems == []


def test_with_two_factor_on_an_agent_signs_in_with_the_code_of_their_authenticator(
    live_server: Any, browser: Browser, settings: Settings
) -> None:
    settings.STAFF_REQUIRE_2FA = True
    agent = AgentFactory()
    device = TOTPDevice.objects.create(user=agent, name="phone", confirmed=True)
    page = browser.new_context(base_url=live_server.url, locale="en-US").new_page()
    page.goto("/admin/")
    page.fill("#id_username", agent.email)
    page.fill("#id_password", PASSWORD)

    page.click("input[type=submit]")  # without the code
    expect(page.locator(".errornote")).to_contain_text("Enter the 6-digit code from your authenticator app.")

    code = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift).token()
    page.fill("#id_password", PASSWORD)
    page.fill("#id_otp_token", f"{code:0{device.digits}d}")
    page.click("input[type=submit]")
    expect(page.locator("#console-queues")).to_be_visible()


def test_a_supervisor_claims_saves_and_goes_next_rejects_and_retries_in_the_browser(
    systems: EmulatorSuite, make_customer: MakeCustomer, live_server: Any, browser: Browser
) -> None:
    from datetime import timedelta

    from django.utils import timezone

    from apps.accounts.models import EligibilityStatus
    from apps.checkout.models import Order, OrderStatus
    from apps.integrations.models import OutboxEntry
    from tests.scenarios import pending_order

    supervisor = AgentFactory(console_group="Supervisors", first_name="Ren", last_name="Kato")
    orders = []
    for age in (2, 1):
        customer = make_customer(
            internet_eligibility_status=EligibilityStatus.ELIGIBLE, internet_eligibility="Home 1G"
        )
        order = pending_order(systems, customer)
        Order.objects.filter(pk=order.pk).update(created_at=timezone.now() - timedelta(days=age))
        orders.append(order)
    first, second = orders
    page = agent_page(browser, live_server.url, supervisor)

    # Claim the oldest order, approve it and go on to the next one.
    page.click("#console-queue-order_approval a")
    page.click(f"a[href$='/orderapprovalqueueitem/{first.pk}/change/']")
    page.click("#console-claim-button")
    expect(page.locator("#console-claim")).to_contain_text("You are working on this item.")
    page.check("#id_approve-items_checked")
    page.click("#console-next-approve")
    expect(page).to_have_url(re.compile(rf".*/orderapprovalqueueitem/{second.pk}/change/(#.*)?$"))
    expect(page.locator("#console-claim")).to_contain_text("You are working on this item.")

    # Reject the next one: without a reason the form comes back at the record's address.
    page.click("#console-form-reject input[name=reject]")
    expect(page.locator(".messagelist")).to_contain_text("The decision was not recorded")
    assert page.url.split("#")[0].endswith(f"/orderapprovalqueueitem/{second.pk}/change/")
    expect(page.locator("#id_reject-reason")).to_be_focused()
    expect(page.locator("#id_reject-reason-visible")).to_have_text("Shown to the customer")
    reason = "Duplicate of an <b>earlier</b> order"
    page.fill("#id_reject-reason", reason)
    page.click("#console-form-reject input[name=reject]")
    expect(page.locator(".messagelist")).to_contain_text("Order rejected")
    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.status, second.status) == (OrderStatus.APPROVED, OrderStatus.CANCELLED)

    # The customer reads the rejection and its reason in their notifications: the API, and the
    # portal's bell, which shows the reason as text.
    customer = customer_api(browser, live_server.url, second.user)
    [rejected] = api_get(customer, "/api/notifications")["results"]
    assert rejected["type"] == "order_rejected"
    assert rejected["message"].endswith(f"Reason: {reason}")
    portal = customer.new_page()
    portal.goto("/account")
    expect(portal.locator("body[data-ready=true]")).to_have_count(1)
    portal.click("#bell-button")
    expect(portal.locator("#bell-list .note-unread .note-title")).to_contain_text("Order not accepted")
    expect(portal.locator("#bell-list .note-unread .note-message")).to_have_text(rejected["message"])
    expect(portal.locator("#bell-list b")).to_have_count(0)

    # Salesforce refuses both writes, so they fail; the supervisor retries them from the queue of
    # failed writes once it accepts them again, and the next delivery writes both Orders.
    systems.salesforce.fail_next(
        2, status=400, error_code="INVALID_FIELD", message="No such column 'Foo__c'", path_prefix="composite"
    )
    failed = deliver_all().failed
    assert sorted(failed) == sorted(OutboxEntry.objects.values_list("pk", flat=True))
    assert systems.salesforce.store.get_record("Order", first.salesforce_id)["Status"] == "Pending Review"
    systems.salesforce.clear_faults()
    page.goto("/admin/console/salesforcewritequeueitem/")
    expect(page.locator("#result_list")).to_contain_text("INVALID_FIELD")
    for entry_id in failed:
        page.check(f"input[name=_selected_action][value='{entry_id}']")
    page.select_option("select[name=action]", "retry_selected")
    page.click("button[name=index]")
    expect(page.locator(".messagelist")).to_contain_text(f"{len(failed)} Salesforce writes are queued again.")
    assert deliver_all().failed == []
    assert not OutboxEntry.objects.exclude(status=OutboxEntry.Status.DELIVERED).exists()
    assert systems.salesforce.store.get_record("Order", first.salesforce_id)["Status"] == "Approved"
    rejected_order = systems.salesforce.store.get_record("Order", second.salesforce_id)
    assert (rejected_order["Status"], rejected_order["Description"]) == ("Cancelled", reason)
    page.goto("/admin/console/salesforcewritequeueitem/")
    expect(page.locator("#result_list")).to_have_count(0)
