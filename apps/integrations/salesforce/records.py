"""Frozen records the gateway's typed operations return.

Each record holds the portal's attribute names and values, as the field map translates them:
picklists in the portal's own values, dates and datetimes parsed, numbers as ``Decimal``, an
empty text field as ``""``. Nothing outside ``apps.integrations.salesforce`` sees a Salesforce
field name. ``ATTRIBUTES`` lists what each operation reads, so the query and the record agree.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any, ClassVar

from .field_map import parse_salesforce_datetime


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def _decimal(value: Any) -> Decimal | None:
    return None if value in (None, "") else Decimal(str(value))


def _date(value: Any) -> date | None:
    """A Date field's value; one that does not parse is taken as not set."""
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value)[:10]) if value else None
    except ValueError:
        return None


@dataclass(frozen=True)
class SalesforceOrderItem:
    """An OrderItem. ``quantity`` and ``unit_price`` are None when Salesforce has none."""

    ATTRIBUTES: ClassVar[tuple[str, ...]] = ("product_id", "quantity", "unit_price")

    id: str
    product_id: str
    quantity: Decimal | None
    unit_price: Decimal | None

    @classmethod
    def from_values(cls, record_id: str, values: Mapping[str, Any]) -> SalesforceOrderItem:
        return cls(
            id=record_id,
            product_id=_text(values.get("product_id")),
            quantity=_decimal(values.get("quantity")),
            unit_price=_decimal(values.get("unit_price")),
        )


@dataclass(frozen=True)
class SalesforceOrder:
    """An Order with its OrderItems (ordered by Id)."""

    ATTRIBUTES: ClassVar[tuple[str, ...]] = (
        "account_id",
        "opportunity_id",
        "order_number",
        "status",
        "effective_date",
        "activation_status",
        "modified_at",
    )

    id: str
    account_id: str
    opportunity_id: str
    order_number: str
    status: str
    effective_date: date | None
    activation_status: str
    modified_at: datetime | None
    items: tuple[SalesforceOrderItem, ...]

    @classmethod
    def from_values(
        cls, record_id: str, values: Mapping[str, Any], items: Sequence[SalesforceOrderItem]
    ) -> SalesforceOrder:
        return cls(
            id=record_id,
            account_id=_text(values.get("account_id")),
            opportunity_id=_text(values.get("opportunity_id")),
            order_number=_text(values.get("order_number")),
            status=_text(values.get("status")),
            effective_date=_date(values.get("effective_date")),
            activation_status=_text(values.get("activation_status")),
            modified_at=parse_salesforce_datetime(values.get("modified_at")),
            items=tuple(items),
        )


@dataclass(frozen=True)
class SalesforceAccount:
    """An Account with its customer number, WHMCS client and the status fields the portal
    mirrors; the field names are the attributes ``customer_profile_apply_account_fields`` takes."""

    ATTRIBUTES: ClassVar[tuple[str, ...]] = (
        "name",
        "customer_number",
        "whmcs_client_id",
        "portal_status",
        "internet_eligibility",
        "internet_eligibility_status",
        "internet_eligibility_requested_at",
        "internet_eligibility_checked_at",
        "internet_eligibility_notes",
        "internet_eligibility_case_id",
        "id_verification_status",
        "id_verification_submitted_at",
        "id_verification_verified_at",
        "id_verification_note",
        "id_verification_rejection_message",
        "modified_at",
    )

    id: str
    name: str
    customer_number: str | None
    whmcs_client_id: int | None
    portal_status: str
    internet_eligibility: str
    internet_eligibility_status: str
    internet_eligibility_requested_at: datetime | None
    internet_eligibility_checked_at: datetime | None
    internet_eligibility_notes: str
    internet_eligibility_case_id: str
    id_verification_status: str
    id_verification_submitted_at: datetime | None
    id_verification_verified_at: datetime | None
    id_verification_note: str
    id_verification_rejection_message: str
    modified_at: datetime | None

    @classmethod
    def from_values(cls, record_id: str, values: Mapping[str, Any]) -> SalesforceAccount:
        whmcs_client_id = values.get("whmcs_client_id")
        return cls(
            id=record_id,
            name=_text(values.get("name")),
            customer_number=values.get("customer_number") or None,
            whmcs_client_id=int(whmcs_client_id) if whmcs_client_id else None,
            portal_status=_text(values.get("portal_status")),
            internet_eligibility=_text(values.get("internet_eligibility")),
            internet_eligibility_status=_text(values.get("internet_eligibility_status")),
            internet_eligibility_requested_at=parse_salesforce_datetime(
                values.get("internet_eligibility_requested_at")
            ),
            internet_eligibility_checked_at=parse_salesforce_datetime(
                values.get("internet_eligibility_checked_at")
            ),
            internet_eligibility_notes=_text(values.get("internet_eligibility_notes")),
            internet_eligibility_case_id=_text(values.get("internet_eligibility_case_id")),
            id_verification_status=_text(values.get("id_verification_status")),
            id_verification_submitted_at=parse_salesforce_datetime(
                values.get("id_verification_submitted_at")
            ),
            id_verification_verified_at=parse_salesforce_datetime(values.get("id_verification_verified_at")),
            id_verification_note=_text(values.get("id_verification_note")),
            id_verification_rejection_message=_text(values.get("id_verification_rejection_message")),
            modified_at=parse_salesforce_datetime(values.get("modified_at")),
        )


