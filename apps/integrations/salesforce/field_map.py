"""Every Salesforce object, field and picklist name the portal uses, in one place.

Code never spells a ``__c`` name: it asks this module. The portal stores its own stable values
(the Opportunity stage ``"cancelling"``) and translates to and from the org's
picklist values here, so an org that differs only needs ``SF_FIELD_MAP_OVERRIDES``:

    SF_FIELD_MAP_OVERRIDES='{"fields": {"Order": {"activation_error_message": "Activation_Error__c"}},
                             "picklists": {"Order.activation_status": {"activated": "Provisioned"}}}'

Where the org's requirements and its newer flow review disagree, the defaults follow the review:
``Activation_Error_Code__c`` / ``Activation_Error_Message__c`` rather than ``Activation_Error__c``,
``Activated`` rather than ``Provisioned``, ``〇Cancelled`` rather than ``△Cancelled``, and the
Opportunity source field ``Opportunity_Source__c`` (the review's field table once calls it
``Portal_Source__c``).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime
from functools import cache
from typing import Any

from django.conf import settings
from django.utils.dateparse import parse_datetime

# Portal attribute -> Salesforce field API name, per Salesforce object.
DEFAULT_FIELDS: dict[str, dict[str, str]] = {
    "Account": {
        "name": "Name",
        "phone": "Phone",
        "billing_street": "BillingStreet",
        "billing_city": "BillingCity",
        "billing_state": "BillingState",
        "billing_postal_code": "BillingPostalCode",
        "billing_country": "BillingCountry",
        "billing_street_ja": "Billing_Street_JA__c",
        "billing_city_ja": "Billing_City_JA__c",
        "billing_state_ja": "Billing_State_JA__c",
        "customer_number": "SF_Account_No__c",
        "whmcs_client_id": "WH_Account__c",
        "portal_status": "Portal_Status__c",
        "registration_source": "Portal_Registration_Source__c",
        "last_signed_in_at": "Portal_Last_SignIn__c",
        "internet_eligibility": "Internet_Eligibility__c",
        "internet_eligibility_status": "Internet_Eligibility_Status__c",
        "internet_eligibility_requested_at": "Internet_Eligibility_Request_Date_Time__c",
        "internet_eligibility_checked_at": "Internet_Eligibility_Checked_Date_Time__c",
        "internet_eligibility_notes": "Internet_Eligibility_Notes__c",
        "internet_eligibility_case_id": "Internet_Eligibility_Case_Id__c",
        "id_verification_status": "Id_Verification_Status__c",
        "id_verification_submitted_at": "Id_Verification_Submitted_Date_Time__c",
        "id_verification_verified_at": "Id_Verification_Verified_Date_Time__c",
        "id_verification_note": "Id_Verification_Note__c",
        "id_verification_rejection_message": "Id_Verification_Rejection_Message__c",
        "modified_at": "SystemModstamp",
    },
    "Contact": {
        "account_id": "AccountId",
        "first_name": "FirstName",
        "last_name": "LastName",
        "email": "Email",
        "phone": "Phone",
        "birth_date": "Birthdate",
    },
    "Opportunity": {
        "account_id": "AccountId",
        "name": "Name",
        "stage": "StageName",
        "close_date": "CloseDate",
        "commodity_type": "CommodityType",
        "application_stage": "Application_Stage__c",
        "source": "Opportunity_Source__c",
        "whmcs_service_id": "WHMCS_Service_ID__c",
        "cancellation_notice": "CancellationNotice__c",
        "scheduled_cancellation_at": "ScheduledCancellationDateAndTime__c",
        "line_return_status": "LineReturn__c",
        "sim_cancellation_notice": "SIMCancellationNotice__c",
        "sim_scheduled_cancellation_at": "SIMScheduledCancellationDateAndTime__c",
        "modified_at": "SystemModstamp",
    },
    "Order": {
        "account_id": "AccountId",
        "opportunity_id": "OpportunityId",
        "order_number": "OrderNumber",
        "status": "Status",
        "effective_date": "EffectiveDate",
        "activation_status": "Activation_Status__c",
        "activation_error_code": "Activation_Error_Code__c",
        "activation_error_message": "Activation_Error_Message__c",
        "activation_error_at": "Activation_Error_DateTime__c",
        "whmcs_order_id": "WHMCS_Order_ID__c",
        "description": "Description",
        "modified_at": "SystemModstamp",
    },
    "OrderItem": {
        "order_id": "OrderId",
        "product_id": "Product2Id",
        "quantity": "Quantity",
        "unit_price": "UnitPrice",
    },
    "Case": {
        "account_id": "AccountId",
        "opportunity_id": "OpportunityId",
        "case_number": "CaseNumber",
        "type": "Type",
        "subject": "Subject",
        "description": "Description",
        "status": "Status",
        "origin": "Origin",
        "priority": "Priority",
        "modified_at": "SystemModstamp",
    },
    "CaseComment": {
        "parent_id": "ParentId",
        "body": "CommentBody",
        "is_published": "IsPublished",
        "created_at": "CreatedDate",
        "created_by_id": "CreatedById",
        "modified_at": "SystemModstamp",
    },
    "Product2": {
        "name": "Name",
        "sku": "ProductCode",
        "description": "Description",
        "is_active": "IsActive",
        "product_type": "Product_Type__c",
        # The standard Product Family: the product type of an org without Product_Type__c.
        "product_family": "Family",
        "whmcs_product_id": "WHMCS_Product_Id__c",
        "billing_cycle": "Billing_Cycle__c",
        "item_class": "Item_Class__c",
        "config_options": "Portal_ConfigOptions_JSON__c",
        "eligibility_offering": "Eligibility_Offering__c",
        "is_family_discount": "Family_Discount__c",
        "display_order": "Portal_Display_Order__c",
        "modified_at": "SystemModstamp",
    },
    # Prices live in the standard price book, as in any org.
    "Pricebook2": {"is_standard": "IsStandard"},
    "PricebookEntry": {
        "pricebook_id": "Pricebook2Id",
        "product_id": "Product2Id",
        "unit_price": "UnitPrice",
        "is_active": "IsActive",
    },
    "ContentVersion": {
        "title": "Title",
        "path": "PathOnClient",
        "data": "VersionData",
        "linked_record_id": "FirstPublishLocationId",
    },
    # Platform events.
    "Account_Internet_Eligibility_Update__e": {
        "account_id": "AccountId__c",
        "internet_eligibility": "Internet_Eligibility__c",
        "internet_eligibility_status": "Internet_Eligibility_Status__c",
        "internet_eligibility_requested_at": "Internet_Eligibility_Request_Date_Time__c",
        "internet_eligibility_checked_at": "Internet_Eligibility_Checked_Date_Time__c",
        "internet_eligibility_notes": "Internet_Eligibility_Notes__c",
        "internet_eligibility_case_id": "Internet_Eligibility_Case_Id__c",
        "id_verification_status": "Id_Verification_Status__c",
        "id_verification_rejection_message": "Id_Verification_Rejection_Message__c",
    },
    "OrderProvisionRequested__e": {
        "order_id": "OrderId__c",
        "idempotency_key": "IdemKey__c",
        "correlation_id": "CorrelationId__c",
        "requested_by": "RequestedBy__c",
        "version": "Version__c",
    },
}

# Attributes the portal uses when the org has their field and does without otherwise: the
# Salesforce requirements list only the WHMCS mapping fields of Product2 (WHMCS_Product_Id__c,
# Billing_Cycle__c, Item_Class__c, Portal_ConfigOptions_JSON__c), so an org set up from them lacks
# these. Without them the product type comes from the standard Product Family, every plan is
# offered whatever the eligibility result, no plan is a family discount plan and plans are listed
# by name. Reads that select them describe the object first (``describe.available_attributes``).
OPTIONAL_FIELDS: dict[str, frozenset[str]] = {
    "Product2": frozenset({"product_type", "eligibility_offering", "is_family_discount", "display_order"}),
}

# "<Object>.<attribute>" -> {portal value: the org's picklist value}, for every picklist the portal
# reads or writes. Spelled out rather than taken from the portal's choices: their labels are
# translated, the org's values are not, and this module stays free of the domain apps.
# tests/integrations/test_field_map.py checks every choice the portal stores has its value here.
DEFAULT_PICKLIST_VALUES: dict[str, dict[str, str]] = {
    "Account.portal_status": {"active": "Active", "inactive": "Inactive"},
    "Account.registration_source": {
        "legacy": "Legacy",
        "portal_signup": "Portal Signup",
        "portal_checkout": "Portal Checkout",
    },
    "Account.internet_eligibility_status": {
        "pending": "Pending",
        "eligible": "Eligible",
        "ineligible": "Ineligible",
    },
    "Account.id_verification_status": {
        "submitted": "Submitted",
        "verified": "Verified",
        "rejected": "Rejected",
    },
    "Opportunity.stage": {
        "introduction": "Introduction",
        "ready": "Ready",
        "post_processing": "Post Processing",
        "active": "Active",
        "pending": "Pending",
        "cancelling": "△Cancelling",
        "cancelled": "〇Cancelled",
        "void": "Void",
    },
    "Opportunity.commodity_type": {
        "personal_internet": "Personal SonixNet Home Internet",
        "corporate_internet": "Corporate SonixNet Home Internet",
        "sim": "SIM",
        "vpn": "VPN",
    },
    "Opportunity.source": {
        "portal_eligibility_request": "Portal - Internet Eligibility Request",
        "portal_order_placement": "Portal - Order Placement",
        "sales_manual": "Sales - Manual",
    },
    "Opportunity.cancellation_notice": {"given": "有"},
    "Opportunity.sim_cancellation_notice": {"given": "有"},
    "Opportunity.line_return_status": {
        "not_yet": "NotYet",
        "sent_kit": "SentKit",
        "returned_1": "Returned1",
        "returned_2": "Returned2",
    },
    "Order.status": {
        "draft": "Draft",
        "pending_review": "Pending Review",
        "approved": "Approved",
        "activated": "Activated",
        "completed": "Completed",
        "cancelled": "Cancelled",
    },
    "Order.activation_status": {
        "pending_review": "Pending Review",
        "activating": "Activating",
        "activated": "Activated",
        "failed": "Failed",
    },
    "Case.type": {
        "eligibility_check": "Eligibility Check",
        "id_verification": "ID Verification",
        "cancellation_request": "Cancellation Request",
        "general_inquiry": "General Inquiry",
    },
    "Case.status": {"new": "New", "working": "Working", "escalated": "Escalated", "closed": "Closed"},
    "Case.origin": {
        "portal": "Portal",
        "portal_website": "Portal Website",
        "phone": "Phone",
        "email": "Email",
    },
    "Case.priority": {"low": "Low", "medium": "Medium", "high": "High"},
    "Product2.product_type": {"internet": "Internet", "sim": "SIM", "vpn": "VPN"},
    "Product2.product_family": {"internet": "Internet", "sim": "SIM", "vpn": "VPN"},
    "Product2.item_class": {
        "plan": "Service",
        "installation": "Installation",
        "activation": "Activation",
        "add_on": "Add-on",
    },
    "Product2.billing_cycle": {"monthly": "Monthly", "annually": "Annually", "one_time": "One-time"},
}


class FieldMap:
    """Field and picklist names for one org: the defaults above plus the configured overrides."""

    def __init__(self, overrides: Mapping[str, Any] | None = None) -> None:
        overrides = overrides or {}
        self._fields = {obj: dict(names) for obj, names in DEFAULT_FIELDS.items()}
        for obj, names in overrides.get("fields", {}).items():
            self._fields.setdefault(obj, {}).update(names)

        self._to_salesforce = {
            key: {**values, **overrides.get("picklists", {}).get(key, {})}
            for key, values in DEFAULT_PICKLIST_VALUES.items()
        }
        self._from_salesforce = {
            key: {sf: portal for portal, sf in values.items()} for key, values in self._to_salesforce.items()
        }

    def field(self, sobject: str, attribute: str) -> str:
        """The API name of a portal attribute on a Salesforce object, e.g. ``("Account", "portal_status")``."""
        try:
            return self._fields[sobject][attribute]
        except KeyError:
            raise KeyError(f"No Salesforce field is mapped for {sobject}.{attribute}") from None

    def fields(self, sobject: str, *attributes: str) -> list[str]:
        return [self.field(sobject, attribute) for attribute in attributes]

    def attributes(self, sobject: str) -> dict[str, str]:
        """All mapped attributes of an object: ``{attribute: api_name}``."""
        return dict(self._fields[sobject])

    def object_names(self) -> list[str]:
        """Every Salesforce object (and platform event) the map names fields of."""
        return list(self._fields)

    def picklist_values(self, sobject: str, attribute: str) -> list[str]:
        """The org's values of a picklist the portal uses, in the map's order."""
        return list(dict.fromkeys(self._to_salesforce[f"{sobject}.{attribute}"].values()))

    def to_salesforce(self, sobject: str, attribute: str, value: str) -> str | None:
        """The org's picklist value for a portal value; an empty portal value clears the field."""
        if value in ("", None):
            return None
        return self._to_salesforce[f"{sobject}.{attribute}"][value]

    def from_salesforce(self, sobject: str, attribute: str, value: str | None) -> str:
        """The portal value for an org picklist value; unknown values raise, so a new picklist
        value in the org is noticed instead of being stored as garbage."""
        if not value:
            return ""
        try:
            return self._from_salesforce[f"{sobject}.{attribute}"][value]
        except KeyError:
            raise ValueError(
                f"Unknown Salesforce picklist value {value!r} for {sobject}.{attribute}"
            ) from None

    def from_record(self, sobject: str, record: Mapping[str, Any]) -> dict[str, Any]:
        """Portal attributes from a Salesforce record: the mapped fields present in it, with
        picklist values translated (other values are returned as Salesforce sent them)."""
        values: dict[str, Any] = {}
        for attribute, api_name in self._fields[sobject].items():
            if api_name not in record:
                continue
            value = record[api_name]
            if f"{sobject}.{attribute}" in self._to_salesforce:
                value = self.from_salesforce(sobject, attribute, value)
            values[attribute] = value
        return values

    def record(self, sobject: str, values: Mapping[str, Any]) -> dict[str, Any]:
        """A Salesforce record body from portal attributes, translating picklist values."""
        body: dict[str, Any] = {}
        for attribute, value in values.items():
            if f"{sobject}.{attribute}" in self._to_salesforce:
                value = self.to_salesforce(sobject, attribute, value)
            body[self.field(sobject, attribute)] = value
        return body


