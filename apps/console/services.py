"""Agent decisions: each one calls the service that owns the record's status and records the
console's audit row (``AgentDecision``), in one transaction.

The owning services (README, "Who changes a status") change the record, queue the ONE
Salesforce call that carries the change (an outbox entry) and tell the customer, exactly as they
do for the customer API and the Salesforce event handlers; they write the Salesforce fields of
the agents' checklists in Salesforce, so a decision made here and one made in Salesforce leave
the org in the same state. They also check, under a row lock, that the record is still in the
state the decision expects, so two agents deciding at once cannot both succeed. This module
adds the audit row, linked to the outbox entry, and never writes another app's records.

The admin views check the agent's permissions (one permission per queue,
``console.reopen_decision`` for reopening). The stuck registration services check theirs again
themselves (``console.manage_registration``): abandoning removes a customer's portal user, which
no caller should be able to do by forgetting a check.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils.translation import gettext

from apps.accounts import registration
from apps.accounts.models import RegistrationAttempt, User
from apps.accounts.services import (
    customer_eligibility_mark_eligible,
    customer_eligibility_mark_ineligible,
    customer_eligibility_reopen,
)
from apps.checkout import services as checkout
from apps.console.models import AgentDecision, DecisionAction, SubjectType
from apps.console.selectors import outbox_account_id, outbox_customers, outbox_unsettled_for_customer
from apps.integrations.models import OutboxEntry
from apps.integrations.outbox import outbox_mark_applied, outbox_retry
from apps.integrations.salesforce.gateway import is_salesforce_id
from apps.opportunities import services as opportunities
from apps.opportunities import support
from apps.verification.services import residence_card_reject, residence_card_reopen, residence_card_verify
from portal.exceptions import ApplicationError, ConflictError
from portal.transitions import Transition

ELIGIBILITY_OFFERINGS = ("Home 1G", "Mansion 1G", "Home 10G")
"""The usual results of the NTT check; the agent may type another one."""


def agent_decision_create(
    *,
    agent: User,
    customer_id: int | None,
    subject_type: SubjectType,
    subject_id: Any,
    action: DecisionAction,
    before: Mapping[str, Any],
    after: Mapping[str, Any],
    note: str = "",
    outbox_entry: OutboxEntry | None = None,
) -> AgentDecision:
    """The audit row of a console action (a decision, a claim, a retry): who, on what, from what
    to what."""
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
    return agent_decision_create(
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


# --- Internet eligibility (apps.accounts owns the Account's eligibility) ---------------------


def eligibility_mark_eligible(
    *, agent: User, profile_id: int, offering: str, notes: str = "", now: datetime | None = None
) -> AgentDecision:
    with transaction.atomic():
        change = customer_eligibility_mark_eligible(
            profile_id=profile_id, offering=offering, notes=notes, now=now
        )
        return _record(
            change,
            agent=agent,
            subject_type=SubjectType.ELIGIBILITY,
            subject_id=profile_id,
            action=DecisionAction.MARK_ELIGIBLE,
            note=notes.strip(),
        )


def eligibility_mark_ineligible(
    *, agent: User, profile_id: int, notes: str, now: datetime | None = None
) -> AgentDecision:
    with transaction.atomic():
        change = customer_eligibility_mark_ineligible(profile_id=profile_id, notes=notes, now=now)
        return _record(
            change,
            agent=agent,
            subject_type=SubjectType.ELIGIBILITY,
            subject_id=profile_id,
            action=DecisionAction.MARK_INELIGIBLE,
            note=notes.strip(),
        )


def eligibility_reopen(*, agent: User, profile_id: int, note: str) -> AgentDecision:
    with transaction.atomic():
        change = customer_eligibility_reopen(profile_id=profile_id)
        return _record(
            change,
            agent=agent,
            subject_type=SubjectType.ELIGIBILITY,
            subject_id=profile_id,
            action=DecisionAction.REOPEN_ELIGIBILITY,
            note=note.strip(),
        )


# --- ID verification (apps.verification owns the card's review, apps.accounts the Account's) --


def id_verification_verify(*, agent: User, submission_id: int, now: datetime | None = None) -> AgentDecision:
    with transaction.atomic():
        change = residence_card_verify(agent=agent, submission_id=submission_id, now=now)
        return _record(
            change,
            agent=agent,
            subject_type=SubjectType.ID_VERIFICATION,
            subject_id=submission_id,
            action=DecisionAction.VERIFY_ID,
        )


def id_verification_reject(
    *, agent: User, submission_id: int, reason: str, message: str, now: datetime | None = None
) -> AgentDecision:
    with transaction.atomic():
        change = residence_card_reject(
            agent=agent, submission_id=submission_id, reason=reason, message=message, now=now
        )
        return _record(
            change,
            agent=agent,
            subject_type=SubjectType.ID_VERIFICATION,
            subject_id=submission_id,
            action=DecisionAction.REJECT_ID,
            note=message.strip(),
        )


def id_verification_reopen(*, agent: User, submission_id: int, note: str) -> AgentDecision:
    with transaction.atomic():
        change = residence_card_reopen(agent=agent, submission_id=submission_id, note=note)
        return _record(
            change,
            agent=agent,
            subject_type=SubjectType.ID_VERIFICATION,
            subject_id=submission_id,
            action=DecisionAction.REOPEN_ID_VERIFICATION,
            note=note.strip(),
        )


# --- Order approval (apps.checkout owns the Order) --------------------------------------------


def order_approve(*, agent: User, order_id: int) -> AgentDecision:
    with transaction.atomic():
        change = checkout.order_approve(order_id=order_id)
        return _record(
            change,
            agent=agent,
            subject_type=SubjectType.ORDER,
            subject_id=order_id,
            action=DecisionAction.APPROVE_ORDER,
        )


def order_reject(*, agent: User, order_id: int, reason: str) -> AgentDecision:
    with transaction.atomic():
        change = checkout.order_reject(order_id=order_id, reason=reason)
        return _record(
            change,
            agent=agent,
            subject_type=SubjectType.ORDER,
            subject_id=order_id,
            action=DecisionAction.REJECT_ORDER,
            note=reason.strip(),
        )


def order_hold(*, agent: User, order_id: int, reason: str, now: datetime | None = None) -> AgentDecision:
    with transaction.atomic():
        change = checkout.order_hold(order_id=order_id, reason=reason, now=now)
        return _record(
            change,
            agent=agent,
            subject_type=SubjectType.ORDER,
            subject_id=order_id,
            action=DecisionAction.HOLD_ORDER,
            note=reason.strip(),
        )


def order_release(*, agent: User, order_id: int, note: str = "") -> AgentDecision:
    with transaction.atomic():
        change = checkout.order_release(order_id=order_id)
        return _record(
            change,
            agent=agent,
            subject_type=SubjectType.ORDER,
            subject_id=order_id,
            action=DecisionAction.RELEASE_ORDER,
            note=note.strip(),
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


# --- Stuck registrations (apps.accounts owns the registration saga) --------------------------

REGISTRATION_PERMISSION = "console.manage_registration"


def _registration_state(attempt: RegistrationAttempt) -> dict[str, Any]:
    return {
        "status": attempt.status,
        "failed_step": attempt.failed_step,
        "tries": attempt.tries,
        "user_id": attempt.user_id,
        "salesforce_account_id": attempt.salesforce_account_id,
        "whmcs_client_id": attempt.whmcs_client_id,
    }


def _registration_for(agent: User, attempt_id: int) -> RegistrationAttempt:
    if not agent.has_perm(REGISTRATION_PERMISSION):
        raise PermissionDenied
    return RegistrationAttempt.objects.get(pk=attempt_id)


def registration_resume(*, agent: User, attempt_id: int) -> AgentDecision:
    """Give a registration that needs attention a fresh round of tries (the worker starts at
    once, after commit)."""
    attempt = _registration_for(agent, attempt_id)
    with transaction.atomic():
        before = _registration_state(attempt)
        attempt = registration.registration_resume(attempt=attempt)
        return agent_decision_create(
            agent=agent,
            customer_id=attempt.user_id,
            subject_type=SubjectType.REGISTRATION,
            subject_id=attempt.pk,
            action=DecisionAction.RESUME_REGISTRATION,
            before=before,
            after=_registration_state(attempt),
        )


def registration_abandon(*, agent: User, attempt_id: int, reason: str) -> AgentDecision:
    """Give up a registration that needs attention: its portal user is removed and what it
    created is listed as orphans (``apps.accounts.registration``). The audit row commits with
    the abandonment; the customer it names is gone, so it names none."""
    attempt = _registration_for(agent, attempt_id)
    reason = reason.strip()
    if not reason:
        raise ApplicationError(gettext("Say why the registration is abandoned."), code="reason_required")
    before = _registration_state(attempt)
    audited: list[AgentDecision] = []

    def audit(abandoned: RegistrationAttempt) -> None:
        audited.append(
            agent_decision_create(
                agent=agent,
                customer_id=None,
                subject_type=SubjectType.REGISTRATION,
                subject_id=abandoned.pk,
                action=DecisionAction.ABANDON_REGISTRATION,
                before=before,
                after=_registration_state(abandoned),
                note=reason,
            )
        )

    # Not in a transaction of ours: abandoning asks Salesforce and WHMCS first, then commits.
    registration.registration_abandon(attempt=attempt, reason=reason, on_abandoned=audit)
    return audited[0]


# --- Sync -------------------------------------------------------------------------------------


def console_outbox_retry(
    *,
    agent: User,
    entry_id: int,
    subject_type: SubjectType,
    subject_id: Any,
    customer_id: int | None,
    extra_keys: tuple[str, ...] = (),
) -> AgentDecision:
    """Put one of the customer's (or the record's, ``extra_keys``) failed Salesforce writes back
    in the queue, with an audit row."""
    with transaction.atomic():
        entry = next(
            (
                e
                for e in outbox_unsettled_for_customer(user_id=customer_id, extra_keys=extra_keys)
                if e.pk == entry_id
            ),
            None,
        )
        if entry is None or entry.status != OutboxEntry.Status.FAILED:
            raise ConflictError(gettext("That Salesforce write has not failed."), code="not_failed")
        before = {"status": entry.status, "attempts": entry.attempts, "last_error": entry.last_error}
        entry = outbox_retry(entry_id=entry.pk)
        return agent_decision_create(
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
    customer_id: int | None,
    salesforce_ids: Mapping[str, str],
    extra_keys: tuple[str, ...] = (),
) -> AgentDecision:
    """Settle one of the customer's (or the record's, ``extra_keys``) writes held with an unknown
    outcome, which the agent found already applied in Salesforce: the records' ids
    (``salesforce_ids`` by reference) are written back as delivery would have, nothing is sent
    again, and the decision is logged."""
    with transaction.atomic():
        entry = next(
            (
                e
                for e in outbox_unsettled_for_customer(user_id=customer_id, extra_keys=extra_keys)
                if e.pk == entry_id
            ),
            None,
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
        return agent_decision_create(
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


# --- The supervisors' queue of held or failed Salesforce writes --------------------------------

RETRY_WRITE_PERMISSION = "console.retry_salesforce_write"


def console_outbox_bulk_retry(*, agent: User, entry_ids: list[int]) -> list[AgentDecision]:
    """Put held or failed Salesforce writes back in the queue, each with its audit row (the
    supervisors' bulk retry). Entries no longer failed are skipped; the audit rows name the
    customer of the entry's Account where there is one."""
    if not agent.has_perm(RETRY_WRITE_PERMISSION):
        raise PermissionDenied
    decisions: list[AgentDecision] = []
    with transaction.atomic():
        entries = list(
            OutboxEntry.objects.select_for_update()
            .filter(pk__in=entry_ids, status=OutboxEntry.Status.FAILED)
            .order_by("id")
        )
        customers = outbox_customers(entries)
        for entry in entries:
            before = {"status": entry.status, "attempts": entry.attempts, "last_error": entry.last_error}
            retried = outbox_retry(entry_id=entry.pk)
            customer = customers.get(outbox_account_id(entry))
            decisions.append(
                agent_decision_create(
                    agent=agent,
                    customer_id=customer.pk if customer else None,
                    subject_type=SubjectType.SALESFORCE_WRITE,
                    subject_id=entry.pk,
                    action=DecisionAction.RETRY_SYNC,
                    before=before,
                    after={"status": retried.status, "attempts": retried.attempts},
                    note=entry.operation,
                    outbox_entry=retried,
                )
            )
    return decisions
