"""The emulated org's schema: every object it emulates, with its standard and custom fields, their
types and picklist values, and the metadata behind the status picklists (Opportunity stages with
their probability and closed/won flags, Order statuses with their status category, closed Case
statuses).

This is the org as SonixNet sets it up for the portal, declared here on the emulator's own terms:
the portal's field map (``apps/integrations/salesforce/field_map.py``) names the same fields, but
nothing here reads it, so a misspelled name on the portal's side fails against the emulator
exactly as against the real org: writing, filtering or selecting a field the org does not have
answers ``INVALID_FIELD`` (custom ``__c`` fields included), and a value outside a restricted
picklist answers ``INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST``.

Which picklists are restricted: the standard value sets that carry metadata, as in every org
(Opportunity ``StageName``, Order ``Status``, Case ``Status``). The org's custom picklists are
not restricted (the org's setup does not restrict them), so like a real org they accept a value
that is not in their list.

Where the org's documentation changed over time, the org follows the newer setup: the order
error is ``Activation_Error_Code__c`` / ``Activation_Error_Message__c`` (not
``Activation_Error__c``), an activated order's activation status is ``Activated`` (not
``Provisioned``), a finished cancellation is the stage ``〇Cancelled`` (not ``△Cancelled``), the
eligibility status values are ``Pending`` / ``Eligible`` / ``Ineligible`` and the ID verification
ones ``Submitted`` / ``Verified`` / ``Rejected``. API names are case-insensitive, so the
``WHMCS_Order_Id__c`` of one document and ``WHMCS_Order_ID__c`` of the other are the same field.

A test can add a field the way an administrator would in Setup (``SalesforceStore.add_field``).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
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

FIELD_TYPES = frozenset(
    {
        "id",
        "string",
        "textarea",
        "picklist",
        "boolean",
        "date",
        "datetime",
        "double",
        "int",
        "currency",
        "percent",
        "reference",
        "email",
        "phone",
        "url",
        "base64",
    }
)
"""The ``type`` values of the REST describe call that this schema uses."""


@dataclass(frozen=True)
class Field:
    """One field as the org's describe call reports it."""

    name: str
    type: str = "string"
    label: str = ""
    picklist: tuple[str, ...] = ()
    restricted: bool = False
    """A restricted picklist refuses values outside ``picklist`` (``INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST``)."""
    reference_to: tuple[str, ...] | None = None
    """For a lookup: the objects it may point at; an empty tuple allows any emulated object."""

    def __post_init__(self) -> None:
        if self.type not in FIELD_TYPES:
            raise ValueError(f"Unknown field type {self.type!r} for {self.name}")

    @property
    def custom(self) -> bool:
        return self.name.lower().endswith("__c")

    @property
    def display_label(self) -> str:
        return self.label or self.name.removesuffix("__c").replace("_", " ")


@dataclass(frozen=True)
class Stage:
    """An Opportunity stage: its default probability, forecast category and closed/won flags."""

    name: str
    probability: int
    closed: bool = False
    won: bool = False

    @property
    def forecast_category(self) -> str:
        if self.closed:
            return "Closed" if self.won else "Omitted"
        return "Pipeline"


