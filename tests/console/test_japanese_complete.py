"""No English on a Japanese console page: every queue, record, the decision log and the 403 page
are rendered in Japanese and scanned for strings of the project's English catalog that were left
untranslated (text between tags, button labels, placeholders, titles)."""

from __future__ import annotations

import pytest
from django.contrib import admin
from django.test import Client, RequestFactory
from django.urls import resolve, reverse

from emulators import EmulatorSuite
from tests.console.pages import console_pages
from tests.console.translations import english_strings, untranslated
from tests.factories import AgentFactory
from tests.helpers import MakeCustomer

pytestmark = pytest.mark.django_db


def test_every_console_page_in_japanese_shows_no_english_catalog_string(
    systems: EmulatorSuite, make_customer: MakeCustomer
) -> None:
    supervisor = AgentFactory(console_group="Supervisors")
    client = Client(headers={"accept-language": "ja"})
    client.force_login(supervisor)
    english = english_strings()
    problems: dict[str, list[str]] = {}

    for url in console_pages(systems, make_customer):
        response = client.get(url)
        assert response.status_code == 200, url
        assert '<html lang="ja"' in response.content.decode()
        left = untranslated(response.content.decode(), english)
        if left:
            problems[url] = left

    assert problems == {}
    # The same pages in English do show catalog strings: the scan reads what the page says.
    english_page = client.get(
        reverse("admin:console_eligibilityqueueitem_changelist"), headers={"accept-language": "en"}
    )
    assert "Within SLA" in untranslated(english_page.content.decode(), english)


def test_the_403_page_is_in_japanese(systems: EmulatorSuite, make_customer: MakeCustomer) -> None:
    agent = AgentFactory()
    client = Client(headers={"accept-language": "ja"})
    client.force_login(agent)

    response = client.get(reverse("admin:accounts_user_changelist"))
    english = client.get(reverse("admin:accounts_user_changelist"), headers={"accept-language": "en"})

    assert response.status_code == 403
    page = response.content.decode()
    assert "アクセスできません" in page
    assert "エージェントコンソールに戻る" in page
    assert untranslated(page, english_strings()) == []
    assert "Access denied" in english.content.decode()


def test_the_scan_finds_an_untranslated_string() -> None:
    assert untranslated(
        "<p>Access denied</p><input type=submit value='Mark eligible'>", english_strings()
    ) == [
        "Access denied",
        "Mark eligible",
    ]


def test_the_pages_checked_are_every_page_a_supervisor_may_open(
    systems: EmulatorSuite, make_customer: MakeCustomer
) -> None:
    """``console_pages`` (scanned here and in the browser by ``test_e2e_layout``) opens the list
    and a record of every model the admin shows a supervisor, and the console's own pages: a
    queue added to the console without a page there fails this test."""
    supervisor = AgentFactory(console_group="Supervisors")
    request = RequestFactory().get("/admin/")
    request.user = supervisor
    viewable = [
        model._meta
        for model, model_admin in admin.site._registry.items()
        if model_admin.has_view_permission(request)
    ]
    console_views = {
        pattern.name
        for pattern in admin.site.get_urls()
        if (getattr(pattern, "name", None) or "").startswith("console_")
    }

    checked = {resolve(url.split("?")[0]).url_name for url in console_pages(systems, make_customer)}

    assert checked == {
        "index",
        *console_views,
        *(
            f"{opts.app_label}_{opts.model_name}_{page}"
            for opts in viewable
            for page in ("changelist", "change")
        ),
    }
    assert len(viewable) == 12


def test_the_sign_in_lockouts_section_is_named_in_the_pages_language() -> None:
    # django-axes gives its app no name: the index showed its label, "Axes", in both languages.
    client = Client()
    client.force_login(AgentFactory(console_group="Supervisors"))

    japanese = client.get(reverse("admin:index"), headers={"accept-language": "ja"}).content.decode()
    english = client.get(reverse("admin:index"), headers={"accept-language": "en"}).content.decode()

    assert "サインインのロックアウト" in japanese
    assert "Sign-in lockouts" in english
    assert "Axes" not in japanese
    assert "Axes" not in english
