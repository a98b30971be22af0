"""The customer portal's pages: each renders in English and Japanese without template errors, the
URLs that emails, notifications and dashboard tasks point to all open a page, and the script's
strings all reach the page translated.

What the pages do happens in the browser (``test_e2e_browser.py``); here only what the server
answers is checked.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from django.core import mail
from django.test import Client
from pytest_django.fixtures import Settings

from apps.notifications.notification_templates import TEMPLATES as NOTIFICATION_TEMPLATES
from apps.web import urls as web_urls
from tests.factories import CustomerFactory, StaffUserFactory
from tests.helpers import api_for

pytestmark = pytest.mark.django_db

SCRIPT = Path(__file__).resolve().parents[2] / "apps" / "web" / "static" / "web" / "portal.js"

PAGES = [
    "/",
    "/account/login",
    "/account/signup",
    "/account/reset-password",
    "/account/logout",
    "/account",
    "/shop",
    "/shop/checkout?type=internet&plan=1",
    "/account/services",
    "/account/services/internet",
    "/account/services/sim",
    "/account/services/vpn",
    "/account/services/7/cancel",
    "/account/orders",
    "/account/billing/invoices",
    "/account/billing/payment-methods",
    "/account/support",
    "/account/support/3",
    "/account/settings",
    "/account/settings/verification",
]

INVALID = "TEMPLATE-VARIABLE-MISSING"


@pytest.fixture
def strict_templates(settings: Settings) -> None:
    """A variable a template reads but the page does not have shows up in the page."""
    templates = [dict(settings.TEMPLATES[0])]
    templates[0]["OPTIONS"] = {**templates[0]["OPTIONS"], "string_if_invalid": INVALID}
    settings.TEMPLATES = templates


def script_strings(html: str) -> dict[str, str]:
    match = re.search(r'<script id="portal-strings" type="application/json">(.*?)</script>', html, re.S)
    assert match, "the page carries no strings for its script"
    return json.loads(match.group(1))


@pytest.mark.parametrize("path", PAGES)
@pytest.mark.parametrize("language", ["en", "ja"])
def test_every_page_renders_in_both_languages(path: str, language: str, strict_templates: None) -> None:
    response = Client(headers={"accept-language": language}).get(path)

    assert response.status_code == 200
    html = response.content.decode()
    assert f'<html lang="{language}">' in html
    assert INVALID not in html
    assert '<main id="main"' in html
    assert '<script src="/static/web/portal.js" defer></script>' in html
    assert "style=" not in html  # the CSP allows no inline style
    assert re.search(r"<script(?! (src|id=\"portal-strings\" type=\"application/json\"))", html) is None
    assert script_strings(html)


def test_the_welcome_page_sends_a_signed_in_customer_to_the_dashboard() -> None:
    client = Client()
    client.force_login(CustomerFactory())

    response = client.get("/")

    assert response.status_code == 302
    assert response["Location"] == "/account"


def test_the_welcome_page_stays_for_visitors_and_staff() -> None:
    assert Client().get("/").status_code == 200
    staff = Client()
    staff.force_login(StaffUserFactory())
    assert staff.get("/").status_code == 200


def test_the_chosen_language_is_kept_for_pages_and_the_api() -> None:
    client = Client(headers={"accept-language": "en"})
    client.get("/account/settings")

    response = client.post("/i18n/setlang/", {"language": "ja", "next": "/account/settings"})

    assert response.status_code == 302
    assert response["Location"] == "/account/settings"
    assert '<html lang="ja">' in client.get("/account/settings").content.decode()


def test_every_action_url_of_the_notifications_opens_a_page() -> None:
    urls = {template.action_url for template in NOTIFICATION_TEMPLATES.values() if template.action_url}

    assert "/account/services/internet" in urls
    for url in sorted(urls):
        assert Client().get(url).status_code == 200, url


def test_every_dashboard_task_opens_a_page(customer_with_tasks: Any) -> None:
    status = api_for(customer_with_tasks).get("/api/me/status").json()

    assert status["tasks"]
    for task in status["tasks"]:
        assert Client().get(task["action_url"]).status_code == 200, task["action_url"]


@pytest.fixture
def customer_with_tasks() -> Any:
    return CustomerFactory()


def test_the_reset_email_links_to_the_reset_page(settings: Settings) -> None:
    settings.PORTAL_FRONTEND_URL = "http://testserver"
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    customer = CustomerFactory()
    client = Client(enforce_csrf_checks=False)

    response = client.post(
        "/api/auth/password/reset", {"email": customer.email}, content_type="application/json"
    )

    assert response.status_code == 202
    link = re.search(r"http://testserver(/\S+)", mail.outbox[-1].body)
    assert link
    path, _, fragment = link.group(1).partition("#")
    assert path == "/account/reset-password"
    assert set(dict(part.split("=", 1) for part in fragment.split("&"))) == {"uid", "token"}
    assert client.get(path).status_code == 200


def test_every_string_the_script_shows_reaches_the_page() -> None:
    script = SCRIPT.read_text()
    wanted = set(re.findall(r'\bt\("((?:[^"\\]|\\.)*)"', script))
    wanted |= set(re.findall(r'\[\s*"/[^"]*",\s*"([^"]+)"\s*\]', script))

    strings = script_strings(Client().get("/account/login").content.decode())

    assert wanted
    assert wanted - set(strings) == set()


def test_a_japanese_page_and_its_script_strings_are_in_japanese() -> None:
    html = Client(headers={"accept-language": "ja"}).get("/account/login").content.decode()

    assert "パスワードをお忘れですか？" in html
    strings = script_strings(html)
    assert strings["Please correct the fields marked below."] == "以下の項目を修正してください。"
    assert strings["eligibility.pending"] == "確認中"


ORDER_REASON_STRINGS = ["On hold", "Why we could not accept this order", "Why your order is on hold"]


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        ("en", ORDER_REASON_STRINGS),
        ("ja", ["保留中", "このご注文をお受けできなかった理由", "ご注文が保留中の理由"]),
    ],
)
def test_the_orders_page_carries_the_words_for_a_rejection_or_a_hold(
    language: str, expected: list[str]
) -> None:
    client = Client(headers={"accept-language": language})
    client.force_login(CustomerFactory())

    strings = script_strings(client.get("/account/orders").content.decode())

    assert [strings[text] for text in ORDER_REASON_STRINGS] == expected


def test_every_page_of_the_portal_is_among_those_rendered() -> None:
    routes = {re.sub(r"<int:\w+>", "1", str(pattern.pattern)) for pattern in web_urls.urlpatterns}
    rendered = {re.sub(r"\d+", "1", path.split("?")[0]).lstrip("/") for path in PAGES}

    assert routes - rendered == set()
