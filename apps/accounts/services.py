"""Writes to customer accounts."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth import password_validation
from django.contrib.auth.tokens import default_token_generator
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.db import transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.encoding import force_bytes, force_str
from django.utils.http import urlsafe_base64_decode, urlsafe_base64_encode
from django.utils.translation import gettext

from apps.accounts.dashboard import invoice_due_notification_context
from apps.accounts.dashboard_cache import dashboard_cache_invalidate
from apps.accounts.models import CustomerProfile, IdMapping, User
from apps.billing.models import WhmcsInvoice
from apps.integrations.outbox import outbox_enqueue_coalesced_update
from apps.integrations.salesforce.field_map import get_field_map, salesforce_datetime
from apps.notifications.models import NotificationSource, NotificationType
from apps.notifications.services import notification_create

_DATETIME_ATTRIBUTES = {
    "last_signed_in_at",
    "internet_eligibility_requested_at",
    "internet_eligibility_checked_at",
    "id_verification_submitted_at",
    "id_verification_verified_at",
}
_NULLABLE_ATTRIBUTES = _DATETIME_ATTRIBUTES | {"customer_number"}
# Account attributes the profile mirrors (others, like the name, live elsewhere or nowhere).
ACCOUNT_MIRROR_ATTRIBUTES = _DATETIME_ATTRIBUTES | {
    "customer_number",
    "portal_status",
    "registration_source",
    "internet_eligibility",
    "internet_eligibility_status",
    "internet_eligibility_notes",
    "internet_eligibility_case_id",
    "id_verification_status",
    "id_verification_note",
    "id_verification_rejection_message",
}


def parse_salesforce_datetime(value: Any) -> datetime | None:
    """A Salesforce REST datetime (``2013-05-20T20:49:32.000+0000``) as an aware datetime."""
    if value in (None, "") or isinstance(value, datetime):
        return value or None
    text = str(value)
    if len(text) > 5 and text[-5] in "+-" and text[-3] != ":":  # Salesforce's "+0000"
        text = f"{text[:-2]}:{text[-2:]}"
    return parse_datetime(text)


def customer_profile_apply_account_fields(*, user_id: int, values: dict[str, Any]) -> list[str]:
    """Mirror Salesforce Account values (portal attribute names, portal picklist values) onto the
    customer's profile. Returns the attributes that changed.

    ``modified_at`` is the Account's ``SystemModstamp``: values older than what the profile
    already mirrors are ignored, so a late reconciliation never undoes a newer event.
    """
    return customer_profiles_apply_account_fields([(user_id, values)])[0]


def customer_profiles_apply_account_fields(updates: Sequence[tuple[int, dict[str, Any]]]) -> list[list[str]]:
    """``customer_profile_apply_account_fields`` for many ``(user_id, values)`` pairs, applied in
    order (one customer may appear more than once), with one locking read and one bulk update.
    Returns the changed attributes of each pair. A user without a profile raises ``DoesNotExist``.
    """
    if not updates:
        return []
    user_ids = sorted({user_id for user_id, _ in updates})
    now = timezone.now()
    with transaction.atomic():
        profiles = {
            profile.user_id: profile
            for profile in CustomerProfile.objects.select_for_update()
            .filter(user_id__in=user_ids)
            .order_by("pk")
        }
        if len(profiles) != len(user_ids):
            raise CustomerProfile.DoesNotExist("Account fields for a customer without a profile.")
        fields = {"salesforce_modified_at", "synced_at", "updated_at"}
        changes = []
        for user_id, values in updates:
            profile = profiles[user_id]
            changed = _apply_account_values(profile, values)
            fields.update(changed)
            profile.synced_at = profile.updated_at = now
            changes.append(changed)
        # An upsert of the locked rows writes the new values as one VALUES list; bulk_update would
        # build a CASE expression per row and field, which costs more Python than the whole event.
        CustomerProfile.objects.bulk_create(
            profiles.values(), update_conflicts=True, unique_fields=["user"], update_fields=sorted(fields)
        )
        dashboard_cache_invalidate(user_ids)
    return changes


def _apply_account_values(profile: CustomerProfile, values: dict[str, Any]) -> list[str]:
    """Set the mirrored attributes on ``profile`` (unsaved); returns those that changed."""
    modified_at = parse_salesforce_datetime(values.get("modified_at"))
    if modified_at and profile.salesforce_modified_at and modified_at < profile.salesforce_modified_at:
        return []
    changed = []
    for attribute, raw in values.items():
        if attribute not in ACCOUNT_MIRROR_ATTRIBUTES:
            continue
        value: Any = parse_salesforce_datetime(raw) if attribute in _DATETIME_ATTRIBUTES else raw
        if value is None and attribute not in _NULLABLE_ATTRIBUTES:
            value = ""
        if getattr(profile, attribute) != value:
            setattr(profile, attribute, value)
            changed.append(attribute)
    if modified_at:
        profile.salesforce_modified_at = modified_at
    return changed


def password_reset_request(*, email: str) -> None:
    """Email a one-time reset link to an active account with this address; silently nothing
    otherwise. Django's token generator makes the link expire and die after the password changes."""
    user = User.objects.filter(email__iexact=email, is_active=True).first()
    if user is None or not user.has_usable_password():
        return
    _send_password_link(
        user,
        subject=gettext("Reset your SonixNet portal password"),
        body=gettext(
            "Someone asked to reset the password of your SonixNet portal account.\n\n"
            "Open this link to choose a new one (it works once):\n{link}\n\n"
            "If it was not you, ignore this email: your password stays as it is."
        ),
    )


