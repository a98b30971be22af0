"""Does the org have what the portal needs? Compares the org's describe results (the global
describe and each object's describe) with the field map, its overrides applied, and the event
channels configured; ``manage.py check_salesforce_org`` prints the result.

Needed: every object and field of the field map with a fitting type where the portal parses the
value, every picklist value the portal writes or reads, the two platform events with their fields,
and for each change event channel the subscriber follows, its change event entity
(``<Object>ChangeEvent``) in the global describe (the object supports Change Data Capture and the
user may see it) and selected on the standard ``ChangeEvents`` channel (Setup > Change Data
Capture), which only the Tooling API shows (``PlatformEventChannelMember``, readable with the View
Setup and Configuration permission; without it the selection is reported as unchecked). The optional Product2 fields
(``field_map.OPTIONAL_FIELDS``) are reported, not required.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from typing import Any

from django.conf import settings

from apps.integrations.salesforce.exceptions import SalesforceError, SalesforceUnavailable
from apps.integrations.salesforce.field_map import DEFAULT_PICKLIST_VALUES, OPTIONAL_FIELDS, FieldMap
from apps.integrations.salesforce.gateway import SalesforceGateway

# Platform event setting -> the field map's entry for its fields.
PLATFORM_EVENT_SETTINGS: dict[str, str] = {
    "ACCOUNT_EVENT_CHANNEL": "Account_Internet_Eligibility_Update__e",
    "ORDER_PROVISION_EVENT_CHANNEL": "OrderProvisionRequested__e",
}

# The change event channels followed when the settings name none.
DEFAULT_CHANGE_EVENT_CHANNELS: tuple[str, ...] = (
    "/data/AccountChangeEvent",
    "/data/OpportunityChangeEvent",
    "/data/OrderChangeEvent",
    "/data/CaseChangeEvent",
    "/data/Product2ChangeEvent",
)

TYPE_GROUPS: dict[str, frozenset[str]] = {
    "datetime": frozenset({"datetime"}),
    "date": frozenset({"date"}),
    "boolean": frozenset({"boolean"}),
    "number": frozenset({"double", "int", "long", "currency", "percent"}),
    "reference": frozenset({"reference", "id"}),
    # A picklist the portal writes: a picklist, or text that takes any value.
    "picklist": frozenset({"picklist", "multipicklist", "combobox", "string", "textarea"}),
}

# "<Object>.<attribute>" -> the type group its value must have, where the portal parses it.
EXPECTED_TYPES: dict[str, str] = {
    **{
        f"{obj}.modified_at": "datetime"
        for obj in ("Account", "Opportunity", "Order", "Case", "CaseComment", "Product2")
    },
    **dict.fromkeys(
        (
            "Account.last_signed_in_at",
            "Account.internet_eligibility_requested_at",
            "Account.internet_eligibility_checked_at",
            "Account.id_verification_submitted_at",
            "Account.id_verification_verified_at",
            "Opportunity.scheduled_cancellation_at",
            "Opportunity.sim_scheduled_cancellation_at",
            "Order.activation_error_at",
            "CaseComment.created_at",
            "Account_Internet_Eligibility_Update__e.internet_eligibility_requested_at",
            "Account_Internet_Eligibility_Update__e.internet_eligibility_checked_at",
        ),
        "datetime",
    ),
    **dict.fromkeys(("Contact.birth_date", "Opportunity.close_date", "Order.effective_date"), "date"),
    **dict.fromkeys(
        (
            "Product2.is_active",
            "Product2.is_family_discount",
            "Pricebook2.is_standard",
            "PricebookEntry.is_active",
            "CaseComment.is_published",
        ),
        "boolean",
    ),
    **dict.fromkeys(
        (
            "Opportunity.whmcs_service_id",
            "OrderItem.quantity",
            "OrderItem.unit_price",
            "PricebookEntry.unit_price",
            "Product2.display_order",
        ),
        "number",
    ),
    **dict.fromkeys(
        (
            "Contact.account_id",
            "Opportunity.account_id",
            "Order.account_id",
            "Order.opportunity_id",
            "OrderItem.order_id",
            "OrderItem.product_id",
            "Case.account_id",
            "Case.opportunity_id",
            "CaseComment.parent_id",
            "PricebookEntry.pricebook_id",
            "PricebookEntry.product_id",
        ),
        "reference",
    ),
    **{key: "picklist" for key in DEFAULT_PICKLIST_VALUES},
}


@dataclass(frozen=True)
class Finding:
    """Something the portal needs that the org lacks or has differently."""

    kind: str  # object, field, field_type, picklist_value, platform_event, change_events, cdc_selection
    object: str
    name: str
    problem: str  # missing, differs, not_selected (change events), unchecked (CDC selection unreadable)
    expected: str = ""
    actual: str = ""
    required: bool = True

    def describe(self) -> str:
        what = {
            "object": f"object {self.object}",
            "field": f"field {self.object}.{self.name}",
            "field_type": f"field {self.object}.{self.name}",
            "picklist_value": f"picklist value {self.object}.{self.name} = {self.expected!r}",
            "platform_event": f"platform event {self.name}",
            "change_events": f"change events for {self.object} ({self.name}, channel /data/{self.name})",
            "cdc_selection": "the Change Data Capture selection (Tooling API PlatformEventChannelMember)",
        }[self.kind]
        if self.problem == "not_selected":
            return f"{what} is not selected in Setup > Change Data Capture"
        if self.problem == "unchecked":
            return f"{what} could not be read ({self.actual}); selections unchecked"
        if self.problem == "differs":
            return f"{what}: type {self.actual}, needs {self.expected}"
        detail = f" ({self.expected})" if self.expected and self.kind == "field" else ""
        return f"{what}{detail} is missing" + ("" if self.required else " (optional)")

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class OrgReport:
    findings: list[Finding]
    checked: dict[str, int]

    @property
    def problems(self) -> list[Finding]:
        return [item for item in self.findings if item.required]

    @property
    def ok(self) -> bool:
        return not self.problems


def _channel_entity(channel: str) -> str:
    return channel.rstrip("/").rsplit("/", 1)[-1]


def _change_event_entity(channel: str) -> str | None:
    """``AccountChangeEvent`` for ``/data/AccountChangeEvent``; None for ``/data/ChangeEvents``."""
    name = _channel_entity(channel)
    return name if channel.startswith("/data/") and name.endswith("ChangeEvent") else None


def _source_object(change_event: str) -> str:
    base = change_event.removesuffix("ChangeEvent")
    return f"{base.removesuffix('__')}__c" if base.endswith("__") else base


def check_org(gateway: SalesforceGateway, field_map: FieldMap) -> OrgReport:
    """Describe the org and list what the portal needs that it lacks or has differently."""
    config = settings.SALESFORCE
    findings: list[Finding] = []
    checked = dict.fromkeys(("objects", "fields", "picklist_values", "platform_events", "change_events"), 0)
    available = {
        str(item["name"]).lower(): str(item["name"]) for item in gateway.describe_global()["sobjects"]
    }

    events = {_channel_entity(config[setting]): entry for setting, entry in PLATFORM_EVENT_SETTINGS.items()}
    objects = [name for name in field_map.object_names() if not name.endswith("__e")]
    for event_name, entry in events.items():
        checked["platform_events"] += 1
        if event_name.lower() not in available:
            findings.append(Finding("platform_event", event_name, event_name, "missing"))
            continue
        findings += _check_fields(gateway, field_map, available[event_name.lower()], entry, checked)
    for name in objects:
        checked["objects"] += 1
        if name.lower() not in available:
            findings.append(Finding("object", name, name, "missing"))
            continue
        findings += _check_fields(gateway, field_map, available[name.lower()], name, checked)

    channels = config.get("CHANGE_EVENT_CHANNELS", DEFAULT_CHANGE_EVENT_CHANNELS)
    entities = [entity for entity in map(_change_event_entity, channels) if entity is not None]
    selected = _cdc_selection(gateway, findings) if entities else None
    for entity in entities:
        checked["change_events"] += 1
        if entity.lower() not in available:
            findings.append(Finding("change_events", _source_object(entity), entity, "missing"))
        elif selected is not None and entity.lower() not in selected:
            findings.append(Finding("change_events", _source_object(entity), entity, "not_selected"))
    return OrgReport(findings=findings, checked=checked)


def _cdc_selection(gateway: SalesforceGateway, findings: list[Finding]) -> set[str] | None:
    """The lower-cased change event entities selected on the standard channel, or None (reported)
    when the integration user may not read them."""
    try:
        members = gateway.tooling_query(
            "SELECT DeveloperName, SelectedEntity FROM PlatformEventChannelMember"
        )
    except SalesforceUnavailable:
        raise
    except SalesforceError as exc:
        findings.append(
            Finding(
                "cdc_selection",
                "",
                "PlatformEventChannelMember",
                "unchecked",
                actual=exc.error_code,
                required=False,
            )
        )
        return None
    return {
        str(member.get("SelectedEntity", "")).lower()
        for member in members
        if str(member.get("DeveloperName", "")).startswith("ChangeEvents_")
    }


def _check_fields(
    gateway: SalesforceGateway, field_map: FieldMap, sobject: str, entry: str, checked: dict[str, int]
) -> list[Finding]:
    """The fields (and their types and picklist values) of field map entry ``entry`` on ``sobject``."""
    described = {str(item["name"]).lower(): item for item in gateway.describe(sobject).get("fields", [])}
    optional = OPTIONAL_FIELDS.get(entry, frozenset())
    findings: list[Finding] = []
    for attribute, api_name in field_map.attributes(entry).items():
        key = f"{entry}.{attribute}"
        expected_group = EXPECTED_TYPES.get(key, "")
        checked["fields"] += 1
        field = described.get(api_name.lower())
        if field is None:
            findings.append(
                Finding(
                    "field", sobject, api_name, "missing", expected_group, required=attribute not in optional
                )
            )
            continue
        actual = str(field.get("type", ""))
        if expected_group and actual not in TYPE_GROUPS[expected_group]:
            findings.append(
                Finding(
                    "field_type",
                    sobject,
                    api_name,
                    "differs",
                    expected_group,
                    actual,
                    attribute not in optional,
                )
            )
            continue
        if key in DEFAULT_PICKLIST_VALUES and actual in ("picklist", "multipicklist", "combobox"):
            required = attribute not in optional
            if key == "Product2.product_family":
                # Only the type of products in an org without Product_Type__c.
                required = field_map.field(entry, "product_type").lower() not in described
            values = field_map.picklist_values(entry, attribute)
            checked["picklist_values"] += len(values)
            findings += _check_values(sobject, api_name, values, field, required)
    return findings


def _check_values(
    sobject: str, api_name: str, values: Iterable[str], field: Mapping[str, Any], required: bool
) -> Iterable[Finding]:
    active = {str(item.get("value")) for item in field.get("picklistValues", []) if item.get("active", True)}
    for value in values:
        if value not in active:
            yield Finding("picklist_value", sobject, api_name, "missing", value, required=required)
