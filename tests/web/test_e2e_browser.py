"""The customer portal end to end in a real headless browser (Debian's Chromium via Playwright).

A new customer walks through the pages: chooses an internet plan and signs up during checkout,
is sent to ask for an availability check, an agent marks the address eligible in the console, the
bell shows it, the customer is asked for a payment method and adds a card on the billing system's
page, orders, the agent approves the order in the console, the subscriber
and the fulfillment provision it in WHMCS, the service shows active and the customer cancels it
for a month they choose. Once in English on a desktop and once in Japanese on a phone; axe-core
(vendored in ``vendor/axe-core``) checks every page the customer sees, and the walk fails on any
serious or critical violation, a Content-Security-Policy violation or a script error.

The agent's steps are taken in the console through the browser as well; the Salesforce side
(the outbox's delivery, the Order Approval Flow's event and the subscriber) runs in the test, as
the worker and the events subscriber would.

Skipped on a developer machine without Chromium; with ``CI`` true it runs (and fails if Chromium
is missing), since CI installs it.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from django.core import mail
from django.utils import timezone
from playwright.sync_api import Browser, BrowserContext, ConsoleMessage, Page, expect
from pytest_django.fixtures import Settings

from apps.accounts.models import User
from apps.catalog.models import BillingCycle, ItemClass, ProductType
from apps.checkout.models import OrderStatus
from apps.notifications.selectors import UNREAD_COUNT_CAP
from emulators import EmulatorSuite
from tests.browser import BROWSER_TEST
from tests.factories import AgentFactory, CustomerFactory, NotificationFactory, OrderFactory
from tests.helpers import deliver_all
from tests.scenarios import ORDER_TOPIC, catalog_product, png_bytes, run_subscriber, seed_cursor

AXE = Path(__file__).resolve().parent / "vendor" / "axe-core" / "axe.min.js"
AGENT_PASSWORD = "correct-horse-battery"  # UserFactory's
PASSWORD = "a-long-portal-passphrase"


pytestmark = [
    *BROWSER_TEST,
    pytest.mark.usefixtures("eager_celery"),
    pytest.mark.timeout(600),
]

VIEWPORTS = {
    "en": {"locale": "en-US", "viewport": {"width": 1280, "height": 900}},
    "ja": {
        "locale": "ja-JP",
        "viewport": {"width": 375, "height": 740},
        "has_touch": True,
        "is_mobile": True,
    },
}


class Walk:
    """The customer's browser, with what it reported and the pages axe-core checked."""

    def __init__(self, browser: Browser, base_url: str, language: str) -> None:
        self.context = browser.new_context(base_url=base_url, **VIEWPORTS[language])  # type: ignore[arg-type]
        self.context.set_default_timeout(15_000)
        self.problems: list[str] = []
        self.checked: list[str] = []
        watch(self.context, self.problems)
        self.page = self.context.new_page()

    def open(self, path: str) -> Page:
        response = self.page.goto(path)
        assert response is not None, path
        assert response.ok, path
        # The page's script has loaded what it shows and bound its forms and buttons.
        expect(self.page.locator("body[data-ready=true]")).to_have_count(1)
        return self.page

    def sign_in(self, email: str) -> None:
        """Through the sign-in page, to the dashboard (the factories' password)."""
        self.open("/account/login")
        self.page.locator("#login-form [name=email]").fill(email)
        self.page.locator("#login-form [name=password]").fill(AGENT_PASSWORD)
        self.page.locator("#login-form button[type=submit]").click()
        expect(self.page).to_have_url(re.compile(r"/account$"))

    def check(self) -> None:
        """axe-core on the page as it is now (after the script filled it in)."""
        page = self.page
        page.wait_for_load_state("networkidle")
        # Evaluated through the DevTools protocol, which the page's CSP does not govern.
        if not page.evaluate("typeof window.axe !== 'undefined'"):
            page.evaluate(AXE.read_text())
        results = page.evaluate(
            "axe.run(document, {resultTypes: ['violations'], runOnly: {type: 'tag', values: "
            "['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice']}})"
        )
        serious = [
            f"{v['id']} ({v['impact']}): {v['help']} at {[n['target'] for n in v['nodes']][:3]}"
            for v in results["violations"]
            if v["impact"] in {"serious", "critical"}
        ]
        assert serious == [], f"{page.url}: {serious}"
        self.checked.append(page.url)


