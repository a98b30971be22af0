"""Writes to customer accounts, including the Account's two statuses the portal decides on.

The profile mirrors the Salesforce Account's internet eligibility and ID verification fields;
this module is their one owner (README, "Who changes a status"). Changes the portal makes are
the functions below: the customer's requests (called by ``apps.verification``), the agents'
decisions (called by the console, and for ID verification by ``apps.verification``, which owns
the residence card under review). Changes made in Salesforce arrive through
``customer_profiles_apply_account_fields`` (status events and reconciliation).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
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
from django.utils.encoding import force_bytes, force_str
from django.utils.http import urlsafe_base64_decode, urlsafe_base64_encode
from django.utils.translation import gettext, gettext_lazy, override

from apps.accounts.dashboard import invoice_due_notification_context
from apps.accounts.dashboard_cache import dashboard_cache_invalidate
from apps.accounts.models import CustomerProfile, EligibilityStatus, IdVerificationStatus, Language, User
from apps.accounts.salesforce import (
    account_eligibility_decided_subrequest,
    account_eligibility_reopened_subrequest,
    account_eligibility_requested_subrequest,
    account_id_verification_decided_subrequest,
    account_id_verification_reopened_subrequest,
    account_id_verification_submitted_subrequest,
    account_last_sign_in_fields,
)
from apps.accounts.selectors import decision_account_id, salesforce_account_id_of
from apps.accounts.status_notifications import account_status_notify
from apps.billing.models import WhmcsInvoice
from apps.integrations.models import OutboxEntry
from apps.integrations.outbox import (
    account_record_key,
    outbox_enqueue_coalesced_update,
    outbox_enqueue_salesforce,
)
from apps.integrations.salesforce.field_map import parse_salesforce_datetime
from apps.integrations.salesforce.gateway import CompositeSubrequest
from apps.notifications.models import NotificationSource, NotificationType
from apps.notifications.services import notification_create
from apps.opportunities.models import CaseStatus, OpportunityStage
from apps.opportunities.services import case_status_change, opportunity_eligibility_decide
from apps.verification.selectors import eligibility_case, eligibility_cases
from portal.bulk import bulk_update_rows
from portal.exceptions import ApplicationError, ConflictError
from portal.transitions import Transition, field_values

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


def customer_profile_apply_account_fields(*, user_id: int, values: dict[str, Any]) -> list[str]:
    """Mirror Salesforce Account values (portal attribute names, portal picklist values) onto the
    customer's profile. Returns the attributes that changed.

    ``modified_at`` is the Account's ``SystemModstamp``: values older than what the profile
    already mirrors are ignored, so a late reconciliation never undoes a newer event.
    """
    return customer_profiles_apply_account_fields([(user_id, values)])[0]


def customer_profiles_lock(user_ids: Iterable[int]) -> dict[int, CustomerProfile]:
    """The customers' profiles by user id, locked in id order, with the mirrored Account fields
    loaded (the rest deferred). Call inside a transaction."""
    return {
        profile.user_id: profile
        for profile in CustomerProfile.objects.select_for_update()
        .filter(user_id__in=set(user_ids))
        .only("user_id", "salesforce_modified_at", *ACCOUNT_MIRROR_ATTRIBUTES)
        .order_by("pk")
    }


def customer_profiles_apply_account_fields(
    updates: Sequence[tuple[int, dict[str, Any]]], *, locked: Mapping[int, CustomerProfile] | None = None
) -> list[list[str]]:
    """``customer_profile_apply_account_fields`` for many ``(user_id, values)`` pairs, applied in
    order (one customer may appear more than once), with one locking read and one bulk update.
    ``locked``: the profiles from ``customer_profiles_lock`` in the caller's transaction, which
    saves the read (they are changed in place). Returns the changed attributes of each pair. A
    user without a profile raises ``DoesNotExist``.
    """
    if not updates:
        return []
    user_ids = sorted({user_id for user_id, _ in updates})
    now = timezone.now()
    with transaction.atomic(savepoint=False):  # Nothing to keep of a failed call: no round trips for one.
        if locked is None:
            locked = customer_profiles_lock(user_ids)
        profiles = {user_id: locked[user_id] for user_id in user_ids if user_id in locked}
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
        bulk_update_rows(CustomerProfile, list(profiles.values()), sorted(fields))
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
        subject=gettext_lazy("Reset your SonixNet portal password"),
        body=gettext_lazy(
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
        subject=gettext_lazy("Welcome to the SonixNet customer portal"),
        body=gettext_lazy(
            "Your SonixNet account is now connected to the customer portal.\n\n"
            "Open this link to choose your password (it works once):\n{link}"
        ),
    )


def _send_password_link(user: User, *, subject: Any, body: Any) -> None:
    """Email ``subject`` and ``body`` (lazy translations) in the customer's language, whoever
    sent it (the customer, or an agent in the console)."""
    uid = urlsafe_base64_encode(force_bytes(user.pk))
    token = default_token_generator.make_token(user)
    # In the fragment: browsers never send it to a server, so no access log or Referer holds it.
    link = f"{settings.PORTAL_FRONTEND_URL}/account/reset-password#uid={uid}&token={token}"
    with override(user.preferred_language):
        subject, body = str(subject), str(body)
    send_mail(subject=subject, message=body.format(link=link), from_email=None, recipient_list=[user.email])


def customer_language_set(*, user_id: int, language: str) -> None:
    """Remember the language the customer chose: the portal's pages after sign-in and the emails
    they receive speak it."""
    User.objects.filter(pk=user_id).update(preferred_language=Language(language))


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
    """The ``INVOICE_DUE`` notification, created when the dashboard sees an invoice due within 7
    days or overdue. The notification service dedupes for 24 hours (the daily billing check uses
    the same source id); a short cache mark spares the row lock on every dashboard view in
    between."""
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
    account_id = salesforce_account_id_of(user_id=user_id)
    if not account_id:
        return
    outbox_enqueue_coalesced_update(
        operation="account.last_sign_in",
        record_key=account_record_key(account_id, "last-sign-in"),
        sobject="Account",
        record_id=account_id,
        fields=account_last_sign_in_fields(now),
        delay=timedelta(seconds=settings.SIGN_IN_STAMP_COALESCE_SECONDS),
    )


# --- Internet eligibility -----------------------------------------------------------------------

ELIGIBILITY_FIELDS = (
    "internet_eligibility",
    "internet_eligibility_status",
    "internet_eligibility_checked_at",
    "internet_eligibility_notes",
)
"""The eligibility result an agent's decision sets (and its audit row records)."""


