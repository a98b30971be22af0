"""Writes to customer accounts."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from apps.accounts.models import CustomerProfile

_DATETIME_ATTRIBUTES = {
    "last_signed_in_at",
    "internet_eligibility_requested_at",
    "internet_eligibility_checked_at",
    "id_verification_submitted_at",
    "id_verification_verified_at",
}
_NULLABLE_ATTRIBUTES = _DATETIME_ATTRIBUTES | {"customer_number"}


def parse_salesforce_datetime(value: Any) -> datetime | None:
    """A Salesforce REST datetime (``2013-05-20T20:49:32.000+0000``) as an aware datetime."""
    if value in (None, "") or isinstance(value, datetime):
        return value or None
    text = str(value)
    if len(text) > 5 and text[-5] in "+-" and text[-3] != ":":  # Salesforce's "+0000"
        text = f"{text[:-2]}:{text[-2:]}"
    return parse_datetime(text)


@transaction.atomic
def customer_profile_apply_account_fields(*, user_id: int, values: dict[str, Any]) -> list[str]:
    """Mirror Salesforce Account values (portal attribute names, portal picklist values) onto the
    customer's profile. Returns the attributes that changed.

    ``modified_at`` is the Account's ``SystemModstamp``: values older than what the profile
    already mirrors are ignored, so a late reconciliation never undoes a newer event.
    """
    profile = CustomerProfile.objects.select_for_update().get(user_id=user_id)
    modified_at = parse_salesforce_datetime(values.get("modified_at"))
    if modified_at and profile.salesforce_modified_at and modified_at < profile.salesforce_modified_at:
        return []

    changed = []
    for attribute, raw in values.items():
        if attribute == "modified_at":
            continue
        value: Any = parse_salesforce_datetime(raw) if attribute in _DATETIME_ATTRIBUTES else raw
        if value is None and attribute not in _NULLABLE_ATTRIBUTES:
            value = ""
        if getattr(profile, attribute) != value:
            setattr(profile, attribute, value)
            changed.append(attribute)
    if modified_at:
        profile.salesforce_modified_at = modified_at
    profile.synced_at = timezone.now()
    profile.save()
    return changed