def watch(context: BrowserContext, problems: list[str]) -> None:
    """CSP violations, console errors and uncaught script errors on the context's pages."""
    context.expose_binding("reportViolation", lambda source, text: problems.append(text))
    context.add_init_script(
        "document.addEventListener('securitypolicyviolation', (event) => window.reportViolation("
        "`${event.effectiveDirective} blocked ${event.blockedURI || 'inline'} on ${event.documentURI}`));"
    )

    def on_console(message: ConsoleMessage) -> None:
        url = message.location.get("url", "")
        # Chromium asks for /favicon.ico; a 4xx answer the script reads (a refusal it shows, the
        # not-signed-in probe of /api/me) is logged by Chromium as a failed load.
        if message.type == "error" and "Failed to load resource" in message.text:
            return
        if message.type in {"error", "warning"} and not url.endswith("/favicon.ico"):
            problems.append(f"console {message.type}: {message.text} ({url})")

    context.on("console", on_console)
    context.on("weberror", lambda error: problems.append(f"script error: {error.error}"))


def agent_console(browser: Browser, base_url: str, agent: User) -> Page:
    page = browser.new_context(base_url=base_url, locale="en-US").new_page()
    page.set_default_timeout(15_000)
    page.goto("/admin/")
    page.fill("#id_username", agent.email)
    page.fill("#id_password", AGENT_PASSWORD)
    page.click("input[type=submit]")
    expect(page.locator("#console-queues")).to_be_visible()
    return page


def internet_catalog(systems: EmulatorSuite) -> None:
    """Home 1G (WHMCS product 1 with its router option) and the one-time installation (product 3)."""
    catalog_product(
        systems,
        name="SonixNet Home 1G",
        price="5500.00",
        eligibility_offering="Home 1G",
        whmcs_product_id=1,
        config_options={"1": 2},
    )
    catalog_product(
        systems,
        name="Internet installation",
        item_class=ItemClass.INSTALLATION,
        billing_cycle=BillingCycle.ONE_TIME,
        price="22000.00",
        whmcs_product_id=3,
    )
    catalog_product(systems, name="SIM 20GB", product_type=ProductType.SIM, price="2980.00")


def fill_registration(page: Page, email: str) -> None:
    form = page.locator("#registration-form")
    for name, value in {
        "last_name": "Sato",
        "first_name": "Hana",
        "phone_number": "090-1234-5678",
        "postal_code": "150-0001",
        "prefecture": "Tokyo",
        "city": "Shibuya-ku",
        "address_line1": "2-21-1 Shibuya",
        "prefecture_ja": "東京都",
        "city_ja": "渋谷区",
        "address_line1_ja": "渋谷2-21-1",
        "email": email,
        "password": PASSWORD,
    }.items():
        form.locator(f"[name={name}]").fill(value)