@dataclass(frozen=True)
class ObjectType:
    """How one sObject behaves in the emulator."""

    name: str
    key_prefix: str
    declared: tuple[Field, ...]
    required: tuple[str, ...] = ()
    read_only: tuple[str, ...] = ()
    auto_number: tuple[str, int] | None = None
    """(field, first value): an 8-digit number such as ``OrderNumber`` ``00000100``."""
    defaults: Mapping[str, Any] = field(default_factory=dict)

    @property
    def fields(self) -> tuple[str, ...]:
        """Names of the declared (non-system) fields."""
        return tuple(item.name for item in self.declared)

    @property
    def all_fields(self) -> tuple[str, ...]:
        return SYSTEM_FIELDS + self.fields

    def field(self, name: str) -> Field | None:
        """The declaration of ``name`` (case-insensitive), or None for system or unknown fields."""
        lower = name.lower()
        return next((item for item in self.declared if item.name.lower() == lower), None)

    @property
    def lookups(self) -> dict[str, tuple[str, ...]]:
        """Lookup fields the emulator checks → allowed target objects (empty: any emulated object).
        Lookups to objects it does not emulate (User, Campaign, ContentDocument) are not checked."""
        return {
            item.name: item.reference_to
            for item in self.declared
            if item.reference_to is not None
            and all(target in _EMULATED_OBJECTS for target in item.reference_to)
        }

    @property
    def writable_check(self) -> frozenset[str]:
        """Lower-cased names a client may not write."""
        extra = (self.auto_number[0],) if self.auto_number else ()
        return frozenset(name.lower() for name in (*SYSTEM_FIELDS, *self.read_only, *extra))


# --- Field helpers -----------------------------------------------------------------------------


def text(name: str, label: str = "") -> Field:
    return Field(name, "string", label)


def long_text(name: str, label: str = "") -> Field:
    return Field(name, "textarea", label)


def picklist(name: str, values: tuple[str, ...], label: str = "", *, restricted: bool = False) -> Field:
    return Field(name, "picklist", label, picklist=values, restricted=restricted)


def lookup(name: str, *targets: str, label: str = "") -> Field:
    return Field(name, "reference", label, reference_to=targets)


def typed(kind: str, *names: str) -> tuple[Field, ...]:
    return tuple(Field(name, kind) for name in names)


def address(prefix: str) -> tuple[Field, ...]:
    parts = ("Street", "City", "State", "PostalCode", "Country", "StateCode", "CountryCode")
    return tuple(Field(prefix + part, "textarea" if part == "Street" else "string") for part in parts)


# --- Status picklists with metadata ------------------------------------------------------------

OPPORTUNITY_STAGES: tuple[Stage, ...] = (
    # The customer journey. Post Processing 75 %, Active 90 %, △Cancelling 100 %, 〇Cancelled
    # closed and won, Void closed at 0 % are the org's; Introduction, Ready and Pending (on hold)
    # have no documented probability, so the emulator picks increasing ones.
    Stage("Introduction", 10),
    Stage("Ready", 50),
    Stage("Post Processing", 75),
    Stage("Pending", 75),
    Stage("Active", 90),
    Stage("△Cancelling", 100),
    Stage("〇Cancelled", 100, closed=True, won=True),
    Stage("Void", 0, closed=True),
)
STAGES_BY_NAME: dict[str, Stage] = {stage.name: stage for stage in OPPORTUNITY_STAGES}

ORDER_STATUSES: dict[str, str] = {
    # Status -> its status category (Order.StatusCode).
    "Draft": "Draft",
    "Pending Review": "Draft",
    "Approved": "Draft",
    "Activated": "Activated",
    "Completed": "Activated",
    "Cancelled": "Draft",
}

CASE_STATUSES: dict[str, bool] = {
    # Status -> whether it closes the case.
    "New": False,
    "Working": False,
    "Escalated": False,
    "Closed": True,
}

# --- The org's objects -------------------------------------------------------------------------