@dataclass(frozen=True)
class SalesforceContact:
    ATTRIBUTES: ClassVar[tuple[str, ...]] = ("first_name", "last_name", "email")

    id: str
    first_name: str
    last_name: str
    email: str

    @classmethod
    def from_values(cls, record_id: str, values: Mapping[str, Any]) -> SalesforceContact:
        return cls(
            id=record_id,
            first_name=_text(values.get("first_name")),
            last_name=_text(values.get("last_name")),
            email=_text(values.get("email")),
        )


def _bool(value: Any) -> bool:
    return bool(value)


@dataclass(frozen=True)
class SalesforceProduct:
    """A Product2 of the catalog. ``product_type`` is ``Product_Type__c`` or, where the org has
    none (or leaves it empty), the standard Product Family; ``""`` when neither names a type the
    portal sells. The optional attributes (``field_map.OPTIONAL_FIELDS``) the org lacks read as
    empty. ``config_options`` is the field's text (JSON, as the org stores it)."""

    id: str
    name: str
    sku: str
    description: str
    is_active: bool
    product_type: str
    item_class: str
    billing_cycle: str
    whmcs_product_id: int | None
    config_options: Any
    eligibility_offering: str
    is_family_discount: bool
    display_order: int
    modified_at: datetime | None

    @classmethod
    def from_values(cls, record_id: str, values: Mapping[str, Any]) -> SalesforceProduct:
        whmcs_product_id = values.get("whmcs_product_id")
        return cls(
            id=record_id,
            name=_text(values.get("name")),
            sku=_text(values.get("sku")),
            description=_text(values.get("description")),
            is_active=_bool(values.get("is_active")),
            product_type=_text(values.get("product_type")),
            item_class=_text(values.get("item_class")),
            billing_cycle=_text(values.get("billing_cycle")),
            whmcs_product_id=int(whmcs_product_id) if whmcs_product_id else None,
            config_options=values.get("config_options"),
            eligibility_offering=_text(values.get("eligibility_offering")),
            is_family_discount=_bool(values.get("is_family_discount")),
            display_order=int(values.get("display_order") or 0),
            modified_at=parse_salesforce_datetime(values.get("modified_at")),
        )


@dataclass(frozen=True)
class SalesforceCase:
    """A Case as the support ticket sync reads it. ``status`` is None when the org holds a value
    the field map does not know (``unknown_status`` has it), so one new value does not stop the
    rest of the record."""

    ATTRIBUTES: ClassVar[tuple[str, ...]] = ("case_number", "status", "modified_at")

    id: str
    case_number: str
    status: str | None
    unknown_status: str
    modified_at: datetime | None


@dataclass(frozen=True)
class SalesforceCaseComment:
    ATTRIBUTES: ClassVar[tuple[str, ...]] = (
        "parent_id",
        "body",
        "is_published",
        "created_at",
        "created_by_id",
        "modified_at",
    )

    id: str
    parent_id: str
    body: str
    is_published: bool
    created_at: datetime | None
    created_by_id: str
    modified_at: datetime | None

    @classmethod
    def from_values(cls, record_id: str, values: Mapping[str, Any]) -> SalesforceCaseComment:
        return cls(
            id=record_id,
            parent_id=_text(values.get("parent_id")),
            body=_text(values.get("body")),
            is_published=_bool(values.get("is_published")),
            created_at=parse_salesforce_datetime(values.get("created_at")),
            created_by_id=_text(values.get("created_by_id")),
            modified_at=parse_salesforce_datetime(values.get("modified_at")),
        )