@pytest.mark.parametrize("language", ["en", "ja"])
def test_a_new_customer_signs_up_orders_internet_and_cancels_it(
    language: str, systems: EmulatorSuite, live_server: Any, browser: Browser
) -> None:
    internet_catalog(systems)
    agent = AgentFactory()
    walk = Walk(browser, live_server.url, language)
    page = walk.page
    email = f"hana.{language}@example.com"

    # The welcome page and the plans, signed out.
    walk.open("/")
    walk.check()
    walk.open("/shop")
    expect(page.locator("#shop-internet .plan")).to_have_count(1)
    walk.check()

    # Choosing the plan: checkout asks for the customer's details and signs them up on the way.
    page.locator("#shop-internet .plan a.button").click()
    expect(page.locator("#registration-form")).to_be_visible()
    walk.check()
    page.locator("#registration-form button[type=submit]").click()  # empty: the browser refuses
    fill_registration(page, email)
    page.locator("#registration-form [name=password]").fill("short")
    page.locator("#registration-form [name=password]").evaluate("input => input.removeAttribute('minlength')")
    page.locator("#registration-form button[type=submit]").click()
    expect(page.locator("#registration-form [name=password][aria-invalid=true]")).to_be_visible()
    walk.check()
    page.locator("#registration-form [name=password]").fill(PASSWORD)
    page.locator("#registration-form button[type=submit]").click()
    expect(page.locator("#checkout-place")).to_be_visible()
    customer = User.objects.get(email=email)

    # Ordering before the address is checked: the refusal says what to do next.
    page.locator("#place-order").click()
    refusal = page.locator("#checkout-result .notice-error")
    expect(refusal).to_be_visible()
    walk.check()
    refusal.locator("a[href='/account/services/internet']").click()

    # The eligibility request, its status and expected time.
    expect(page.locator("#eligibility-form")).to_be_visible()
    walk.check()
    # The form starts from the address given at sign-up, in Japanese and in romaji.
    expect(page.locator("#eligibility-form [name=city_ja]")).to_have_value("渋谷区")
    page.locator("#eligibility-form [name=address_line1]").fill("2-21-1 Shibuya")
    page.locator("#eligibility-form [name=address_line2_ja]").fill("1203号室")
    page.locator("#eligibility-form [name=housing_type]").select_option("apartment")
    page.locator("#eligibility-form button[type=submit]").click()
    expect(page.locator("#page-notice .notice-success")).to_be_visible()
    expect(page.locator("#eligibility-request")).to_be_hidden()
    expect(page.locator("#eligibility-status dd").first).not_to_be_empty()
    expect(page.locator("#eligibility-status")).to_contain_text("〒150-0001 東京都渋谷区渋谷2-21-1 1203号室")
    walk.check()
    deliver_all()  # the Case reaches Salesforce

    # The agent marks the address eligible in the console.
    console = agent_console(browser, live_server.url, agent)
    console.goto(f"/admin/console/eligibilityqueueitem/{customer.profile.pk}/change/")
    console.fill("#id_mark_eligible-offering", "Home 1G")
    console.click("#console-form-mark_eligible input[type=submit]")
    expect(console.locator(".messagelist")).to_contain_text("Marked eligible")

    # The bell shows it; its action opens the plans for the address.
    walk.open("/account")
    expect(page.locator("#bell-count")).to_have_text("1")
    walk.check()
    page.locator("#bell-button").click()
    expect(page.locator("#bell-list .note-unread")).to_have_count(1)
    walk.check()
    page.locator("#bell-list .note a.button").click()
    expect(page).to_have_url(re.compile(r"/account/services/internet$"))
    expect(page.locator("#plans .plan")).to_have_count(1)
    walk.check()

    # The order: refused until a payment method is on file, which the customer adds on the
    # billing system's page (it opens in a new window) and the portal reads back.
    page.locator("#plans .plan a.button").click()
    expect(page.locator("#checkout-place")).to_be_visible()
    expect(page.locator("#checkout-options input[type=radio]")).to_be_checked()
    walk.check()
    checkout_url = page.url
    page.locator("#place-order").click()
    refusal = page.locator("#checkout-result .notice-error")
    expect(refusal).to_be_visible()
    refusal.locator("a[href='/account/billing/payment-methods']").click()
    expect(page.locator("#payment-methods")).not_to_have_attribute("aria-busy", "true")
    walk.check()
    with walk.context.expect_page() as opened:
        page.locator("#add-payment-method").click()
    billing = opened.value
    billing.locator("[name=ccnumber]").fill("4111111111111234")
    billing.locator("[name=ccexpirydate]").fill("09/32")
    billing.locator("button[type=submit]").click()
    billing.wait_for_load_state()
    billing.close()
    page.locator("#refresh-payment-methods").click()
    expect(page.locator("#payment-methods .card")).to_have_count(1)
    expect(page.locator("#payment-methods .card h3")).to_contain_text("1234")
    walk.check()

    # The order, placed with an Idempotency-Key.
    walk.open(checkout_url)
    expect(page.locator("#checkout-place")).to_be_visible()
    page.locator("#place-order").click()
    expect(page.locator("#checkout-result .notice-success")).to_be_visible()
    walk.check()
    deliver_all()  # the Order reaches Salesforce
    walk.open("/account/orders")
    expect(page.locator("#orders .order")).to_have_count(1)
    expect(page.locator("#orders .progress [aria-current=step]")).to_be_visible()
    walk.check()

    # The agent approves it; the Order Approval Flow's event is handled by the subscriber, and the
    # fulfillment provisions it in WHMCS.
    order = customer.orders.get()
    seed_cursor(systems, ORDER_TOPIC)
    console.goto(f"/admin/console/orderapprovalqueueitem/{order.pk}/change/")
    console.check("#id_approve-items_checked")
    console.click("#console-form-approve input[type=submit]")
    expect(console.locator(".messagelist")).to_contain_text("Order approved")
    deliver_all()
    run_subscriber(ORDER_TOPIC, 1)

    # The service shows active, and the customer cancels it for a month of their choice.
    walk.open("/account/orders")
    expect(page.locator("#orders .progress li.done")).to_have_count(5)
    walk.open("/account/services")
    service = page.locator("#services .service").filter(has=page.locator("a[href$='/cancel']"))
    expect(service).to_have_count(1)
    expect(service.locator("h3")).to_contain_text("Home 1G")
    expect(service.locator(".badge-success")).to_be_visible()
    walk.check()
    service.locator("a[href$='/cancel']").click()
    expect(page.locator("#cancel-form")).to_be_visible()
    walk.check()
    months = page.locator("#cancel-months input[type=radio]")
    if months.count() > 1:
        months.nth(1).check()
    page.locator("#cancel-form-confirm").check()
    page.locator("#cancel-form button[type=submit]").click()
    expect(page.locator("#page-notice .notice-success")).to_be_visible()
    walk.check()
    walk.open("/account/services")
    expect(page.locator("#services .service dd").filter(has_text=re.compile(r"\d"))).not_to_have_count(0)

    # Every other page, as this customer.
    for path in (
        "/account/billing/invoices",
        "/account/billing/payment-methods",
        "/account/support",
        "/account/settings",
        "/account/settings/verification",
        "/account/services/sim",
        "/account/services/vpn",
    ):
        walk.open(path)
        expect(page.locator("main [aria-busy=true]")).to_have_count(0)
        walk.check()

    # Signing out leads back to the sign-in page, which checks as well.
    if language == "ja":
        expect(page.locator("html")).to_have_attribute("lang", "ja")
    page.locator("[data-action=sign-out]").click()
    expect(page).to_have_url(re.compile(r"/account/login\?signed_out=1$"))
    walk.check()

    assert walk.problems == []


