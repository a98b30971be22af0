"""Every queue list and record page fits 1366-1920 px wide screens in English and Japanese.

A supervisor (who sees every queue) opens each queue and one record of each, the customer page and
the search (``console_pages``; ``test_japanese_complete`` checks that it is every page a supervisor
may open) in headless Chromium at 1366×768 and 1920×1080, in both languages: nothing scrolls
sideways, neither the page nor the queue table inside it, and a Japanese page, as the browser
shows it, holds no string of the English catalog left untranslated. Skipped without Chromium
(tests/browser.py).
"""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect

from emulators import EmulatorSuite
from tests.browser import BROWSER_TEST
from tests.console.pages import console_pages
from tests.console.translations import english_strings, untranslated
from tests.factories import AgentFactory
from tests.helpers import MakeCustomer

pytestmark = [*BROWSER_TEST, pytest.mark.timeout(600)]

VIEWPORTS = [(1366, 768), (1920, 1080)]
PASSWORD = "correct-horse-battery"  # UserFactory's

OVERFLOW = """() => {
  const page = document.documentElement.scrollWidth - window.innerWidth;
  // An overflowing box names the innermost elements that stick out of it, to say what to fix.
  const name = (el) => el.tagName.toLowerCase() + (el.id ? `#${el.id}` : '') + (el.className ? `.${el.className}` : '');
  const culprits = (box) => {
    const right = box.getBoundingClientRect().right + 1;
    return [...box.querySelectorAll('*')]
      .filter((el) => el.getBoundingClientRect().right > right && !el.firstElementChild)
      .slice(0, 3).map(name);
  };
  const boxes = [...document.querySelectorAll('.results, #content-main, #content-related, #changelist')]
    .filter((el) => el.scrollWidth > el.clientWidth + 1)
    .map((el) => `${el.id || el.className}: ${el.scrollWidth} > ${el.clientWidth} (${culprits(el).join(', ')})`);
  return {page, boxes};
}"""


def signed_in(browser: Browser, base_url: str, email: str, *, width: int, height: int, language: str) -> Page:
    context = browser.new_context(
        base_url=base_url, viewport={"width": width, "height": height}, locale=language
    )
    context.set_extra_http_headers({"Accept-Language": language})
    context.set_default_timeout(10_000)
    page = context.new_page()
    page.goto("/admin/login/")
    page.fill("#id_username", email)
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    expect(page.locator("#console-queues")).to_be_visible()
    return page


def test_every_queue_and_record_page_fits_the_screen_in_both_languages(
    systems: EmulatorSuite, make_customer: MakeCustomer, live_server: Any, browser: Browser
) -> None:
    supervisor = AgentFactory(console_group="Supervisors")
    urls = console_pages(systems, make_customer)
    english = english_strings()
    problems: list[str] = []

    for language in ("en", "ja"):
        for width, height in VIEWPORTS:
            page = signed_in(
                browser, live_server.url, supervisor.email, width=width, height=height, language=language
            )
            for url in urls:
                response = page.goto(url)
                assert response is not None, url
                assert response.status == 200, url
                assert page.locator("html").get_attribute("lang") == language
                overflow = page.evaluate(OVERFLOW)
                if overflow["page"] > 0 or overflow["boxes"]:
                    problems.append(
                        f"{language} {width}px {url}: page +{overflow['page']}px {overflow['boxes']}"
                    )
                left = untranslated(page.content(), english) if language == "ja" else []
                if left:
                    problems.append(f"{language} {width}px {url}: untranslated {left}")
            page.context.close()

    assert problems == [], "\n".join(problems)