ACCOUNT = ObjectType(
    name="Account",
    key_prefix="001",
    declared=(
        text("Name", "Account Name"),
        text("Type"),
        lookup("ParentId", "Account"),
        lookup("OwnerId", "User"),
        Field("Phone", "phone"),
        Field("Fax", "phone"),
        Field("Website", "url"),
        text("Industry"),
        long_text("Description"),
        text("AccountNumber"),
        text("Site"),
        text("AccountSource"),
        Field("NumberOfEmployees", "int"),
        Field("AnnualRevenue", "currency"),
        text("Rating"),
        text("Ownership"),
        text("Sic"),
        text("TickerSymbol"),
        *address("Billing"),
        *address("Shipping"),
        # The billing address in Japanese script (the standard address holds the romaji one; the
        # postal code is shared).
        long_text("Billing_Street_JA__c", "Billing Street (Japanese)"),
        text("Billing_City_JA__c", "Billing City (Japanese)"),
        text("Billing_State_JA__c", "Billing State/Province (Japanese)"),
        # The customer and the systems it is linked to.
        text("SF_Account_No__c", "Customer Number"),
        text("WH_Account__c", "WHMCS Account"),
        picklist("Portal_Status__c", ("Active", "Inactive"), "Portal Status"),
        picklist(
            "Portal_Registration_Source__c",
            ("Legacy", "Portal Signup", "Portal Checkout"),
            "Registration Source",
        ),
        Field("Portal_Last_SignIn__c", "datetime", "Last Sign In"),
        # Internet eligibility.
        text("Internet_Eligibility__c", "Internet Eligibility"),
        picklist(
            "Internet_Eligibility_Status__c", ("Pending", "Eligible", "Ineligible"), "Eligibility Status"
        ),
        Field("Internet_Eligibility_Request_Date_Time__c", "datetime", "Eligibility Requested"),
        Field("Internet_Eligibility_Checked_Date_Time__c", "datetime", "Eligibility Checked"),
        text("Internet_Eligibility_Notes__c", "Eligibility Notes"),
        lookup("Internet_Eligibility_Case_Id__c", "Case", label="Eligibility Case"),
        # ID verification.
        picklist("Id_Verification_Status__c", ("Submitted", "Verified", "Rejected"), "ID Status"),
        Field("Id_Verification_Submitted_Date_Time__c", "datetime", "ID Submitted"),
        Field("Id_Verification_Verified_Date_Time__c", "datetime", "ID Verified"),
        long_text("Id_Verification_Note__c", "ID Notes"),
        text("Id_Verification_Rejection_Message__c", "Rejection Reason"),
    ),
    required=("Name",),
)

CONTACT = ObjectType(
    name="Contact",
    key_prefix="003",
    declared=(
        lookup("AccountId", "Account"),
        lookup("OwnerId", "User"),
        text("Salutation"),
        text("FirstName"),
        text("LastName"),
        text("Name", "Full Name"),
        Field("Email", "email"),
        Field("Phone", "phone"),
        Field("MobilePhone", "phone"),
        Field("HomePhone", "phone"),
        Field("OtherPhone", "phone"),
        Field("Fax", "phone"),
        text("Title"),
        text("Department"),
        Field("Birthdate", "date"),
        long_text("Description"),
        text("LeadSource"),
        lookup("ReportsToId", "Contact"),
        Field("HasOptedOutOfEmail", "boolean"),
        Field("DoNotCall", "boolean"),
        *address("Mailing"),
        *address("Other"),
    ),
    required=("LastName",),
    read_only=("Name",),
)

