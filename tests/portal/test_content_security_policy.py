"""Every response carries the Content-Security-Policy, and Swagger UI loads nothing from another
host and runs no inline script. (That nothing the pages need is blocked, the real browser checks:
tests/console/test_e2e_browser.py.)"""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest
from django.contrib.staticfiles import finders
from django.http import HttpResponseBase
from django.test import Client

from tests.factories import CustomerFactory, ResidenceCardSubmissionFactory, UserFactory

pytestmark = pytest.mark.django_db

POLICY = {
    "default-src": ["'self'"],
    "script-src": ["'self'"],
    "style-src": ["'self'"],
    "img-src": ["'self'", "data:"],
    "object-src": ["'none'"],
    "base-uri": ["'self'"],
    "frame-ancestors": ["'none'"],
    "form-action": ["'self'"],
}


def policy_of(response: HttpResponseBase, *, nonces: bool = True) -> dict[str, list[str]]:
    header = response["Content-Security-Policy"]
    directives = (part.split() for part in header.split(";") if part.strip())
    return {
        name: [source for source in sources if nonces or not source.startswith("'nonce-")]
        for name, *sources in directives
    }


@pytest.fixture
def staff_client(client: Client) -> Client:
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    return client


@pytest.mark.parametrize(
    ("who", "method", "path", "status"),
    [
        ("anonymous", "get", "/healthz", 200),
        ("anonymous", "get", "/readyz", 200),
        ("anonymous", "post", "/healthz", 405),
        ("anonymous", "get", "/api/auth/csrf", 200),
        ("anonymous", "get", "/api/me", 401),
        ("anonymous", "post", "/api/auth/logout", 401),
        ("csrf-checked", "post", "/api/auth/login", 403),  # the CSRF failure, in the API's error envelope
        ("anonymous", "get", "/api/no-such-endpoint", 404),
        ("anonymous", "get", "/api/schema/", 200),
        ("anonymous", "get", "/api/docs/", 200),
        ("anonymous", "get", "/api/docs/?script=", 200),
        ("anonymous", "get", "/admin/", 302),
        ("anonymous", "get", "/admin/login/", 200),
        ("customer", "get", "/api/me", 200),
        ("staff", "get", "/admin/", 200),
        ("staff", "get", "/admin/console/idverificationqueueitem/", 200),
        ("staff", "get", "/admin/integrations/outboxentry/", 200),
    ],
)
def test_every_kind_of_response_carries_the_policy(
    client: Client, who: str, method: str, path: str, status: int
) -> None:
    if who == "customer":
        client.force_login(CustomerFactory())
    elif who == "staff":
        client.force_login(UserFactory(is_staff=True, is_superuser=True))
    elif who == "csrf-checked":
        client = Client(enforce_csrf_checks=True)

    response = getattr(client, method)(path)

    assert response.status_code == status
    assert policy_of(response, nonces=False) == POLICY  # a page with a <style> adds its nonce


def test_a_residence_card_may_be_framed_by_the_console_only(staff_client: Client) -> None:
    submission = ResidenceCardSubmissionFactory(user=CustomerFactory(), content_type="application/pdf")

    response = staff_client.get(f"/admin/console/idverificationqueueitem/{submission.pk}/document/")

    assert response.status_code == 200
    assert policy_of(response) == {**POLICY, "frame-ancestors": ["'self'"]}


class _References(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []
        self.inline_scripts = 0
        self.style_nonces: list[str | None] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        self.urls += [value for name, value in attrs if name in {"src", "href"} and value is not None]
        if tag == "script" and not attributes.get("src"):
            self.inline_scripts += 1
        if tag == "style":
            self.style_nonces.append(attributes.get("nonce"))


def test_swagger_ui_loads_nothing_from_another_host_and_runs_no_inline_script(client: Client) -> None:
    page = client.get("/api/docs/")
    references = _References()
    references.feed(page.content.decode())
    script_url = next(url for url in references.urls if url.startswith("/api/docs/?"))
    script = client.get(script_url)

    # Swagger UI's files are our own static files (drf-spectacular-sidecar), and they exist.
    assets = [url for url in references.urls if url != script_url]
    assert {url.rsplit("/", 1)[-1] for url in assets} == {
        "favicon-32x32.png",
        "swagger-ui.css",
        "swagger-ui-bundle.js",
        "swagger-ui-standalone-preset.js",
    }
    for url in assets:
        assert url.startswith("/static/drf_spectacular_sidecar/swagger-ui-dist/"), url
        assert finders.find(url.removeprefix("/static/")), url
    assert not re.search(rb"https?://|//cdn|jsdelivr", page.content + script.content)

    # The init script is a URL of its own; the one inline <style> carries this response's nonce.
    assert references.inline_scripts == 0
    assert script.status_code == 200
    assert script["Content-Type"].startswith("application/javascript")
    assert b"SwaggerUIBundle(" in script.content
    nonce = policy_of(page)["style-src"][-1]
    assert references.style_nonces == [nonce.removeprefix("'nonce-").removesuffix("'")]
    assert policy_of(page) == {**POLICY, "style-src": ["'self'", nonce]}


def test_redoc_loads_nothing_from_another_host_and_only_its_page_allows_inline_styles(
    client: Client,
) -> None:
    page = client.get("/api/redoc/")
    references = _References()
    references.feed(page.content.decode())

    assert page.status_code == 200
    assert references.urls == ["/static/drf_spectacular_sidecar/redoc/bundles/redoc.standalone.js"]
    assert finders.find(references.urls[0].removeprefix("/static/"))
    assert not re.search(rb"https?://|//cdn|jsdelivr|googleapis", page.content)
    assert references.inline_scripts == 0
    assert b'spec-url="/api/schema/"' in page.content
    # ReDoc injects <style> elements without a nonce and searches in a blob: worker.
    assert policy_of(page) == {
        **POLICY,
        "style-src": ["'self'", "'unsafe-inline'"],
        "worker-src": ["'self'", "blob:"],
    }


def test_swagger_ui_calls_the_api_with_the_session_cookie_and_the_csrf_token() -> None:
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(CustomerFactory())

    script = browser.get("/api/docs/?script=").content.decode()
    header = re.search(r'request\.headers\["([A-Z-]+)"\] = "(\w+)"', script)

    # Same-origin requests (no withCredentials) carry the session cookie; the init script adds the
    # CSRF header to every unsafe one, which SessionAuthentication requires.
    assert "withCredentials" not in script
    assert header is not None
    assert browser.post("/api/auth/logout").status_code == 403
    assert browser.post("/api/auth/logout", headers={header[1]: header[2]}).status_code == 204