def customer_eligibility_request(
    *, profile: CustomerProfile, account_id: str, case_reference: str, now: datetime
) -> CompositeSubrequest:
    """The customer asked for a new eligibility check: Pending, requested ``now``.

    Refused while a check is pending; allowed again after a result (a customer who moves checks
    the new address). The old result's check time and notes are cleared so the mirror and the
    Account keep agreeing, and the Case pointer until the new Case's ID is written back; the
    offering stays until an agent sets a new one. Call inside the caller's transaction with
    ``profile`` locked; returns the Account update (reference ``account``) for the caller's
    Composite request, ``case_reference`` being the new Case's ID there (``@{case.id}``).
    """
    if profile.internet_eligibility_status == EligibilityStatus.PENDING:
        raise ConflictError(
            gettext(
                "We are already checking internet availability for you. "
                "You will hear from us when the check is complete."
            ),
            code="eligibility_pending",
        )
    profile.internet_eligibility_status = EligibilityStatus.PENDING
    profile.internet_eligibility_requested_at = now
    profile.internet_eligibility_checked_at = None
    profile.internet_eligibility_notes = ""
    profile.internet_eligibility_case_id = ""
    dashboard_cache_invalidate(profile.user_id)
    profile.save(
        update_fields=[
            "internet_eligibility_status",
            "internet_eligibility_requested_at",
            "internet_eligibility_checked_at",
            "internet_eligibility_notes",
            "internet_eligibility_case_id",
            "updated_at",
        ]
    )
    return account_eligibility_requested_subrequest(
        account_id, requested_at=now, case_reference=case_reference
    )


