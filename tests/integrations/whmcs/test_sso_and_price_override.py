"""CreateSsoToken and the emulated client area's add-card page; AddOrder ``priceoverride``."""

from __future__ import annotations

from decimal import Decimal
from urllib.parse import urlsplit

import pytest
import requests

from apps.integrations.whmcs.client import WhmcsClient
from apps.integrations.whmcs.exceptions import WhmcsApiError
from apps.integrations.whmcs.types import OrderLine
from emulators.whmcs import WhmcsEmulator

ADD_CARD_PATH = "index.php?rp=/account/paymentmethods/add"


def test_create_sso_token_answers_a_redirect_url_on_the_emulator(
    whmcs: WhmcsClient, emulator: WhmcsEmulator, client_id: int
) -> None:
    # when
    token = whmcs.create_sso_token(client_id, redirect_path=ADD_CARD_PATH)

    # then
    assert (
        token.redirect_url == f"{emulator.base_url}/oauth/singlesignon.php?access_token={token.access_token}"
    )
    assert len(token.access_token) == 40


def test_a_customer_adds_a_card_through_the_sso_link_and_get_pay_methods_returns_it(
    whmcs: WhmcsClient, emulator: WhmcsEmulator, client_id: int
) -> None:
    # given
    token = whmcs.create_sso_token(client_id, redirect_path=ADD_CARD_PATH)
    browser = requests.Session()

    # when: the browser follows the link, lands on the add-card page and saves a card
    landing = browser.get(token.redirect_url, timeout=5)
    saved = browser.post(
        f"{emulator.base_url}/{ADD_CARD_PATH}",
        data={"ccnumber": "4111 1111 1111 1234", "ccexpirydate": "08/31", "cardtype": "Visa"},
        timeout=5,
    )

    # then
    assert landing.status_code == 200
    assert urlsplit(landing.url).path + "?" + urlsplit(landing.url).query == f"/{ADD_CARD_PATH}"
    assert "ccnumber" in landing.text
    assert saved.status_code == 200
    assert "ending 1234" in saved.text
    [method] = whmcs.get_pay_methods(client_id)
    assert (method.type, method.card_last_four, method.card_type, method.expires_on.isoformat()) == (
        "CreditCard",
        "1234",
        "Visa",
        "2031-08-31",
    )


def test_an_sso_token_works_once(whmcs: WhmcsClient, client_id: int) -> None:
    # given
    token = whmcs.create_sso_token(client_id, redirect_path=ADD_CARD_PATH)
    requests.get(token.redirect_url, timeout=5)

    # when
    again = requests.get(token.redirect_url, timeout=5, allow_redirects=False)

    # then
    assert again.status_code == 403


def test_the_add_card_page_needs_a_session(
    whmcs: WhmcsClient, emulator: WhmcsEmulator, client_id: int
) -> None:
    # when
    response = requests.post(
        f"{emulator.base_url}/{ADD_CARD_PATH}",
        data={"ccnumber": "4111111111111234", "ccexpirydate": "08/31"},
        timeout=5,
        allow_redirects=False,
    )

    # then
    assert (response.status_code, response.headers["Location"]) == (302, "/login.php")
    assert whmcs.get_pay_methods(client_id) == []


def test_create_sso_token_for_an_unknown_client_is_refused(whmcs: WhmcsClient) -> None:
    with pytest.raises(WhmcsApiError, match="Invalid client_id"):
        whmcs.create_sso_token(999, redirect_path=ADD_CARD_PATH)


def test_create_sso_token_with_an_unknown_destination_is_refused(whmcs: WhmcsClient, client_id: int) -> None:
    with pytest.raises(WhmcsApiError, match="Invalid destination"):
        whmcs.create_sso_token(client_id, destination="clientarea:nowhere")


def test_add_order_price_override_is_what_whmcs_bills(whmcs: WhmcsClient, client_id: int) -> None:
    # when: the plan (¥5,500 + a ¥550 router option in WHMCS) and installation (¥22,000) are
    # ordered at the quoted ¥5,280 and at WHMCS's own price
    result = whmcs.add_order(
        client_id,
        [
            OrderLine(pid=1, config_options={1: 2}, price_override=Decimal("5280")),
            OrderLine(pid=3, billing_cycle="onetime"),
        ],
        payment_method="mailin",
    )

    # then
    services = {service.pid: service for service in whmcs.get_clients_products(client_id)}
    assert (services[1].first_payment_amount, services[1].recurring_amount) == (Decimal("5280.00"),) * 2
    assert services[3].first_payment_amount == Decimal("22000.00")
    assert result.invoice_id is not None
    assert whmcs.get_invoice(result.invoice_id).total == Decimal("27280.00")


def test_add_order_sends_priceoverride_at_the_index_of_its_item(
    whmcs: WhmcsClient, emulator: WhmcsEmulator, client_id: int
) -> None:
    # when: only the second item has an override
    whmcs.add_order(
        client_id,
        [OrderLine(pid=6), OrderLine(pid=4, price_override=Decimal("1650"))],
        payment_method="mailin",
    )

    # then: the first keeps WHMCS's price, the second (with its ¥3,300 setup fee waived) the quote
    services = {service.pid: service for service in whmcs.get_clients_products(client_id)}
    assert services[6].recurring_amount == Decimal("900.00")
    assert (services[4].first_payment_amount, services[4].recurring_amount) == (Decimal("1650.00"),) * 2


def test_a_negative_price_override_is_refused(whmcs: WhmcsClient, client_id: int) -> None:
    with pytest.raises(WhmcsApiError, match="Invalid price override"):
        whmcs.add_order(client_id, [OrderLine(pid=6, price_override=Decimal("-1"))], payment_method="mailin")