OPPORTUNITY = ObjectType(
    name="Opportunity",
    key_prefix="006",
    declared=(
        lookup("AccountId", "Account"),
        lookup("ContactId", "Contact"),
        lookup("OwnerId", "User"),
        text("Name"),
        picklist("StageName", tuple(stage.name for stage in OPPORTUNITY_STAGES), "Stage", restricted=True),
        Field("CloseDate", "date"),
        Field("Amount", "currency"),
        Field("Probability", "percent"),
        text("Type"),
        text("LeadSource"),
        long_text("Description"),
        text("NextStep"),
        Field("IsClosed", "boolean"),
        Field("IsWon", "boolean"),
        text("ForecastCategoryName"),
        lookup("CampaignId", "Campaign"),
        lookup("Pricebook2Id", "Pricebook2"),
        # The org's product type field; its API name has no __c suffix.
        picklist(
            "CommodityType",
            ("Personal SonixNet Home Internet", "Corporate SonixNet Home Internet", "SIM", "VPN"),
            "Commodity Type",
        ),
        picklist("Application_Stage__c", ("INTRO-1",), "Application Stage"),
        picklist(
            "Opportunity_Source__c",
            ("Portal - Internet Eligibility Request", "Portal - Order Placement", "Sales - Manual"),
            "Opportunity Source",
        ),
        Field("WHMCS_Service_ID__c", "double", "WHMCS Service ID"),
        # Internet cancellation.
        picklist("CancellationNotice__c", ("有",), "Cancellation Notice"),
        Field("ScheduledCancellationDateAndTime__c", "datetime", "Scheduled Cancellation"),
        picklist("LineReturn__c", ("NotYet", "SentKit", "Returned1", "Returned2"), "Line Return Status"),
        # SIM cancellation (the customer's comments go on the cancellation Case, as for internet).
        picklist("SIMCancellationNotice__c", ("有",), "SIM Cancellation Notice"),
        Field("SIMScheduledCancellationDateAndTime__c", "datetime", "SIM Scheduled Cancellation"),
    ),
    required=("Name", "StageName", "CloseDate"),
    defaults={"IsClosed": False, "IsWon": False},
)

ORDER = ObjectType(
    name="Order",
    key_prefix="801",
    declared=(
        lookup("AccountId", "Account"),
        lookup("OpportunityId", "Opportunity"),
        lookup("OwnerId", "User"),
        text("Name"),
        picklist("Status", tuple(ORDER_STATUSES), restricted=True),
        text("StatusCode", "Status Category"),
        Field("EffectiveDate", "date", "Order Start Date"),
        Field("EndDate", "date"),
        text("OrderNumber"),
        lookup("Pricebook2Id", "Pricebook2"),
        long_text("Description"),
        text("Type"),
        Field("TotalAmount", "currency"),
        lookup("BillToContactId", "Contact"),
        lookup("ShipToContactId", "Contact"),
        lookup("CustomerAuthorizedById", "Contact"),
        Field("ActivatedDate", "datetime"),
        text("PoNumber"),
        *address("Billing"),
        *address("Shipping"),
        # Provisioning to WHMCS (the Order Approval Flow sets Activating; the portal the rest).
        picklist(
            "Activation_Status__c",
            ("Pending Review", "Activating", "Activated", "Failed"),
            "Activation Status",
        ),
        text("Activation_Error_Code__c", "Error Code"),
        text("Activation_Error_Message__c", "Error Message"),
        Field("Activation_Error_DateTime__c", "datetime", "Activation Error Time"),
        text("WHMCS_Order_ID__c", "WHMCS Order ID"),
    ),
    required=("AccountId", "EffectiveDate", "Status"),
    read_only=("TotalAmount",),
    auto_number=("OrderNumber", 100),
)

ORDER_ITEM = ObjectType(
    name="OrderItem",
    key_prefix="802",
    declared=(
        lookup("OrderId", "Order"),
        lookup("PricebookEntryId", "PricebookEntry"),
        lookup("Product2Id", "Product2"),
        Field("Quantity", "double"),
        Field("UnitPrice", "currency"),
        Field("ListPrice", "currency"),
        Field("TotalPrice", "currency"),
        long_text("Description"),
        Field("ServiceDate", "date"),
        Field("EndDate", "date"),
        text("OrderItemNumber"),
    ),
    # PricebookEntryId or Product2Id (API 47.0+ resolves the standard price book entry).
    required=("OrderId", "Quantity", "UnitPrice"),
    read_only=("TotalPrice",),
    auto_number=("OrderItemNumber", 1),
)