def customer_eligibility_mark_eligible(
    *, profile_id: int, offering: str, notes: str = "", now: datetime | None = None
) -> Transition:
    """An agent's NTT check found service: the Account gets the offering (e.g. "Home 1G"),
    Eligible, the checked time and the notes; the eligibility Case is closed; the customer is
    told."""
    offering = offering.strip()
    if not offering:
        raise ApplicationError(gettext("Choose or type the offering type."), code="offering_required")
    return _eligibility_decide(
        profile_id=profile_id,
        status=EligibilityStatus.ELIGIBLE,
        offering=offering,
        notes=notes.strip(),
        now=now,
    )


def customer_eligibility_mark_ineligible(
    *, profile_id: int, notes: str, now: datetime | None = None
) -> Transition:
    """An agent's NTT check found no service: Ineligible with the notes (the customer reads them);
    any earlier offering is cleared, since it belonged to an address the customer no longer asks
    about."""
    notes = notes.strip()
    if not notes:
        raise ApplicationError(
            gettext("Explain why the address is not eligible; the customer reads this note."),
            code="notes_required",
        )
    return _eligibility_decide(
        profile_id=profile_id, status=EligibilityStatus.INELIGIBLE, offering="", notes=notes, now=now
    )


def _eligibility_decide(
    *, profile_id: int, status: EligibilityStatus, offering: str, notes: str, now: datetime | None
) -> Transition:
    """The decision on a pending check, under the profile's row lock (two agents deciding at
    once cannot both succeed): ONE Salesforce call for the Account, the Case (closed) and the
    check's Opportunity (Ready when eligible, Void when not: ``opportunity_eligibility_decide``),
    and the
    notification the status event would give (``account_status_notify``, so the customer is told
    once whichever path arrives first)."""
    now = now or timezone.now()
    with transaction.atomic():
        profile = CustomerProfile.objects.select_for_update().get(pk=profile_id)
        if profile.internet_eligibility_status != EligibilityStatus.PENDING:
            raise ConflictError(
                gettext("This eligibility check is not pending any more (it is %(status)s).")
                % {"status": profile.get_internet_eligibility_status_display()},
                code="already_decided",
            )
        account_id = decision_account_id(user_id=profile.user_id)
        before = field_values(profile, ELIGIBILITY_FIELDS)
        profile.internet_eligibility = offering
        profile.internet_eligibility_status = status
        profile.internet_eligibility_checked_at = now
        profile.internet_eligibility_notes = notes
        profile.save(update_fields=[*ELIGIBILITY_FIELDS, "updated_at"])
        dashboard_cache_invalidate(profile.user_id)
        after = field_values(profile, ELIGIBILITY_FIELDS)

        subrequests = [
            account_eligibility_decided_subrequest(
                account_id, status=status, offering=offering, notes=notes, checked_at=now
            )
        ]
        case_update = _eligibility_case_status_change(profile, CaseStatus.CLOSED)
        if case_update is not None:
            after["case_status"] = CaseStatus.CLOSED.value
            subrequests.append(case_update)
        opportunity_update = opportunity_eligibility_decide(
            case=eligibility_case(profile=profile), eligible=status == EligibilityStatus.ELIGIBLE
        )
        if opportunity_update is not None:
            after["opportunity_stage"] = (
                OpportunityStage.READY if status == EligibilityStatus.ELIGIBLE else OpportunityStage.VOID
            ).value
            subrequests.append(opportunity_update)
        entry = outbox_enqueue_salesforce(
            operation=f"console.eligibility.{status}",
            record_key=account_record_key(account_id),
            subrequests=subrequests,
        )
        account_status_notify(
            user_id=profile.user_id,
            account_id=account_id,
            eligibility_status=status,
            offering=offering,
            eligibility_notes=notes,
            now=now,
        )
    return Transition(user_id=profile.user_id, before=before, after=after, outbox_entry=entry)