def test_the_reset_email_link_sets_a_new_password(
    live_server: Any, browser: Browser, settings: Settings
) -> None:
    settings.PORTAL_FRONTEND_URL = live_server.url
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    customer = CustomerFactory(email="reset@example.com")
    walk = Walk(browser, live_server.url, "en")
    page = walk.page

    walk.open("/account/reset-password")
    walk.check()
    page.locator("#reset-request-form [name=email]").fill(customer.email)
    page.locator("#reset-request-form button[type=submit]").click()
    expect(page.locator("#page-notice .notice-success")).to_be_visible()
    link = re.search(r"(http://\S+/account/reset-password#\S+)", mail.outbox[-1].body)
    assert link

    page.goto(link.group(1))
    expect(page.locator("#reset-confirm-form")).to_be_visible()
    walk.check()
    page.locator("#reset-confirm-form [name=new_password]").fill(PASSWORD)
    page.locator("#reset-confirm-form button[type=submit]").click()
    expect(page).to_have_url(re.compile(r"/account/login\?reset=1$"))
    page.locator("#login-form [name=email]").fill(customer.email)
    page.locator("#login-form [name=password]").fill(PASSWORD)
    page.locator("#login-form button[type=submit]").click()
    expect(page).to_have_url(re.compile(r"/account$"))
    expect(page.locator("#dashboard-tasks")).not_to_have_attribute("aria-busy", "true")
    walk.check()

    assert walk.problems == []


def test_a_page_for_customers_sends_a_visitor_to_sign_in_and_back(live_server: Any, browser: Browser) -> None:
    customer = CustomerFactory(email="back@example.com")
    walk = Walk(browser, live_server.url, "en")
    page = walk.page

    walk.open("/account/orders")
    expect(page).to_have_url(re.compile(r"/account/login\?next=%2Faccount%2Forders$"))
    page.locator("#login-form [name=email]").fill(customer.email)
    page.locator("#login-form [name=password]").fill("wrong password")
    page.locator("#login-form button[type=submit]").click()
    expect(page.locator("#login-form .notice-error")).to_be_visible()
    walk.check()
    page.locator("#login-form [name=password]").fill(AGENT_PASSWORD)
    page.locator("#login-form button[type=submit]").click()
    expect(page).to_have_url(re.compile(r"/account/orders$"))

    assert walk.problems == []


def test_counts_beyond_the_cap_read_99_plus_on_the_dashboard_and_the_bell(
    live_server: Any, browser: Browser
) -> None:
    customer = CustomerFactory(email="many@example.com")
    NotificationFactory.create_batch(UNREAD_COUNT_CAP + 5, user=customer)
    walk = Walk(browser, live_server.url, "en")
    page = walk.page

    walk.sign_in(customer.email)

    unread = page.locator("#dashboard-stats .stat", has_text="Unread notifications")
    expect(unread.locator(".stat-value")).to_have_text("99+")
    expect(page.locator("#bell-count")).to_have_text("99+")
    expect(page.locator("#bell-button")).to_have_attribute("aria-label", "Notifications: 99+ unread")
    assert walk.problems == []