CASE = ObjectType(
    name="Case",
    key_prefix="500",
    declared=(
        lookup("AccountId", "Account"),
        lookup("ContactId", "Contact"),
        # The org's lookup from a Case to the Opportunity it concerns.
        lookup("OpportunityId", "Opportunity"),
        lookup("OwnerId", "User"),
        lookup("ParentId", "Case"),
        text("CaseNumber"),
        text("Subject"),
        long_text("Description"),
        picklist("Status", tuple(CASE_STATUSES), restricted=True),
        picklist("Origin", ("Phone", "Email", "Web", "Portal", "Portal Website"), "Case Origin"),
        picklist("Priority", ("High", "Medium", "Low")),
        text("Reason"),
        picklist(
            "Type",
            ("Eligibility Check", "ID Verification", "Cancellation Request", "General Inquiry"),
            "Case Type",
        ),
        Field("IsClosed", "boolean", "Closed"),
        Field("ClosedDate", "datetime"),
        Field("SuppliedEmail", "email", "Web Email"),
        text("SuppliedName", "Web Name"),
        Field("SuppliedPhone", "phone", "Web Phone"),
        long_text("Comments"),
    ),
    auto_number=("CaseNumber", 1001),
    defaults={"Status": "New", "Priority": "Medium", "IsClosed": False},
)

CASE_COMMENT = ObjectType(
    name="CaseComment",
    key_prefix="00a",
    declared=(lookup("ParentId", "Case"), long_text("CommentBody"), Field("IsPublished", "boolean")),
    required=("ParentId",),
    defaults={"IsPublished": False},
)

PRODUCT2 = ObjectType(
    name="Product2",
    key_prefix="01t",
    declared=(
        text("Name", "Product Name"),
        text("ProductCode"),
        long_text("Description"),
        Field("IsActive", "boolean", "Active"),
        # The standard Product Family; the org's values are the product types (what the portal
        # falls back to where an org has no Product_Type__c).
        picklist("Family", ("Internet", "SIM", "VPN"), "Product Family"),
        text("StockKeepingUnit"),
        text("QuantityUnitOfMeasure"),
        Field("DisplayUrl", "url"),
        text("ExternalId"),
        # The catalog's link to WHMCS and its billing terms.
        text("WHMCS_Product_Id__c", "WHMCS Product ID"),
        picklist("Billing_Cycle__c", ("Monthly", "Annually", "One-time"), "Billing Cycle"),
        picklist("Item_Class__c", ("Service", "Installation", "Activation", "Add-on"), "Item Class"),
        long_text("Portal_ConfigOptions_JSON__c", "Config Options JSON"),
        # What the portal's shop filters and orders the catalog by.
        picklist("Product_Type__c", ("Internet", "SIM", "VPN"), "Product Type"),
        text("Eligibility_Offering__c", "Eligibility Offering"),
        Field("Family_Discount__c", "boolean", "Family Discount"),
        Field("Portal_Display_Order__c", "double", "Portal Display Order"),
    ),
    required=("Name",),
    defaults={"IsActive": False},
)

PRICEBOOK2 = ObjectType(
    name="Pricebook2",
    key_prefix="01s",
    declared=(
        text("Name", "Price Book Name"),
        long_text("Description"),
        Field("IsActive", "boolean", "Active"),
        Field("IsStandard", "boolean", "Is Standard Price Book"),
    ),
    required=("Name",),
    read_only=("IsStandard",),
    defaults={"IsActive": False, "IsStandard": False},
)

PRICEBOOK_ENTRY = ObjectType(
    name="PricebookEntry",
    key_prefix="01u",
    declared=(
        lookup("Pricebook2Id", "Pricebook2"),
        lookup("Product2Id", "Product2"),
        Field("UnitPrice", "currency", "List Price"),
        Field("IsActive", "boolean", "Active"),
        Field("UseStandardPrice", "boolean"),
        text("ProductCode"),
        text("Name"),
        text("CurrencyIsoCode"),
    ),
    required=("Pricebook2Id", "Product2Id", "UnitPrice"),
    defaults={"IsActive": False, "UseStandardPrice": False},
)

