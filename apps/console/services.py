"""Agent decisions: each one a transaction that changes the portal's mirror, records the audit
row, queues ONE Salesforce call (an outbox entry) and tells the customer.

The Salesforce fields written are those of the agents' checklists in Salesforce (seed 000 "Agent
Workflow & Checklist"), so a decision made here and one made in Salesforce leave the org in the
same state, and the org's flows react the same way: the Account flow publishes the status event
and sends its email, and an Order set to Approved publishes ``OrderProvisionRequested__e``, which
starts fulfillment exactly as an approval in Salesforce does.

Eligibility and ID decisions notify through ``account_status_notify``, the function the platform
event path uses too, so the customer gets one notification whichever path arrives first.

Services never check the agent's permissions: the admin views do (one permission per queue,
``console.reopen_decision`` for reopening). They do check that the record is still in the state
the decision expects, under a row lock, so two agents deciding at once cannot both succeed.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from django.db import models, transaction
from django.utils import timezone
from django.utils.translation import gettext

from apps.accounts.dashboard_cache import dashboard_cache_invalidate
from apps.accounts.models import CustomerProfile, EligibilityStatus, IdVerificationStatus, User
from apps.accounts.status_notifications import account_status_notify
from apps.checkout.services import order_approve as checkout_order_approve
from apps.console.models import AgentDecision, DecisionAction, SubjectType
from apps.console.selectors import (
    customer_account_id,
    eligibility_case,
    id_verification_latest_submission_id,
    outbox_unsettled_for_customer,
)
from apps.integrations.models import OutboxEntry
from apps.integrations.outbox import outbox_enqueue_salesforce, outbox_mark_applied, outbox_retry
from apps.integrations.salesforce.field_map import get_field_map, salesforce_datetime
from apps.integrations.salesforce.gateway import CompositeSubrequest, is_salesforce_id
from apps.opportunities import services as opportunities
from apps.opportunities import support
from apps.opportunities.models import CaseStatus
from apps.opportunities.services import case_status_change
from apps.verification.models import RejectionReason, ResidenceCardStatusChange, ResidenceCardSubmission
from portal.exceptions import ApplicationError, ConflictError
from portal.transitions import Transition

ELIGIBILITY_OFFERINGS = ("Home 1G", "Mansion 1G", "Home 10G")
"""The usual results of the NTT check (seed 000); the agent may type another one."""

_PROFILE_ELIGIBILITY_FIELDS = (
    "internet_eligibility",
    "internet_eligibility_status",
    "internet_eligibility_checked_at",
    "internet_eligibility_notes",
)
_PROFILE_VERIFICATION_FIELDS = (
    "id_verification_status",
    "id_verification_verified_at",
    "id_verification_note",
    "id_verification_rejection_message",
)
_SUBMISSION_FIELDS = ("status", "rejection_reason", "rejection_message", "reviewed_at", "reviewed_by_id")


def agent_display_name(agent: User) -> str:
    return agent.get_full_name() or agent.email


# --- Shared steps -----------------------------------------------------------------------------


def _json_value(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value


def _snapshot(instance: models.Model, fields: Iterable[str]) -> dict[str, Any]:
    return {name: _json_value(getattr(instance, name)) for name in fields}


def _account_id(user_id: int) -> str:
    account_id = customer_account_id(user_id=user_id)
    if not account_id:
        raise ApplicationError(
            gettext("This customer has no Salesforce Account yet, so the decision cannot be recorded."),
            code="account_not_linked",
        )
    return account_id


def _already_decided(message: str) -> ConflictError:
    return ConflictError(message, code="already_decided")


def _enqueue(*, operation: str, account_id: str, subrequests: list[CompositeSubrequest]) -> OutboxEntry:
    return outbox_enqueue_salesforce(
        operation=operation, record_key=f"Account:{account_id}", subrequests=subrequests
    )


def _audit(
    *,
    agent: User,
    customer_id: int,
    subject_type: SubjectType,
    subject_id: Any,
    action: DecisionAction,
    before: Mapping[str, Any],
    after: Mapping[str, Any],
    note: str = "",
    outbox_entry: OutboxEntry | None = None,
) -> AgentDecision:
    return AgentDecision.objects.create(
        agent=agent,
        customer_id=customer_id,
        subject_type=subject_type,
        subject_id=str(subject_id),
        action=action,
        before=dict(before),
        after=dict(after),
        note=note,
        outbox_entry=outbox_entry,
    )


def _record(
    change: Transition,
    *,
    agent: User,
    subject_type: SubjectType,
    subject_id: Any,
    action: DecisionAction,
    note: str = "",
) -> AgentDecision:
    """The audit row of a decision the owning service has just made."""
    return _audit(
        agent=agent,
        customer_id=change.user_id,
        subject_type=subject_type,
        subject_id=subject_id,
        action=action,
        before=change.before,
        after=change.after,
        note=note,
        outbox_entry=change.outbox_entry,
    )


# --- Internet eligibility ---------------------------------------------------------------------


def eligibility_mark_eligible(
    *, agent: User, profile_id: int, offering: str, notes: str = "", now: datetime | None = None
) -> AgentDecision:
    """The NTT check found service: the Account gets the offering (e.g. "Home 1G"), Eligible,
    the checked time and the notes; the eligibility Case is closed; the customer is told."""
    offering = offering.strip()
    if not offering:
        raise ApplicationError(gettext("Choose or type the offering type."), code="offering_required")
    return _eligibility_decide(
        agent=agent,
        profile_id=profile_id,
        status=EligibilityStatus.ELIGIBLE,
        offering=offering,
        notes=notes.strip(),
        now=now,
    )


def eligibility_mark_ineligible(
    *, agent: User, profile_id: int, notes: str, now: datetime | None = None
) -> AgentDecision:
    """The NTT check found no service: Ineligible with the notes (the customer reads them); any
    earlier offering is cleared, since it belonged to an address the customer no longer asks about."""
    notes = notes.strip()
    if not notes:
        raise ApplicationError(
            gettext("Explain why the address is not eligible; the customer reads this note."),
            code="notes_required",
        )
    return _eligibility_decide(
        agent=agent,
        profile_id=profile_id,
        status=EligibilityStatus.INELIGIBLE,
        offering="",
        notes=notes,
        now=now,
    )


def _eligibility_decide(
    *,
    agent: User,
    profile_id: int,
    status: EligibilityStatus,
    offering: str,
    notes: str,
    now: datetime | None,
) -> AgentDecision:
    now = now or timezone.now()
    field_map = get_field_map()
    with transaction.atomic():
        profile = CustomerProfile.objects.select_for_update().get(pk=profile_id)
        if profile.internet_eligibility_status != EligibilityStatus.PENDING:
            raise _already_decided(
                gettext("This eligibility check is not pending any more (it is %(status)s).")
                % {"status": profile.get_internet_eligibility_status_display()}
            )
        account_id = _account_id(profile.user_id)
        before = _snapshot(profile, _PROFILE_ELIGIBILITY_FIELDS)
        profile.internet_eligibility = offering
        profile.internet_eligibility_status = status
        profile.internet_eligibility_checked_at = now
        profile.internet_eligibility_notes = notes
        profile.save(update_fields=[*_PROFILE_ELIGIBILITY_FIELDS, "updated_at"])
        dashboard_cache_invalidate(profile.user_id)
        after = _snapshot(profile, _PROFILE_ELIGIBILITY_FIELDS)

        subrequests = [
            CompositeSubrequest.update(
                "Account",
                account_id,
                "account",
                field_map.record(
                    "Account",
                    {
                        "internet_eligibility": offering or None,
                        "internet_eligibility_status": status,
                        "internet_eligibility_checked_at": salesforce_datetime(now),
                        "internet_eligibility_notes": notes or None,
                    },
                ),
            )
        ]
        case_update = _eligibility_case_status_change(profile, CaseStatus.CLOSED)
        if case_update is not None:
            after["case_status"] = CaseStatus.CLOSED.value
            subrequests.append(case_update)
        entry = _enqueue(
            operation=f"console.eligibility.{status}", account_id=account_id, subrequests=subrequests
        )
        decision = _audit(
            agent=agent,
            customer_id=profile.user_id,
            subject_type=SubjectType.ELIGIBILITY,
            subject_id=profile.pk,
            action=(
                DecisionAction.MARK_ELIGIBLE
                if status == EligibilityStatus.ELIGIBLE
                else DecisionAction.MARK_INELIGIBLE
            ),
            before=before,
            after=after,
            note=notes,
            outbox_entry=entry,
        )
        account_status_notify(
            user_id=profile.user_id,
            account_id=account_id,
            eligibility_status=status,
            offering=offering,
            eligibility_notes=notes,
            now=now,
        )
    return decision


def _eligibility_case_status_change(
    profile: CustomerProfile, status: CaseStatus
) -> CompositeSubrequest | None:
    """The eligibility Case follows the decision, through its owner (``case_status_change``)."""
    return case_status_change(
        case=eligibility_case(profile=profile),
        status=status,
        salesforce_id=profile.internet_eligibility_case_id,
    )


def eligibility_reopen(
    *, agent: User, profile_id: int, note: str, now: datetime | None = None
) -> AgentDecision:
    """A supervisor takes back an eligibility decision: the check is Pending again (checked time
    cleared, Case reopened), back in the queue for a new decision."""
    note = note.strip()
    field_map = get_field_map()
    with transaction.atomic():
        profile = CustomerProfile.objects.select_for_update().get(pk=profile_id)
        if profile.internet_eligibility_status not in (
            EligibilityStatus.ELIGIBLE,
            EligibilityStatus.INELIGIBLE,
        ):
            raise ConflictError(
                gettext("Only an eligible or ineligible result can be reopened."), code="not_decided"
            )
        account_id = _account_id(profile.user_id)
        before = _snapshot(profile, _PROFILE_ELIGIBILITY_FIELDS)
        profile.internet_eligibility_status = EligibilityStatus.PENDING
        profile.internet_eligibility_checked_at = None
        profile.save(
            update_fields=["internet_eligibility_status", "internet_eligibility_checked_at", "updated_at"]
        )
        dashboard_cache_invalidate(profile.user_id)
        after = _snapshot(profile, _PROFILE_ELIGIBILITY_FIELDS)
        subrequests = [
            CompositeSubrequest.update(
                "Account",
                account_id,
                "account",
                field_map.record(
                    "Account",
                    {
                        "internet_eligibility_status": EligibilityStatus.PENDING,
                        "internet_eligibility_checked_at": None,
                    },
                ),
            )
        ]
        case_update = _eligibility_case_status_change(profile, CaseStatus.NEW)
        if case_update is not None:
            after["case_status"] = CaseStatus.NEW.value
            subrequests.append(case_update)
        entry = _enqueue(
            operation="console.eligibility.reopen", account_id=account_id, subrequests=subrequests
        )
        return _audit(
            agent=agent,
            customer_id=profile.user_id,
            subject_type=SubjectType.ELIGIBILITY,
            subject_id=profile.pk,
            action=DecisionAction.REOPEN_ELIGIBILITY,
            before=before,
            after=after,
            note=note,
            outbox_entry=entry,
        )


# --- ID verification --------------------------------------------------------------------------


def id_verification_verify(*, agent: User, submission_id: int, now: datetime | None = None) -> AgentDecision:
    """The residence card is valid and matches the account: Verified, with the verified time and
    the note "Verified by <agent>"."""
    return _id_verification_decide(
        agent=agent,
        submission_id=submission_id,
        status=IdVerificationStatus.VERIFIED,
        reason="",
        message="",
        now=now,
    )


def id_verification_reject(
    *, agent: User, submission_id: int, reason: str, message: str, now: datetime | None = None
) -> AgentDecision:
    """The card cannot be accepted: Rejected, with the structured ``reason`` (kept on the
    submission, it picks the customer's remediation text) and the customer-facing ``message``
    (``Id_Verification_Rejection_Message__c``, shown to the customer and in the Salesforce email)."""
    message = message.strip()
    if reason not in RejectionReason.values:
        raise ApplicationError(gettext("Choose a rejection reason."), code="reason_required")
    if not message:
        raise ApplicationError(
            gettext("Write the message the customer will see."), code="rejection_message_required"
        )
    return _id_verification_decide(
        agent=agent,
        submission_id=submission_id,
        status=IdVerificationStatus.REJECTED,
        reason=reason,
        message=message,
        now=now,
    )


def _id_verification_decide(
    *,
    agent: User,
    submission_id: int,
    status: IdVerificationStatus,
    reason: str,
    message: str,
    now: datetime | None,
) -> AgentDecision:
    now = now or timezone.now()
    field_map = get_field_map()
    with transaction.atomic():
        submission = ResidenceCardSubmission.objects.select_for_update().get(pk=submission_id)
        profile = CustomerProfile.objects.select_for_update().get(user_id=submission.user_id)
        if submission.status != ResidenceCardSubmission.Status.SUBMITTED:
            raise _already_decided(
                gettext("This residence card has already been reviewed (%(status)s).")
                % {"status": submission.get_status_display()}
            )
        if profile.id_verification_status != IdVerificationStatus.SUBMITTED:
            raise _already_decided(
                gettext(
                    "The account's ID verification is %(status)s, not Submitted; it was decided "
                    "elsewhere. Ask a supervisor to reopen it if it needs a new decision."
                )
                % {"status": profile.get_id_verification_status_display() or "-"}
            )
        account_id = _account_id(submission.user_id)
        before = {
            "submission": _snapshot(submission, _SUBMISSION_FIELDS),
            "account": _snapshot(profile, _PROFILE_VERIFICATION_FIELDS),
        }
        verified = status == IdVerificationStatus.VERIFIED
        if verified:
            note = f"Verified by {agent_display_name(agent)}"
        else:
            note = f"Rejected by {agent_display_name(agent)} ({RejectionReason(reason).name.lower()})"

        from_status = submission.status
        submission.status = (
            ResidenceCardSubmission.Status.VERIFIED if verified else ResidenceCardSubmission.Status.REJECTED
        )
        submission.rejection_reason = reason
        submission.rejection_message = message
        submission.reviewed_at = now
        submission.reviewed_by = agent
        submission.save(
            update_fields=["status", "rejection_reason", "rejection_message", "reviewed_at", "reviewed_by"]
        )
        ResidenceCardStatusChange.objects.create(
            submission=submission,
            from_status=from_status,
            to_status=submission.status,
            changed_by=agent,
            note=message or note,
        )

        profile.id_verification_status = status
        profile.id_verification_verified_at = now
        profile.id_verification_note = note
        profile.id_verification_rejection_message = message
        profile.save(update_fields=[*_PROFILE_VERIFICATION_FIELDS, "updated_at"])
        dashboard_cache_invalidate(profile.user_id)
        after = {
            "submission": _snapshot(submission, _SUBMISSION_FIELDS),
            "account": _snapshot(profile, _PROFILE_VERIFICATION_FIELDS),
        }

        entry = _enqueue(
            operation=f"console.id_verification.{status}",
            account_id=account_id,
            subrequests=[
                CompositeSubrequest.update(
                    "Account",
                    account_id,
                    "account",
                    field_map.record(
                        "Account",
                        {
                            "id_verification_status": status,
                            "id_verification_verified_at": salesforce_datetime(now),
                            "id_verification_note": note,
                            "id_verification_rejection_message": message or None,
                        },
                    ),
                )
            ],
        )
        decision = _audit(
            agent=agent,
            customer_id=submission.user_id,
            subject_type=SubjectType.ID_VERIFICATION,
            subject_id=submission.pk,
            action=DecisionAction.VERIFY_ID if verified else DecisionAction.REJECT_ID,
            before=before,
            after=after,
            note=message,
            outbox_entry=entry,
        )
        account_status_notify(
            user_id=submission.user_id,
            account_id=account_id,
            verification_status=status,
            rejection_message=message,
            now=now,
        )
    return decision


def id_verification_reopen(*, agent: User, submission_id: int, note: str) -> AgentDecision:
    """A supervisor takes back an ID decision on the customer's latest card: Submitted again
    (verified time, note and rejection message cleared), back in the queue."""
    note = note.strip()
    field_map = get_field_map()
    with transaction.atomic():
        submission = ResidenceCardSubmission.objects.select_for_update().get(pk=submission_id)
        profile = CustomerProfile.objects.select_for_update().get(user_id=submission.user_id)
        decided = (ResidenceCardSubmission.Status.VERIFIED, ResidenceCardSubmission.Status.REJECTED)
        if submission.status not in decided:
            raise ConflictError(
                gettext("Only a verified or rejected card can be reopened."), code="not_decided"
            )
        if id_verification_latest_submission_id(user_id=submission.user_id) != submission.pk:
            raise ConflictError(
                gettext("The customer has uploaded a newer card; review that one instead."),
                code="not_latest_submission",
            )
        account_id = _account_id(submission.user_id)
        before = {
            "submission": _snapshot(submission, _SUBMISSION_FIELDS),
            "account": _snapshot(profile, _PROFILE_VERIFICATION_FIELDS),
        }
        from_status = submission.status
        submission.status = ResidenceCardSubmission.Status.SUBMITTED
        submission.rejection_reason = ""
        submission.rejection_message = ""
        submission.reviewed_at = None
        submission.reviewed_by = None
        submission.save(
            update_fields=["status", "rejection_reason", "rejection_message", "reviewed_at", "reviewed_by"]
        )
        ResidenceCardStatusChange.objects.create(
            submission=submission,
            from_status=from_status,
            to_status=submission.status,
            changed_by=agent,
            note=note or "Reopened by a supervisor.",
        )
        profile.id_verification_status = IdVerificationStatus.SUBMITTED
        profile.id_verification_verified_at = None
        profile.id_verification_note = ""
        profile.id_verification_rejection_message = ""
        profile.save(update_fields=[*_PROFILE_VERIFICATION_FIELDS, "updated_at"])
        dashboard_cache_invalidate(profile.user_id)
        after = {
            "submission": _snapshot(submission, _SUBMISSION_FIELDS),
            "account": _snapshot(profile, _PROFILE_VERIFICATION_FIELDS),
        }
        entry = _enqueue(
            operation="console.id_verification.reopen",
            account_id=account_id,
            subrequests=[
                CompositeSubrequest.update(
                    "Account",
                    account_id,
                    "account",
                    field_map.record(
                        "Account",
                        {
                            "id_verification_status": IdVerificationStatus.SUBMITTED,
                            "id_verification_verified_at": None,
                            "id_verification_note": None,
                            "id_verification_rejection_message": None,
                        },
                    ),
                )
            ],
        )
        return _audit(
            agent=agent,
            customer_id=submission.user_id,
            subject_type=SubjectType.ID_VERIFICATION,
            subject_id=submission.pk,
            action=DecisionAction.REOPEN_ID_VERIFICATION,
            before=before,
            after=after,
            note=note,
            outbox_entry=entry,
        )


# --- Order approval (apps.checkout owns the Order) --------------------------------------------


def order_approve(*, agent: User, order_id: int) -> AgentDecision:
    with transaction.atomic():
        change = checkout_order_approve(order_id=order_id)
        return _record(
            change,
            agent=agent,
            subject_type=SubjectType.ORDER,
            subject_id=order_id,
            action=DecisionAction.APPROVE_ORDER,
        )


# --- Cancellation (apps.opportunities owns the Opportunity) -----------------------------------


def cancellation_line_return_update(
    *, agent: User, opportunity_id: int, line_return_status: str
) -> AgentDecision:
    with transaction.atomic():
        change = opportunities.cancellation_line_return_update(
            opportunity_id=opportunity_id, line_return_status=line_return_status
        )
        return _record(
            change,
            agent=agent,
            subject_type=SubjectType.CANCELLATION,
            subject_id=opportunity_id,
            action=DecisionAction.UPDATE_LINE_RETURN,
        )


def cancellation_complete(*, agent: User, opportunity_id: int, now: datetime | None = None) -> AgentDecision:
    with transaction.atomic():
        change = opportunities.cancellation_complete(opportunity_id=opportunity_id, now=now)
        return _record(
            change,
            agent=agent,
            subject_type=SubjectType.CANCELLATION,
            subject_id=opportunity_id,
            action=DecisionAction.COMPLETE_CANCELLATION,
        )


# --- Support cases (apps.opportunities owns the Case) -----------------------------------------


def support_case_reply(*, agent: User, case_id: int, body: str, status: str = "") -> AgentDecision:
    with transaction.atomic():
        change = support.support_case_reply(agent=agent, case_id=case_id, body=body, status=status)
        return _record(
            change,
            agent=agent,
            subject_type=SubjectType.SUPPORT_CASE,
            subject_id=case_id,
            action=DecisionAction.REPLY_SUPPORT_CASE,
            note=body.strip(),
        )


# --- Sync -------------------------------------------------------------------------------------


def console_outbox_retry(
    *, agent: User, entry_id: int, subject_type: SubjectType, subject_id: Any, customer_id: int
) -> AgentDecision:
    """Put one of the customer's failed Salesforce writes back in the queue, with an audit row."""
    with transaction.atomic():
        entry = next(
            (e for e in outbox_unsettled_for_customer(user_id=customer_id) if e.pk == entry_id), None
        )
        if entry is None or entry.status != OutboxEntry.Status.FAILED:
            raise ConflictError(gettext("That Salesforce write has not failed."), code="not_failed")
        before = {"status": entry.status, "attempts": entry.attempts, "last_error": entry.last_error}
        entry = outbox_retry(entry_id=entry.pk)
        return _audit(
            agent=agent,
            customer_id=customer_id,
            subject_type=subject_type,
            subject_id=subject_id,
            action=DecisionAction.RETRY_SYNC,
            before=before,
            after={"status": entry.status, "attempts": entry.attempts},
            note=entry.operation,
            outbox_entry=entry,
        )


def console_outbox_mark_found(
    *,
    agent: User,
    entry_id: int,
    subject_type: SubjectType,
    subject_id: Any,
    customer_id: int,
    salesforce_ids: Mapping[str, str],
) -> AgentDecision:
    """Settle one of the customer's writes held with an unknown outcome, which the agent found
    already applied in Salesforce: the records' ids (``salesforce_ids`` by reference) are written
    back as delivery would have, nothing is sent again, and the decision is logged."""
    with transaction.atomic():
        entry = next(
            (e for e in outbox_unsettled_for_customer(user_id=customer_id) if e.pk == entry_id), None
        )
        if entry is None or not entry.outcome_unknown:
            raise ConflictError(
                gettext("Only a write whose outcome is unknown can be marked as found in Salesforce."),
                code="not_outcome_unknown",
            )
        ids = {}
        for write_back in entry.payload.get("write_backs", []):
            value = salesforce_ids.get(write_back["reference_id"], "").strip()
            if not is_salesforce_id(value):
                raise ApplicationError(
                    gettext("Enter the 15- or 18-character Salesforce ID of the %(record)s record.")
                    % {"record": write_back["reference_id"]},
                    code="invalid_salesforce_id",
                )
            ids[write_back["reference_id"]] = value
        before = {"status": entry.status, "attempts": entry.attempts, "last_error": entry.last_error}
        entry = outbox_mark_applied(entry_id=entry.pk, ids=ids)
        return _audit(
            agent=agent,
            customer_id=customer_id,
            subject_type=subject_type,
            subject_id=subject_id,
            action=DecisionAction.RESOLVE_SYNC,
            before=before,
            after={"status": entry.status, "salesforce_ids": ids},
            note=entry.operation,
            outbox_entry=entry,
        )
