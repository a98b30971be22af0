"""The sObjects the emulator knows: key prefixes, standard fields, required fields and lookups.

Only the objects the portal touches are modelled. Custom fields (``*__c``) are accepted on any of
them without declaration, so the field map can grow without touching the emulator; a standard
field name that is not listed here is rejected with ``INVALID_FIELD``, as a typo would be in a
real org.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

SYSTEM_FIELDS: tuple[str, ...] = (
    "Id",
    "IsDeleted",
    "CreatedDate",
    "CreatedById",
    "LastModifiedDate",
    "LastModifiedById",
    "SystemModstamp",
)
"""Set by the emulator on every record; clients may not write them."""

_ADDRESS = ("Street", "City", "State", "PostalCode", "Country", "StateCode", "CountryCode")


def _address(prefix: str) -> tuple[str, ...]:
    return tuple(prefix + part for part in _ADDRESS)


@dataclass(frozen=True)
class ObjectType:
    """How one sObject behaves in the emulator."""

    name: str
    key_prefix: str
    fields: tuple[str, ...]
    required: tuple[str, ...] = ()
    lookups: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    """Reference field → allowed target objects; an empty tuple allows any emulated object."""
    read_only: tuple[str, ...] = ()
    auto_number: tuple[str, int] | None = None
    """(field, first value): an 8-digit number such as ``OrderNumber`` ``00000100``."""
    defaults: Mapping[str, Any] = field(default_factory=dict)

    @property
    def all_fields(self) -> tuple[str, ...]:
        return SYSTEM_FIELDS + self.fields

    @property
    def writable_check(self) -> frozenset[str]:
        """Lower-cased names a client may not write."""
        extra = (self.auto_number[0],) if self.auto_number else ()
        return frozenset(name.lower() for name in (*SYSTEM_FIELDS, *self.read_only, *extra))


OBJECT_TYPES: dict[str, ObjectType] = {
    obj.name: obj
    for obj in (
        ObjectType(
            name="Account",
            key_prefix="001",
            fields=(
                "Name",
                "Type",
                "ParentId",
                "OwnerId",
                "Phone",
                "Fax",
                "Website",
                "Industry",
                "Description",
                "AccountNumber",
                "Site",
                "AccountSource",
                "NumberOfEmployees",
                "AnnualRevenue",
                "Rating",
                "Ownership",
                "Sic",
                "TickerSymbol",
                *_address("Billing"),
                *_address("Shipping"),
            ),
            required=("Name",),
            lookups={"ParentId": ("Account",)},
        ),
        ObjectType(
            name="Contact",
            key_prefix="003",
            fields=(
                "AccountId",
                "OwnerId",
                "Salutation",
                "FirstName",
                "LastName",
                "Name",
                "Email",
                "Phone",
                "MobilePhone",
                "HomePhone",
                "OtherPhone",
                "Fax",
                "Title",
                "Department",
                "Birthdate",
                "Description",
                "LeadSource",
                "ReportsToId",
                "HasOptedOutOfEmail",
                "DoNotCall",
                *_address("Mailing"),
                *_address("Other"),
            ),
            required=("LastName",),
            lookups={"AccountId": ("Account",), "ReportsToId": ("Contact",)},
            read_only=("Name",),
        ),
        ObjectType(
            name="Opportunity",
            key_prefix="006",
            fields=(
                "AccountId",
                "ContactId",
                "OwnerId",
                "Name",
                "StageName",
                "CloseDate",
                "Amount",
                "Probability",
                "Type",
                "LeadSource",
                "Description",
                "NextStep",
                "IsClosed",
                "IsWon",
                "ForecastCategoryName",
                "CampaignId",
                "Pricebook2Id",
                "CommodityType",
            ),
            required=("Name", "StageName", "CloseDate"),
            lookups={"AccountId": ("Account",), "ContactId": ("Contact",), "Pricebook2Id": ("Pricebook2",)},
            defaults={"IsClosed": False, "IsWon": False},
        ),
        ObjectType(
            name="Order",
            key_prefix="801",
            fields=(
                "AccountId",
                "OpportunityId",
                "OwnerId",
                "Name",
                "Status",
                "StatusCode",
                "EffectiveDate",
                "EndDate",
                "OrderNumber",
                "Pricebook2Id",
                "Description",
                "Type",
                "TotalAmount",
                "BillToContactId",
                "ShipToContactId",
                "CustomerAuthorizedById",
                "ActivatedDate",
                "PoNumber",
                *_address("Billing"),
                *_address("Shipping"),
            ),
            required=("AccountId", "EffectiveDate", "Status"),
            lookups={
                "AccountId": ("Account",),
                "OpportunityId": ("Opportunity",),
                "Pricebook2Id": ("Pricebook2",),
                "BillToContactId": ("Contact",),
                "ShipToContactId": ("Contact",),
                "CustomerAuthorizedById": ("Contact",),
            },
            read_only=("TotalAmount",),
            auto_number=("OrderNumber", 100),
        ),
        ObjectType(
            name="OrderItem",
            key_prefix="802",
            fields=(
                "OrderId",
                "PricebookEntryId",
                "Product2Id",
                "Quantity",
                "UnitPrice",
                "ListPrice",
                "TotalPrice",
                "Description",
                "ServiceDate",
                "EndDate",
                "OrderItemNumber",
            ),
            # PricebookEntryId or Product2Id (API 47.0+ resolves the standard price book entry).
            required=("OrderId", "Quantity", "UnitPrice"),
            lookups={
                "OrderId": ("Order",),
                "PricebookEntryId": ("PricebookEntry",),
                "Product2Id": ("Product2",),
            },
            read_only=("TotalPrice",),
            auto_number=("OrderItemNumber", 1),
        ),
        ObjectType(
            name="Case",
            key_prefix="500",
            fields=(
                "AccountId",
                "ContactId",
                "OpportunityId",
                "OwnerId",
                "ParentId",
                "CaseNumber",
                "Subject",
                "Description",
                "Status",
                "Origin",
                "Priority",
                "Reason",
                "Type",
                "IsClosed",
                "ClosedDate",
                "SuppliedEmail",
                "SuppliedName",
                "SuppliedPhone",
                "Comments",
            ),
            lookups={
                "AccountId": ("Account",),
                "ContactId": ("Contact",),
                "OpportunityId": ("Opportunity",),
                "ParentId": ("Case",),
            },
            auto_number=("CaseNumber", 1001),
            defaults={"Status": "New", "Priority": "Medium", "IsClosed": False},
        ),
        ObjectType(
            name="CaseComment",
            key_prefix="00a",
            fields=("ParentId", "CommentBody", "IsPublished"),
            required=("ParentId",),
            lookups={"ParentId": ("Case",)},
            defaults={"IsPublished": False},
        ),
        ObjectType(
            name="Product2",
            key_prefix="01t",
            fields=(
                "Name",
                "ProductCode",
                "Description",
                "IsActive",
                "Family",
                "StockKeepingUnit",
                "QuantityUnitOfMeasure",
                "DisplayUrl",
                "ExternalId",
            ),
            required=("Name",),
            defaults={"IsActive": False},
        ),
        ObjectType(
            name="Pricebook2",
            key_prefix="01s",
            fields=("Name", "Description", "IsActive", "IsStandard"),
            required=("Name",),
            read_only=("IsStandard",),
            defaults={"IsActive": False, "IsStandard": False},
        ),
        ObjectType(
            name="PricebookEntry",
            key_prefix="01u",
            fields=(
                "Pricebook2Id",
                "Product2Id",
                "UnitPrice",
                "IsActive",
                "UseStandardPrice",
                "ProductCode",
                "Name",
                "CurrencyIsoCode",
            ),
            required=("Pricebook2Id", "Product2Id", "UnitPrice"),
            lookups={"Pricebook2Id": ("Pricebook2",), "Product2Id": ("Product2",)},
            defaults={"IsActive": False, "UseStandardPrice": False},
        ),
        ObjectType(
            name="ContentVersion",
            key_prefix="068",
            fields=(
                "Title",
                "PathOnClient",
                "VersionData",
                "FirstPublishLocationId",
                "ContentDocumentId",
                "Description",
                "ContentSize",
                "FileExtension",
                "FileType",
                "IsLatest",
                "VersionNumber",
                "ContentLocation",
                "ReasonForChange",
                "SharingOption",
                "Origin",
                "OwnerId",
            ),
            required=("PathOnClient", "VersionData"),
            lookups={"FirstPublishLocationId": ()},
            read_only=(
                "ContentDocumentId",
                "ContentSize",
                "FileExtension",
                "FileType",
                "IsLatest",
                "VersionNumber",
            ),
        ),
    )
}

CONTENT_DOCUMENT_PREFIX = "069"
ORG_PREFIX = "00D"
USER_PREFIX = "005"
QUERY_LOCATOR_PREFIX = "01g"

_PREFIX_TO_OBJECT = {obj.key_prefix: name for name, obj in OBJECT_TYPES.items()}
_OBJECTS_BY_LOWER = {name.lower(): name for name in OBJECT_TYPES}

_BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_SUFFIX_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"
_ID_RE = re.compile(r"^[A-Za-z0-9]{15}(?:[A-Za-z0-9]{3})?$")
_POD = "8d"


def canonical_object_name(name: str) -> str | None:
    """sObject names are case-insensitive in URLs and SOQL."""
    return _OBJECTS_BY_LOWER.get(name.lower())


def object_for_id(record_id: str) -> str | None:
    return _PREFIX_TO_OBJECT.get(record_id[:3])


def id_suffix(id15: str) -> str:
    """The three case-safety characters Salesforce appends to make an 18-character id."""
    suffix = ""
    for chunk_start in range(0, 15, 5):
        flags = sum(
            1 << bit for bit, char in enumerate(id15[chunk_start : chunk_start + 5]) if char.isupper()
        )
        suffix += _SUFFIX_ALPHABET[flags]
    return suffix


def make_id(prefix: str, sequence: int) -> str:
    """An 18-character id: key prefix, a fixed pod marker, a base-62 sequence, the checksum."""
    digits = ""
    value = sequence
    while True:
        value, remainder = divmod(value, 62)
        digits = _BASE62[remainder] + digits
        if value == 0:
            break
    id15 = f"{prefix}{_POD}{digits.rjust(10, '0')}"
    return id15 + id_suffix(id15)


def normalize_id(value: object) -> str | None:
    """The 18-character form of a 15- or 18-character id, or None if it is not an id."""
    if not isinstance(value, str) or not _ID_RE.match(value):
        return None
    return value[:15] + id_suffix(value[:15])


def format_datetime(moment: datetime) -> str:
    """Salesforce's REST datetime format: ``2013-05-20T20:49:32.000+0000``."""
    moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}+0000"