CONTENT_VERSION = ObjectType(
    name="ContentVersion",
    key_prefix="068",
    declared=(
        text("Title"),
        text("PathOnClient"),
        Field("VersionData", "base64"),
        lookup("FirstPublishLocationId"),
        lookup("ContentDocumentId", "ContentDocument"),
        long_text("Description"),
        Field("ContentSize", "int"),
        text("FileExtension"),
        text("FileType"),
        Field("IsLatest", "boolean"),
        text("VersionNumber"),
        text("ContentLocation"),
        text("ReasonForChange"),
        text("SharingOption"),
        text("Origin"),
        lookup("OwnerId", "User"),
    ),
    required=("PathOnClient", "VersionData"),
    read_only=(
        "ContentDocumentId",
        "ContentSize",
        "FileExtension",
        "FileType",
        "IsLatest",
        "VersionNumber",
    ),
)

ORG_OBJECTS: tuple[ObjectType, ...] = (
    ACCOUNT,
    CONTACT,
    OPPORTUNITY,
    ORDER,
    ORDER_ITEM,
    CASE,
    CASE_COMMENT,
    PRODUCT2,
    PRICEBOOK2,
    PRICEBOOK_ENTRY,
    CONTENT_VERSION,
)
_EMULATED_OBJECTS = frozenset(obj.name for obj in ORG_OBJECTS)
OBJECT_TYPES: dict[str, ObjectType] = {obj.name: obj for obj in ORG_OBJECTS}


# --- Platform events and Change Data Capture ---------------------------------------------------

PLATFORM_EVENT_SCHEMAS_DIR = Path(__file__).resolve().parent / "schemas"
"""One Avro schema per platform event of the org (``<Name>__e.avsc``), as ``GetSchema`` serves it."""


def _event_field(spec: Mapping[str, Any]) -> Field:
    kinds = [
        kind
        for kind in (spec["type"] if isinstance(spec["type"], list) else [spec["type"]])
        if kind != "null"
    ]
    kind = kinds[0] if kinds else "string"
    if "DateTime" in str(spec.get("doc", "")):
        return Field(spec["name"], "datetime")
    return Field(
        spec["name"],
        {"double": "double", "boolean": "boolean", "int": "int", "long": "int"}.get(kind, "string"),
    )


def _platform_events() -> dict[str, tuple[Field, ...]]:
    events: dict[str, tuple[Field, ...]] = {}
    for path in sorted(PLATFORM_EVENT_SCHEMAS_DIR.glob("*.avsc")):
        schema = json.loads(path.read_text())
        events[path.stem] = tuple(
            _event_field(spec)
            for spec in schema["fields"]
            if spec["name"] not in ("CreatedDate", "CreatedById")
        )
    return events


PLATFORM_EVENTS: dict[str, tuple[Field, ...]] = _platform_events()
"""The org's platform events and their custom fields, read from their Avro schemas."""

CHANGE_EVENT_SUPPORTED: tuple[str, ...] = (
    "Account",
    "Contact",
    "Opportunity",
    "Order",
    "OrderItem",
    "Case",
    "Product2",
)
"""The emulated objects that support Change Data Capture: the global describe lists a change event
entity ``<Object>ChangeEvent`` for each, selected or not (as a real org does). CaseComment,
price books and files support none; the portal reconciles case comments instead."""

CHANGE_EVENT_ENTITIES: tuple[str, ...] = ("Account", "Opportunity", "Order", "Case", "Product2")
"""The objects the org selects for Change Data Capture (Setup > Change Data Capture, the standard
``ChangeEvents`` channel): their changes are published on ``/data/<Object>ChangeEvent`` and
``/data/ChangeEvents``. The Tooling API lists them as ``PlatformEventChannelMember`` records."""


def change_event_name(sobject: str) -> str:
    """``AccountChangeEvent``; ``Employee__ChangeEvent`` for the custom object ``Employee__c``."""
    return (
        f"{sobject.removesuffix('__c')}__ChangeEvent" if sobject.endswith("__c") else f"{sobject}ChangeEvent"
    )