ORDER_REASON_HEADINGS = {
    "en": ("Why we could not accept this order", "Why your order is on hold", "On hold"),
    "ja": ("このご注文をお受けできなかった理由", "ご注文が保留中の理由", "保留中"),
}


@pytest.mark.parametrize("language", ["en", "ja"])
def test_the_orders_page_shows_why_an_order_was_rejected_or_is_on_hold(
    live_server: Any, browser: Browser, language: str
) -> None:
    customer = CustomerFactory(email="orders@example.com", preferred_language=language)
    rejected = OrderFactory(
        user=customer, status=OrderStatus.CANCELLED, rejection_reason="<b>Duplicate</b> of order 00000101"
    )
    held = OrderFactory(user=customer, held_at=timezone.now(), hold_reason="Please call us on 03-1234-5678.")
    waiting = OrderFactory(user=customer)
    walk = Walk(browser, live_server.url, language)
    page = walk.page
    walk.sign_in(customer.email)

    walk.open("/account/orders")

    rejection_heading, hold_heading, hold_badge = ORDER_REASON_HEADINGS[language]
    rejection = page.locator(f'[data-order="{rejected.pk}"] [data-reason=rejection]')
    expect(rejection).to_contain_text(rejection_heading)
    # the agent's text as they wrote it: shown, not read as markup
    expect(rejection).to_contain_text("<b>Duplicate</b> of order 00000101")
    expect(rejection.locator("b")).to_have_count(0)
    hold = page.locator(f'[data-order="{held.pk}"] [data-reason=hold]')
    expect(hold).to_contain_text(hold_heading)
    expect(hold).to_contain_text("Please call us on 03-1234-5678.")
    expect(page.locator(f'[data-order="{held.pk}"] .badge-warning')).to_have_text(hold_badge)
    expect(page.locator(f'[data-order="{waiting.pk}"] [data-reason]')).to_have_count(0)
    expect(page.locator("#orders [data-reason]")).to_have_count(2)
    walk.check()

    assert walk.problems == []


def test_a_customer_uploads_their_card_sees_the_rejection_and_sends_another(
    systems: EmulatorSuite, make_customer: Any, live_server: Any, browser: Browser, tmp_path: Path
) -> None:
    customer = make_customer()
    agent = AgentFactory()
    walk = Walk(browser, live_server.url, "ja")
    page = walk.page
    walk.sign_in(customer.email)

    # A file that is not a PNG, JPEG or PDF is refused in the browser, before anything is sent.
    walk.open("/account/settings/verification")
    not_a_card = tmp_path / "card.png"
    not_a_card.write_bytes(b"just some text, whatever its name says")
    page.locator("#card-file").set_input_files(str(not_a_card))
    expect(page.locator("#card-file[aria-invalid=true]")).to_be_visible()
    walk.check()

    # A photo: previewed, sent, under review.
    photo = tmp_path / "photo.png"
    photo.write_bytes(png_bytes((64, 40)))
    page.locator("#card-file").set_input_files(str(photo))
    expect(page.locator("#card-preview img")).to_be_visible()
    walk.check()
    page.locator("#card-form button[type=submit]").click()
    expect(page.locator("#page-notice .notice-success")).to_be_visible()
    expect(page.locator("#card-form")).to_be_hidden()
    walk.check()
    deliver_all()

    # The agent rejects it in the console; the customer sees the reason and the guidance.
    console = agent_console(browser, live_server.url, agent)
    submission = customer.residence_card_submissions.get()
    console.goto(f"/admin/console/idverificationqueueitem/{submission.pk}/change/")
    console.select_option("#id_reject-reason", "blurry")
    console.fill("#id_reject-message", "The photo is too blurry to read.")
    console.click("#console-form-reject input[type=submit]")
    expect(console.locator(".messagelist")).to_be_visible()

    walk.open("/account/settings/verification")
    expect(page.locator("#card-status .notice-error")).to_contain_text("The photo is too blurry to read.")
    expect(page.locator("#card-form")).to_be_visible()
    walk.check()
    page.locator("#card-file").set_input_files(str(photo))
    page.locator("#card-form button[type=submit]").click()
    expect(page.locator("#card-form")).to_be_hidden()

    # Adding a payment method: the billing page, or support while the portal cannot link to it.
    walk.open("/account/billing/payment-methods")
    page.locator("#add-payment-method").click()
    expect(page.locator("#page-notice .notice")).to_be_visible()
    walk.check()

    assert walk.problems == []
