"""Frozen records the WHMCS client returns.

WHMCS answers with loosely typed JSON (ids as strings or numbers, money as strings, ``""`` for
empty lists). The client normalises every answer into these dataclasses, so nothing outside
``apps.integrations.whmcs`` ever sees the wire format. Money is ``Decimal``; zero dates are
``None``; timestamps are timezone-aware in the WHMCS server's zone.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal


@dataclass(frozen=True)
class OrderLine:
    """One product of an ``AddOrder`` call.

    ``config_options`` maps a configurable option id to an option id (dropdowns, radios) or a
    quantity (quantity options), exactly as WHMCS expects them serialized.
    """

    pid: int
    billing_cycle: str = "monthly"
    config_options: Mapping[int, int | str] = field(default_factory=dict)
    custom_fields: Mapping[int, str] = field(default_factory=dict)
    qty: int = 1
    #: Sent as ``priceoverride``: the price WHMCS bills for one unit instead of its own pricing
    #: (the price the customer was quoted); ``None`` leaves WHMCS's price.
    price_override: Decimal | None = None


@dataclass(frozen=True)
class WhmcsSsoToken:
    """A ``CreateSsoToken`` answer: single use, valid for 60 seconds. Both values sign the
    customer in; they are handed to that customer's browser only and never logged."""

    access_token: str
    redirect_url: str


@dataclass(frozen=True)
class AddOrderResult:
    order_id: int
    service_ids: tuple[int, ...]
    addon_ids: tuple[int, ...]
    invoice_id: int | None


@dataclass(frozen=True)
class WhmcsClientSummary:
    """A row of ``GetClients``."""

    id: int
    first_name: str
    last_name: str
    company_name: str
    email: str
    status: str
    group_id: int
    created_on: date | None


@dataclass(frozen=True)
class WhmcsClientDetails:
    """The ``client`` object of ``GetClientsDetails`` (not the deprecated top-level copy)."""

    id: int
    uuid: str
    first_name: str
    last_name: str
    company_name: str
    email: str
    address1: str
    address2: str
    city: str
    state: str
    postcode: str
    country: str
    phone_number: str
    status: str
    currency_code: str
    credit: Decimal
    language: str
    notes: str
    email_verified: bool
    tax_exempt: bool
    owner_user_id: int | None


@dataclass(frozen=True)
class WhmcsOrderLineItem:
    type: str
    rel_id: int
    product_type: str
    product: str
    billing_cycle: str
    amount: Decimal
    status: str


@dataclass(frozen=True)
class WhmcsOrderRecord:
    """A row of ``GetOrders``."""

    id: int
    order_number: str
    client_id: int
    placed_at: datetime | None
    status: str
    amount: Decimal
    payment_method: str
    payment_status: str
    invoice_id: int | None
    notes: str
    line_items: tuple[WhmcsOrderLineItem, ...]


@dataclass(frozen=True)
class WhmcsConfigOption:
    """A chosen configurable option of a service, as ``GetClientsProducts`` shows it."""

    id: int
    option: str
    type: str
    value: str


@dataclass(frozen=True)
class WhmcsServiceRecord:
    """A row of ``GetClientsProducts`` (a WHMCS "service")."""

    id: int
    client_id: int
    order_id: int | None
    pid: int
    name: str
    group_name: str
    domain: str
    status: str
    billing_cycle: str
    first_payment_amount: Decimal
    recurring_amount: Decimal
    payment_method: str
    registered_on: date | None
    next_due_on: date | None
    config_options: tuple[WhmcsConfigOption, ...]


@dataclass(frozen=True)
class WhmcsInvoiceRecord:
    """A row of ``GetInvoices``; the list has no balance (only ``GetInvoice`` does)."""

    id: int
    client_id: int
    number: str
    status: str
    issued_on: date | None
    due_on: date | None
    paid_at: datetime | None
    subtotal: Decimal
    credit: Decimal
    tax: Decimal
    tax2: Decimal
    total: Decimal
    currency_code: str
    payment_method: str


@dataclass(frozen=True)
class WhmcsInvoiceItem:
    id: int
    type: str
    rel_id: int
    description: str
    amount: Decimal
    taxed: bool


@dataclass(frozen=True)
class WhmcsTransaction:
    id: int
    transaction_id: str
    gateway: str
    amount_in: Decimal
    amount_out: Decimal
    date: datetime | None


@dataclass(frozen=True)
class WhmcsInvoiceDetail:
    """``GetInvoice``: one invoice with its balance, items and transactions."""

    id: int
    client_id: int
    number: str
    status: str
    issued_on: date | None
    due_on: date | None
    paid_at: datetime | None
    subtotal: Decimal
    credit: Decimal
    tax: Decimal
    tax2: Decimal
    total: Decimal
    balance: Decimal
    payment_method: str
    notes: str
    items: tuple[WhmcsInvoiceItem, ...]
    transactions: tuple[WhmcsTransaction, ...]


@dataclass(frozen=True)
class WhmcsPayMethodRecord:
    """An item of ``GetPayMethods``; display data only (no token, no card number)."""

    id: int
    type: str
    description: str
    gateway_name: str
    card_type: str
    card_last_four: str
    expires_on: date | None
    bank_name: str


@dataclass(frozen=True)
class WhmcsProductPricing:
    """Prices in one currency. Cycles WHMCS marks ``-1.00`` (not offered) are left out."""

    currency: str
    prefix: str
    suffix: str
    cycles: Mapping[str, Decimal]
    setup_fees: Mapping[str, Decimal]


@dataclass(frozen=True)
class WhmcsProductRecord:
    """A row of ``GetProducts``; WHMCS calls the id ``pid``."""

    pid: int
    gid: int
    type: str
    name: str
    description: str
    module: str
    pay_type: str
    pricing: tuple[WhmcsProductPricing, ...]