def customer_eligibility_opportunities_follow(
    decisions: Sequence[tuple[int, str, str]], *, profiles: Iterable[CustomerProfile] | None = None
) -> list[OutboxEntry | None]:
    """Eligibility decisions made in Salesforce itself (status events that changed the mirror),
    as ``(user_id, account_id, status)`` in order: each check's Opportunity follows as it does for
    a console decision, Ready when eligible, Void when not (``opportunity_eligibility_decide``),
    sent to Salesforce as ONE outbox entry. Call inside the events' transaction. The Cases are read
    in a fixed number of statements whatever the batch size; only a decision whose Opportunity
    moves costs writes of its own. ``profiles``: the customers' current profiles, when the caller
    has them. Returns each decision's entry, or None when nothing moves."""
    final = (EligibilityStatus.ELIGIBLE, EligibilityStatus.INELIGIBLE)
    deciding = {user_id for user_id, _, status in decisions if status in final}
    if profiles is None:
        profiles = CustomerProfile.objects.filter(user_id__in=deciding).only(
            "user_id", "internet_eligibility_case_id"
        )
    cases = eligibility_cases(
        case_ids={
            profile.user_id: profile.internet_eligibility_case_id
            for profile in profiles
            if profile.user_id in deciding
        }
    )
    entries: list[OutboxEntry | None] = []
    for user_id, account_id, status in decisions:
        case = cases.get(user_id) if status in final else None
        update = (
            opportunity_eligibility_decide(case=case, eligible=status == EligibilityStatus.ELIGIBLE)
            if case is not None
            else None
        )
        entries.append(
            None
            if update is None
            else outbox_enqueue_salesforce(
                operation="eligibility.opportunity_follows_decision",
                record_key=account_record_key(account_id),
                subrequests=[update],
            )
        )
    return entries


def _eligibility_case_status_change(
    profile: CustomerProfile, status: CaseStatus
) -> CompositeSubrequest | None:
    """The eligibility Case follows the decision: its status set locally (when the portal has the
    Case) and the Salesforce update for it, or None when there is no Case."""
    return case_status_change(
        case=eligibility_case(profile=profile),
        status=status,
        salesforce_id=profile.internet_eligibility_case_id,
    )


def customer_eligibility_reopen(*, profile_id: int) -> Transition:
    """A supervisor takes back an eligibility decision: the check is Pending again (checked time
    cleared, Case reopened), back in the queue for a new decision."""
    with transaction.atomic():
        profile = CustomerProfile.objects.select_for_update().get(pk=profile_id)
        if profile.internet_eligibility_status not in (
            EligibilityStatus.ELIGIBLE,
            EligibilityStatus.INELIGIBLE,
        ):
            raise ConflictError(
                gettext("Only an eligible or ineligible result can be reopened."), code="not_decided"
            )
        account_id = decision_account_id(user_id=profile.user_id)
        before = field_values(profile, ELIGIBILITY_FIELDS)
        profile.internet_eligibility_status = EligibilityStatus.PENDING
        profile.internet_eligibility_checked_at = None
        profile.save(
            update_fields=["internet_eligibility_status", "internet_eligibility_checked_at", "updated_at"]
        )
        dashboard_cache_invalidate(profile.user_id)
        after = field_values(profile, ELIGIBILITY_FIELDS)
        subrequests = [account_eligibility_reopened_subrequest(account_id)]
        case_update = _eligibility_case_status_change(profile, CaseStatus.NEW)
        if case_update is not None:
            after["case_status"] = CaseStatus.NEW.value
            subrequests.append(case_update)
        entry = outbox_enqueue_salesforce(
            operation="console.eligibility.reopen",
            record_key=account_record_key(account_id),
            subrequests=subrequests,
        )
    return Transition(user_id=profile.user_id, before=before, after=after, outbox_entry=entry)


# --- ID verification ----------------------------------------------------------------------------

ID_VERIFICATION_FIELDS = (
    "id_verification_status",
    "id_verification_verified_at",
    "id_verification_note",
    "id_verification_rejection_message",
)
"""The verification result an agent's decision sets (and its audit row records)."""


@dataclass(frozen=True)
class AccountChange:
    """A change of the profile's status fields made inside the caller's transaction: the
    Account it belongs to, the fields before and after (``ID_VERIFICATION_FIELDS``), and the
    Account update (reference ``account``) for the caller's Composite request."""

    account_id: str
    before: dict[str, Any]
    after: dict[str, Any]
    subrequest: CompositeSubrequest


