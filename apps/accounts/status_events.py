"""Account status platform events: mirror the decision onto the profile and tell the customer.

Salesforce's *Portal - Publish Account Status Update* flow publishes
``Account_Internet_Eligibility_Update__e`` when an Account's eligibility or ID verification status
changes; each status field is set only when it changed (the flow's ``ISCHANGED()`` rule). For
each status the event carries:

* the profile mirror is updated with the status and its details (offering, notes, dates, case,
  rejection message), unless the mirror already holds a newer Account state;
* a notification is created for final states only: eligibility Eligible / Ineligible (not Pending), verification Verified /
  Rejected (not Submitted).

One decision gives one notification, however often it arrives (a redelivered event, the same
decision already notified by the agent console, the same decision twice in one batch):
notifications go through ``apps.accounts.status_notifications``, shared with the console, whose
``source_id`` is ``"<Account id>:<eligibility|verification>:<status>"`` and which adds nothing
while a notification of that decision exists from the last few days (longer than the event
retention), well past the 1-hour dedupe window.

Events arrive in fetched batches (up to 100 per fetch; the fetches already waiting come together,
up to 500) and a batch is applied as a whole, in order, inside its transaction
(``apps.integrations.salesforce.events``): the batch's last replay ID is committed with these
writes. Bad data in an event is logged and skipped rather than raised, so one
malformed event cannot block the topic by being redelivered forever.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import transaction

from apps.accounts.models import IdMapping
from apps.accounts.services import (
    customer_eligibility_opportunities_follow,
    customer_profiles_apply_account_fields,
    customer_profiles_lock,
)
from apps.accounts.status_notifications import AccountStatusDecision, account_status_notify_many
from apps.integrations.salesforce.event_payloads import event_values
from apps.integrations.salesforce.field_map import get_field_map
from apps.verification.services import residence_card_record_salesforce_decisions

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
    return account_status_events_apply(payloads=[payload], topic=topic)[0]


def account_status_events_apply(
    *, payloads: Sequence[Mapping[str, Any]], topic: str | None = None
) -> list[AccountStatusOutcome]:
    """Apply a fetched batch of status events, in order, with a fixed number of statements
    whatever the batch size: one ID mapping lookup, one read of the residence cards under review,
    one read of the mirrors, then one bulk write each for profiles and notifications. Returns one
    outcome per payload.
    """
    channel = topic or settings.SALESFORCE["ACCOUNT_EVENT_CHANNEL"]
    events = [_status_event(payload, channel) for payload in payloads]
    account_ids = {event.account_id for event in events if event.carries_status}
    user_ids = dict(
        IdMapping.objects.filter(salesforce_account_id__in=account_ids).values_list(
            "salesforce_account_id", "user_id"
        )
        if account_ids
        else ()
    )
    for event in events:
        if event.carries_status:
            event.user_id = user_ids.get(event.account_id)
            if event.user_id is None:
                logger.debug(
                    "Account status event for %s, which has no portal user; ignored", event.account_id
                )
    to_apply = [event for event in events if event.user_id is not None]
    if not to_apply:
        return [event.outcome() for event in events]

    # No savepoint: a failure rolls the whole batch back anyway, and each savepoint is a round trip.
    with transaction.atomic(savepoint=False):
        # Rows are locked in the order the console locks them (residence card, profile, user),
        # each kind in a fixed order, so an agent's decision and a batch cannot deadlock.
        residence_card_record_salesforce_decisions(
            decisions=[
                (
                    event.user_id,
                    event.verification,
                    str(event.mirror.get("id_verification_rejection_message") or ""),
                )
                for event in to_apply
                if event.verification and event.user_id is not None
            ]
        )
        locked = customer_profiles_lock(event.user_id for event in to_apply if event.user_id is not None)
        mirrored = {user_id: profile.salesforce_modified_at for user_id, profile in locked.items()}
        mirror_updates = []
        for event in to_apply:
            event.stale = _is_stale(event, mirrored)
            if event.stale:
                logger.info(
                    "Account status event for %s is older than the mirrored Account; mirror kept",
                    event.account_id,
                    extra={"salesforce_account_id": event.account_id},
                )
            elif event.user_id in mirrored:
                mirror_updates.append(event)
        changes = customer_profiles_apply_account_fields(
            [(event.user_id, event.mirror) for event in mirror_updates if event.user_id is not None],
            locked=locked,
        )
        for event, changed in zip(mirror_updates, changes, strict=True):
            event.changed = tuple(changed)
        # A decision taken in Salesforce moves the check's Opportunity (one outbox entry each;
        # the console's own decisions already moved it, and do not change the mirror here).
        customer_eligibility_opportunities_follow(
            [
                (event.user_id, event.account_id, event.eligibility)
                for event in mirror_updates
                if event.user_id is not None and "internet_eligibility_status" in event.changed
            ],
            profiles=locked.values(),
        )

        notified = account_status_notify_many([event.decision() for event in to_apply], savepoint=False)
        for event, notifications in zip(to_apply, notified, strict=True):
            event.notifications = tuple(notification.type for notification in notifications)

    for event in to_apply:
        logger.info(
            "Account %s status event: eligibility %s, verification %s; changed %s; notified %s",
            event.account_id,
            event.eligibility or "-",
            event.verification or "-",
            list(event.changed),
            list(event.notifications),
            extra={"salesforce_account_id": event.account_id, "user_id": event.user_id},
        )
    return [event.outcome() for event in events]


@dataclass
class _StatusEvent:
    """One payload on its way through a batch: what it carries, then what applying it did."""

    account_id: str
    values: dict[str, Any]
    eligibility: str = ""
    verification: str = ""
    user_id: int | None = None
    stale: bool = False
    changed: tuple[str, ...] = ()
    notifications: tuple[str, ...] = ()

    @property
    def carries_status(self) -> bool:
        return bool(self.account_id and (self.eligibility or self.verification))

    @property
    def mirror(self) -> dict[str, Any]:
        """The profile attributes this event sets: each changed status with its details."""
        mirror: dict[str, Any] = {}
        if self.eligibility:
            mirror.update(_present(self.values, _ELIGIBILITY_ATTRIBUTES))
            mirror["internet_eligibility_status"] = self.eligibility
        if self.verification:
            mirror.update(_present(self.values, _VERIFICATION_ATTRIBUTES))
            mirror["id_verification_status"] = self.verification
        return mirror

    def decision(self) -> AccountStatusDecision:
        assert self.user_id is not None
        mirror = self.mirror
        return AccountStatusDecision(
            user_id=self.user_id,
            account_id=self.account_id,
            eligibility_status=self.eligibility or None,
            offering=str(mirror.get("internet_eligibility") or ""),
            eligibility_notes=str(mirror.get("internet_eligibility_notes") or ""),
            verification_status=self.verification or None,
            rejection_message=str(mirror.get("id_verification_rejection_message") or ""),
            eligibility_repeat="internet_eligibility_status" not in self.changed,
            verification_repeat="id_verification_status" not in self.changed,
        )

    def outcome(self) -> AccountStatusOutcome:
        return AccountStatusOutcome(
            account_id=self.account_id,
            user_id=self.user_id,
            changed=self.changed,
            notifications=self.notifications,
            stale=self.stale,
        )


def _status_event(payload: Mapping[str, Any], topic: str) -> _StatusEvent:
    values = event_values(payload, topic)
    account_id = str(values.get("account_id") or "").strip()
    if not account_id:
        logger.warning("Account status event without an Account id; ignored")
        return _StatusEvent(account_id="", values=values)
    event = _StatusEvent(
        account_id=account_id,
        values=values,
        eligibility=_status(values, "internet_eligibility_status", account_id),
        verification=_status(values, "id_verification_status", account_id),
    )
    if not event.carries_status:
        logger.info("Account status event for %s carries no changed status; nothing to do", account_id)
    return event


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


def _is_stale(event: _StatusEvent, mirrored: Mapping[int, datetime | None]) -> bool:
    """True when the mirror already holds an Account state newer than the event.

    The event's time is not stored as the mirror's ``SystemModstamp``: it is later than the
    Account change, and reconciliation reads the newest mirrored modstamp as its cursor.
    """
    created_at = event.values.get("created_at")
    modstamp = mirrored.get(event.user_id) if event.user_id is not None else None
    return created_at is not None and modstamp is not None and created_at < modstamp