def now_string() -> str:
    return format_datetime(datetime.now(tz=UTC))


_DATETIME_RE = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,6}))?(Z|[+-]\d{2}:?\d{2})?$"
)
_DATE_RE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")


def parse_datetime(value: object) -> datetime | None:
    """Read the datetime formats clients send (``Z``, ``+00:00``, ``+0000``, with or without ms)."""
    if not isinstance(value, str):
        return None
    match = _DATETIME_RE.match(value.strip())
    if not match:
        return None
    year, month, day, hour, minute, second, fraction, zone = match.groups()
    tz = UTC
    offset_minutes = 0
    if zone and zone != "Z":
        sign = -1 if zone[0] == "-" else 1
        digits = zone[1:].replace(":", "")
        offset_minutes = sign * (int(digits[:2]) * 60 + int(digits[2:]))
    try:
        naive = datetime(
            int(year),
            int(month),
            int(day),
            int(hour),
            int(minute),
            int(second),
            int((fraction or "0").ljust(6, "0")),
            tzinfo=tz,
        )
    except ValueError:
        return None
    return naive - timedelta(minutes=offset_minutes)


def parse_date(value: object) -> date | None:
    if not isinstance(value, str):
        return None
    match = _DATE_RE.match(value.strip())
    if not match:
        moment = parse_datetime(value)
        return moment.date() if moment else None
    try:
        return date(int(match.group(1)), int(match.group(2)), int(match.group(3)))
    except ValueError:
        return None