def customer_id_verification_refuse_if_open(profile: CustomerProfile) -> None:
    """While a residence card waits for review or once one is accepted, another upload is refused."""
    if profile.id_verification_status == IdVerificationStatus.SUBMITTED:
        raise ConflictError(
            gettext("Your residence card is being reviewed. You can upload a new one if we ask you to."),
            code="id_verification_pending",
        )
    if profile.id_verification_status == IdVerificationStatus.VERIFIED:
        raise ConflictError(
            gettext(
                "Your identity is already verified; there is no need to upload your residence card again."
            ),
            code="id_verification_verified",
        )


def customer_id_verification_submit(
    *, profile: CustomerProfile, account_id: str, now: datetime
) -> CompositeSubrequest:
    """The customer uploaded a residence card: Submitted, clearing the last rejection. Refused
    while a card is under review or once verified. Call inside the caller's transaction with
    ``profile`` locked; returns the Account update for the caller's Composite request."""
    customer_id_verification_refuse_if_open(profile)
    profile.id_verification_status = IdVerificationStatus.SUBMITTED
    profile.id_verification_submitted_at = now
    profile.id_verification_rejection_message = ""
    profile.id_verification_note = ""
    dashboard_cache_invalidate(profile.user_id)
    profile.save(
        update_fields=[
            "id_verification_status",
            "id_verification_submitted_at",
            "id_verification_rejection_message",
            "id_verification_note",
            "updated_at",
        ]
    )
    return account_id_verification_submitted_subrequest(account_id, submitted_at=now)


def customer_id_verification_decide(
    *,
    profile: CustomerProfile,
    status: IdVerificationStatus,
    note: str,
    rejection_message: str,
    now: datetime,
) -> AccountChange:
    """An agent's decision on the card under review: Verified or Rejected, the decision time, the
    agent's ``note`` and the customer-facing ``rejection_message``. Refused unless the Account is
    Submitted (it was decided elsewhere). Call inside the caller's transaction (the one that
    closes the residence card's review) with ``profile`` locked."""
    if profile.id_verification_status != IdVerificationStatus.SUBMITTED:
        raise ConflictError(
            gettext(
                "The account's ID verification is %(status)s, not Submitted; it was decided "
                "elsewhere. Ask a supervisor to reopen it if it needs a new decision."
            )
            % {"status": profile.get_id_verification_status_display() or "-"},
            code="already_decided",
        )
    return _id_verification_set(
        profile,
        status=status,
        verified_at=now,
        note=note,
        rejection_message=rejection_message,
        salesforce=functools.partial(
            account_id_verification_decided_subrequest,
            status=status,
            decided_at=now,
            note=note,
            rejection_message=rejection_message,
        ),
    )


def customer_id_verification_reopen(*, profile: CustomerProfile) -> AccountChange:
    """A supervisor takes back an ID decision: Submitted again, the verified time, note and
    rejection message cleared. Call inside the caller's transaction with ``profile`` locked."""
    return _id_verification_set(
        profile,
        status=IdVerificationStatus.SUBMITTED,
        verified_at=None,
        note="",
        rejection_message="",
        salesforce=account_id_verification_reopened_subrequest,
    )


def _id_verification_set(
    profile: CustomerProfile,
    *,
    status: IdVerificationStatus,
    verified_at: datetime | None,
    note: str,
    rejection_message: str,
    salesforce: Callable[[str], CompositeSubrequest],
) -> AccountChange:
    """Set the ID verification fields; ``salesforce`` makes the Account's update from its ID."""
    account_id = decision_account_id(user_id=profile.user_id)
    before = field_values(profile, ID_VERIFICATION_FIELDS)
    profile.id_verification_status = status
    profile.id_verification_verified_at = verified_at
    profile.id_verification_note = note
    profile.id_verification_rejection_message = rejection_message
    profile.save(update_fields=[*ID_VERIFICATION_FIELDS, "updated_at"])
    dashboard_cache_invalidate(profile.user_id)
    return AccountChange(
        account_id=account_id,
        before=before,
        after=field_values(profile, ID_VERIFICATION_FIELDS),
        subrequest=salesforce(account_id),
    )
