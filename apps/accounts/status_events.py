"""Account status platform events: mirror the decision onto the profile and tell the customer.

Salesforce's *Portal - Publish Account Status Update* flow publishes
``Account_Internet_Eligibility_Update__e`` when an Account's eligibility or ID verification status
changes; each status field is set only when it changed (the flow's ``ISCHANGED()`` rule, seed 000
"Platform Event Configuration"). For each status the event carries:

* the profile mirror is updated with the status and its details (offering, notes, dates, case,
  rejection message), unless the mirror already holds a newer Account state;
* a notification is created for final states only (seed 002 "Eligibility & Verification
  Notifications"): eligibility Eligible / Ineligible (not Pending), verification Verified /
  Rejected (not Submitted).

One decision gives one notification, however often it arrives (a redelivered event, the same
decision already notified by the agent console): notifications go through
``apps.accounts.status_notifications.account_status_notify``, shared with the console, whose
``source_id`` is ``"<Account id>:<eligibility|verification>:<status>"`` and which adds nothing
while a notification of that decision exists from the last few days (longer than the event
retention), well past the 1-hour dedupe window.

Everything runs inside the event's transaction (``apps.integrations.salesforce.events``): the
replay ID is committed with these writes. Bad data in an event is logged and skipped rather than
raised, so one malformed event cannot block the topic by being redelivered forever.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction

from apps.accounts.models import CustomerProfile, IdMapping
from apps.accounts.services import customer_profile_apply_account_fields, parse_salesforce_datetime
from apps.accounts.status_notifications import account_status_notify
from apps.integrations.salesforce.field_map import get_field_map
from apps.verification.services import residence_card_record_salesforce_decision

logger = logging.getLogger(__name__)

_ELIGIBILITY_ATTRIBUTES = (
    "internet_eligibility_status",
    "internet_eligibility",
    "internet_eligibility_requested_at",
    "internet_eligibility_checked_at",
    "internet_eligibility_notes",
    "internet_eligibility_case_id",
)
_VERIFICATION_ATTRIBUTES = ("id_verification_status", "id_verification_rejection_message")
_DATETIME_ATTRIBUTES = frozenset({"internet_eligibility_requested_at", "internet_eligibility_checked_at"})


@dataclass(frozen=True)
class AccountStatusOutcome:
    """What one event did: the profile attributes that changed and the notifications created."""

    account_id: str
    user_id: int | None = None
    changed: tuple[str, ...] = ()
    notifications: tuple[str, ...] = ()
    stale: bool = False


def account_status_event_apply(
    *, payload: Mapping[str, Any], topic: str | None = None
) -> AccountStatusOutcome:
    """Apply one ``Account_Internet_Eligibility_Update__e`` payload (Salesforce field names).

    Call inside the event's transaction. Accounts without a portal user are ignored (the org has
    customers who never signed up).
    """
    values = _event_values(payload, topic or settings.SALESFORCE["ACCOUNT_EVENT_CHANNEL"])
    account_id = str(values.get("account_id") or "").strip()
    if not account_id:
        logger.warning("Account status event without an Account id; ignored")
        return AccountStatusOutcome(account_id="")
    eligibility = _status(values, "internet_eligibility_status", account_id)
    verification = _status(values, "id_verification_status", account_id)
    if not eligibility and not verification:
        logger.info("Account status event for %s carries no changed status; nothing to do", account_id)
        return AccountStatusOutcome(account_id=account_id)

    user_id = (
        IdMapping.objects.filter(salesforce_account_id=account_id).values_list("user_id", flat=True).first()
    )
    if user_id is None:
        logger.debug("Account status event for %s, which has no portal user; ignored", account_id)
        return AccountStatusOutcome(account_id=account_id)

    with transaction.atomic():
        # The user row lock serializes this with every other notification producer for the customer.
        get_user_model().objects.select_for_update().only("pk").get(pk=user_id)
        mirror: dict[str, Any] = {}
        if eligibility:
            mirror.update(_present(values, _ELIGIBILITY_ATTRIBUTES))
            mirror["internet_eligibility_status"] = eligibility
        if verification:
            mirror.update(_present(values, _VERIFICATION_ATTRIBUTES))
            mirror["id_verification_status"] = verification

        changed: list[str] = []
        stale = _is_stale(user_id, values.get("created_at"))
        if stale:
            logger.info(
                "Account status event for %s is older than the mirrored Account; mirror kept",
                account_id,
                extra={"salesforce_account_id": account_id},
            )
        elif CustomerProfile.objects.filter(user_id=user_id).exists():
            changed = customer_profile_apply_account_fields(user_id=user_id, values=mirror)

        if verification:
            residence_card_record_salesforce_decision(
                user_id=user_id,
                status=verification,
                rejection_message=str(mirror.get("id_verification_rejection_message") or ""),
            )
        created = account_status_notify(
            user_id=user_id,
            account_id=account_id,
            eligibility_status=eligibility or None,
            offering=str(mirror.get("internet_eligibility") or ""),
            eligibility_notes=str(mirror.get("internet_eligibility_notes") or ""),
            verification_status=verification or None,
            rejection_message=str(mirror.get("id_verification_rejection_message") or ""),
        )

    logger.info(
        "Account %s status event: eligibility %s, verification %s; changed %s; notified %s",
        account_id,
        eligibility or "-",
        verification or "-",
        changed,
        [notification.type for notification in created],
        extra={"salesforce_account_id": account_id, "user_id": user_id},
    )
    return AccountStatusOutcome(
        account_id=account_id,
        user_id=user_id,
        changed=tuple(changed),
        notifications=tuple(notification.type for notification in created),
        stale=stale,
    )


def _event_values(payload: Mapping[str, Any], topic: str) -> dict[str, Any]:
    """Portal attribute -> value for the event fields present in the payload, plus ``created_at``."""
    event_object = topic.rsplit("/", 1)[-1]
    values = {
        attribute: payload[api_name]
        for attribute, api_name in get_field_map().attributes(event_object).items()
        if api_name in payload
    }
    for attribute in _DATETIME_ATTRIBUTES & values.keys():
        values[attribute] = _event_datetime(values[attribute])
    values["created_at"] = _event_datetime(payload.get("CreatedDate"))
    return values


def _event_datetime(value: Any) -> datetime | None:
    """Platform event DateTime fields travel as epoch milliseconds (Avro ``long``)."""
    if value in (None, ""):
        return None
    if isinstance(value, int | float) and not isinstance(value, bool):
        return datetime.fromtimestamp(value / 1000, tz=UTC)
    try:
        return parse_salesforce_datetime(value)
    except (TypeError, ValueError):
        return None


def _status(values: Mapping[str, Any], attribute: str, account_id: str) -> str:
    """The portal value of a status the event carries; "" when absent or unknown."""
    raw = values.get(attribute)
    if not raw:
        return ""
    try:
        return get_field_map().from_salesforce("Account", attribute, str(raw))
    except ValueError:
        logger.warning(
            "Account %s: unknown %s value %r in a status event; ignored",
            account_id,
            attribute,
            raw,
            extra={"salesforce_account_id": account_id},
        )
        return ""


def _present(values: Mapping[str, Any], attributes: tuple[str, ...]) -> dict[str, Any]:
    return {attribute: values[attribute] for attribute in attributes if attribute in values}


def _is_stale(user_id: int, created_at: datetime | None) -> bool:
    """True when the mirror already holds an Account state newer than the event.

    The event's time is not stored as the mirror's ``SystemModstamp``: it is later than the
    Account change, and reconciliation reads the newest mirrored modstamp as its cursor.
    """
    if created_at is None:
        return False
    mirrored = (
        CustomerProfile.objects.filter(user_id=user_id)
        .values_list("salesforce_modified_at", flat=True)
        .first()
    )
    return mirrored is not None and created_at < mirrored