def password_set_invitation_send(*, user_id: int) -> None:
    """Invite a customer linked without a password (a legacy customer) to choose one."""
    user = User.objects.get(pk=user_id, is_active=True)
    _send_password_link(
        user,
        subject=gettext("Welcome to the SonixNet customer portal"),
        body=gettext(
            "Your SonixNet account is now connected to the customer portal.\n\n"
            "Open this link to choose your password (it works once):\n{link}"
        ),
    )


def _send_password_link(user: User, *, subject: str, body: str) -> None:
    uid = urlsafe_base64_encode(force_bytes(user.pk))
    token = default_token_generator.make_token(user)
    # In the fragment: browsers never send it to a server, so no access log or Referer holds it.
    link = f"{settings.PORTAL_FRONTEND_URL}/account/reset-password#uid={uid}&token={token}"
    send_mail(subject=subject, message=body.format(link=link), from_email=None, recipient_list=[user.email])


def password_reset_confirm(*, uid: str, token: str, new_password: str) -> User:
    try:
        user = User.objects.get(pk=int(force_str(urlsafe_base64_decode(uid))), is_active=True)
    except (ValueError, TypeError, OverflowError, User.DoesNotExist):
        user = None
    if user is None or not default_token_generator.check_token(user, token):
        raise ValidationError(
            {"token": gettext("This reset link is invalid or has expired.")}, code="invalid_token"
        )
    password_validation.validate_password(new_password, user=user)
    user.set_password(new_password)
    user.save(update_fields=["password"])
    return user


def password_change(*, user_id: int, new_password: str) -> User:
    user = User.objects.get(pk=user_id)
    user.set_password(new_password)
    user.save(update_fields=["password"])
    return user


def dashboard_notify_invoice_due(*, user_id: int, invoice_id: int) -> None:
    """The seed's ``INVOICE_DUE``, created when the dashboard sees an invoice due within 7 days or
    overdue. The notification service dedupes for 24 hours (the daily billing check uses the same
    source id); a short cache mark spares the row lock on every dashboard view in between."""
    mark = f"dashboard:invoice-due:{user_id}:{invoice_id}"
    if cache.get(mark):
        return
    invoice = WhmcsInvoice.objects.filter(pk=invoice_id, user_id=user_id).first()
    if invoice is None:
        return
    notification_create(
        user_id=user_id,
        type=NotificationType.INVOICE_DUE,
        source=NotificationSource.WHMCS,
        source_id=str(invoice.whmcs_id),
        context=invoice_due_notification_context(invoice),
    )
    cache.set(mark, True, timeout=3600)


@transaction.atomic
def customer_sign_in_record(*, user_id: int, now: datetime | None = None) -> None:
    """Stamp the sign-in on the profile and, coalesced, on the Salesforce Account.

    Many sign-ins of one customer within ``SIGN_IN_STAMP_COALESCE_SECONDS`` cost one Salesforce
    update carrying the latest time, never one call per request.
    """
    now = now or timezone.now()
    profile = CustomerProfile.objects.select_for_update().filter(user_id=user_id).first()
    if profile is None:  # staff accounts have no Salesforce Account
        return
    profile.last_signed_in_at = now
    profile.save(update_fields=["last_signed_in_at", "updated_at"])
    mapping = IdMapping.objects.filter(user_id=user_id).first()
    if mapping is None:
        return
    field_map = get_field_map()
    outbox_enqueue_coalesced_update(
        operation="account.last_sign_in",
        record_key=f"Account:{mapping.salesforce_account_id}:last-sign-in",
        sobject="Account",
        record_id=mapping.salesforce_account_id,
        fields={field_map.field("Account", "last_signed_in_at"): salesforce_datetime(now)},
        delay=timedelta(seconds=settings.SIGN_IN_STAMP_COALESCE_SECONDS),
    )