def salesforce_datetime(value: datetime) -> str:
    """A DateTime field value as Salesforce's REST API writes it (``2025-03-31T14:59:59.000+0000``),
    always in UTC; naive datetimes are refused rather than guessed."""
    if value.tzinfo is None:
        raise ValueError("Salesforce datetimes must be timezone-aware")
    utc = value.astimezone(UTC)
    return f"{utc:%Y-%m-%dT%H:%M:%S}.{utc.microsecond // 1000:03d}+0000"


def parse_salesforce_datetime(value: Any) -> datetime | None:
    """A Salesforce REST datetime (``2013-05-20T20:49:32.000+0000``) as an aware datetime."""
    if value in (None, "") or isinstance(value, datetime):
        return value or None
    text = str(value)
    if len(text) > 5 and text[-5] in "+-" and text[-3] != ":":  # Salesforce's "+0000"
        text = f"{text[:-2]}:{text[-2:]}"
    return parse_datetime(text)


@cache
def _field_map_for(overrides_key: str) -> FieldMap:
    return FieldMap(json.loads(overrides_key))


def get_field_map() -> FieldMap:
    """The field map for the configured org (cached per distinct override setting)."""
    return _field_map_for(json.dumps(settings.SALESFORCE["FIELD_MAP_OVERRIDES"], sort_keys=True))
