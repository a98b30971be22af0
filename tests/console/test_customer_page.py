"""The console's customer page (profile, services, invoices, orders, cases, decisions,
notifications sent, sync state with links) and its one search box."""

from __future__ import annotations

import re

import pytest
from django.test import Client
from django.urls import reverse
from pytest_django.fixtures import Settings as SettingsWrapper

from apps.accounts.models import Language, User
from tests.factories import (
    AgentDecisionFactory,
    CaseFactory,
    CustomerFactory,
    NotificationFactory,
    OrderFactory,
    OutboxEntryFactory,
    StaffUserFactory,
    WhmcsInvoiceFactory,
    WhmcsServiceFactory,
)

pytestmark = pytest.mark.django_db

SEARCH = "admin:console_customer_search"


def customer_with_everything() -> User:
    customer = CustomerFactory(
        first_name="Hana", last_name="Suzuki", email="hana@example.jp", preferred_language=Language.JAPANESE
    )
    profile = customer.profile
    profile.phone_number = "080-5555-0199"
    profile.postal_code = "530-0001"
    profile.customer_number = "CN-77001"
    profile.save()
    WhmcsServiceFactory(user=customer, name="SonixNet Home 1G")
    WhmcsInvoiceFactory(user=customer, number="INV-2026-0042")
    OrderFactory(user=customer)
    CaseFactory(user=customer, subject="Router blinking red")
    NotificationFactory(user=customer, title="Your order has been approved")
    AgentDecisionFactory(customer=customer, note="Checked the address with NTT")
    return customer


def test_the_customer_page_shows_the_customer_whole(agent_client: Client, settings: SettingsWrapper) -> None:
    settings.CONSOLE_SALESFORCE_URL = "https://sonixnet.lightning.force.com"
    settings.CONSOLE_WHMCS_ADMIN_URL = "https://billing.sonixnet.example/admin"
    customer = customer_with_everything()
    mapping = customer.id_mapping

    page = agent_client.get(reverse("admin:console_customer", args=[customer.pk])).content.decode()

    for text in (
        "hana@example.jp",
        "080-5555-0199",
        "530-0001",
        "SonixNet Home 1G",
        "INV-2026-0042",
        "Router blinking red",
        "Your order has been approved",
        "Checked the address with NTT",
        '<dd id="console-customer-language">Japanese</dd>',
        f"https://sonixnet.lightning.force.com/lightning/r/Account/{mapping.salesforce_account_id}/view",
    ):
        assert text in page, text
    if mapping.whmcs_client_id:
        assert f"clientssummary.php?userid={mapping.whmcs_client_id}" in page


@pytest.mark.parametrize(
    "query", ["hana@example", "Suzuki", "SuzukiHana", "08055550199", "080-5555", "5300001", "CN-77001"]
)
def test_one_search_box_finds_a_customer_by_email_name_phone_postal_code_or_number(
    agent_client: Client, query: str
) -> None:
    customer = customer_with_everything()
    CustomerFactory(first_name="Other", last_name="Person", email="other@example.jp")

    response = agent_client.get(reverse(SEARCH), {"q": query})

    assert [user.pk for user in response.context["results"]] == [customer.pk]
    assert reverse("admin:console_customer", args=[customer.pk]) in response.content.decode()


@pytest.mark.parametrize(
    "query",
    [
        "渋谷区",
        "神南1-2-3",
        "東京都渋谷区神南1-2-3",
        "渋谷区 神南1-2-3",
        "渋谷区\u3000神南",
        "ソニックスビル101",
        "神南1-2-3ソニックスビル",
    ],
)
def test_one_search_box_finds_a_customer_by_their_japanese_address(agent_client: Client, query: str) -> None:
    customer = CustomerFactory(
        profile__prefecture_ja="東京都",
        profile__city_ja="渋谷区",
        # as a customer may type it: a space before the room number
        profile__address_line1_ja="神南1-2-3",
        profile__address_line2_ja="ソニックスビル 101",
    )
    CustomerFactory(
        profile__prefecture_ja="大阪府", profile__city_ja="大阪市北区", profile__address_line1_ja="梅田1-1-1"
    )

    response = agent_client.get(reverse(SEARCH), {"q": query})

    assert [user.pk for user in response.context["results"]] == [customer.pk]


def test_a_japanese_address_nobody_has_finds_nobody(agent_client: Client) -> None:
    CustomerFactory(profile__city_ja="渋谷区", profile__address_line1_ja="神南1-2-3")

    response = agent_client.get(reverse(SEARCH), {"q": "新宿区神南1-2-3"})

    assert list(response.context["results"]) == []
    assert 'id="console-search-empty"' in response.content.decode()


def test_staff_are_not_customers_and_nothing_matches_nothing(agent_client: Client, agent: User) -> None:
    assert list(agent_client.get(reverse(SEARCH), {"q": agent.email}).context["results"]) == []
    assert agent_client.get(reverse("admin:console_customer", args=[agent.pk])).status_code == 404


def test_staff_outside_the_console_groups_cannot_open_customers(db: None) -> None:
    client = Client()
    client.force_login(StaffUserFactory())
    customer = CustomerFactory()

    assert client.get(reverse("admin:console_customer", args=[customer.pk])).status_code == 403
    assert client.get(reverse(SEARCH), {"q": "x"}).status_code == 403


def test_record_pages_and_the_index_link_to_the_customer_page_and_search(agent_client: Client) -> None:
    customer = CustomerFactory()
    order = OrderFactory(user=customer)

    page = agent_client.get(
        reverse("admin:console_orderapprovalqueueitem_change", args=[order.pk])
    ).content.decode()
    index = agent_client.get(reverse("admin:index")).content.decode()

    assert reverse("admin:console_customer", args=[customer.pk]) in page
    assert 'id="console-search"' in index


def test_the_decision_logs_links_open_pages_the_reader_may_see(
    agent_client: Client, supervisor_client: Client
) -> None:
    customer = CustomerFactory()
    entry = OutboxEntryFactory(record_key=f"Account:{customer.id_mapping.salesforce_account_id}")
    decision = AgentDecisionFactory(customer=customer, outbox_entry=entry)
    detail = reverse("admin:console_agentdecision_change", args=[decision.pk])

    for client, write_link in ((agent_client, False), (supervisor_client, True)):
        page = client.get(detail).content.decode()
        links = re.findall(r'href="(/admin/[^"]+/)"', page.split('id="content-main"')[1])
        assert reverse("admin:console_customer", args=[customer.pk]) in links
        assert "/admin/accounts/" not in page.split('id="content-main"')[1]
        write_url = reverse("admin:console_salesforcewritequeueitem_change", args=[entry.pk])
        assert (write_url in links) is write_link
        for link in links:
            assert client.get(link).status_code == 200, link


def test_the_customer_page_shows_both_addresses_japanese_first(agent_client: Client) -> None:
    customer = CustomerFactory()

    page = agent_client.get(
        reverse("admin:console_customer", args=[customer.pk]), headers={"accept-language": "ja"}
    ).content.decode()

    address_ja = page.index("〒150-0002 東京都渋谷区渋谷2-21-1")
    address_romaji = page.index("〒150-0002 Tokyo Shibuya-ku 2-21-1 Shibuya")
    assert page.index("住所（日本語）") < address_ja < page.index("住所（ローマ字）") < address_romaji
