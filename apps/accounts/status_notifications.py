"""Notifications for final account status decisions, shared by every path that learns of one.

An agent's decision reaches the customer by two paths: the agent console (at once) and the
platform event Salesforce publishes for the same change (seconds later, possibly twice). Both
come here; the source id names the decision (Account, kind and outcome), and an existing
notification with that source id created within ``SAME_DECISION_WINDOW`` means the customer was
already told, so the later path adds nothing.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from apps.accounts.models import EligibilityStatus, IdVerificationStatus
from apps.notifications.models import Notification, NotificationSource, NotificationType
from apps.notifications.services import NotificationRequest, notifications_create

# Long enough for any redelivery of the same event; a genuinely new decision days later (after a
# supervisor reopened it) notifies again.
SAME_DECISION_WINDOW = timedelta(days=3)

_ELIGIBILITY_TYPES = {
    EligibilityStatus.ELIGIBLE: NotificationType.ELIGIBILITY_ELIGIBLE,
    EligibilityStatus.INELIGIBLE: NotificationType.ELIGIBILITY_INELIGIBLE,
}
_VERIFICATION_TYPES = {
    IdVerificationStatus.VERIFIED: NotificationType.VERIFICATION_VERIFIED,
    IdVerificationStatus.REJECTED: NotificationType.VERIFICATION_REJECTED,
}


@dataclass(frozen=True)
class AccountStatusDecision:
    """The statuses one Account change set; ``None`` means "this status did not change" (the
    event carries a status field only when it changed)."""

    user_id: int
    account_id: str
    eligibility_status: str | None = None
    offering: str = ""
    eligibility_notes: str = ""
    verification_status: str | None = None
    rejection_message: str = ""


def decision_source_id(account_id: str, kind: str, status: str) -> str:
    """``001…:eligibility:eligible`` — the same on the console and the event path."""
    return f"{account_id}:{kind}:{status}"


def account_status_notify(
    *,
    user_id: int,
    account_id: str,
    eligibility_status: str | None = None,
    offering: str = "",
    eligibility_notes: str = "",
    verification_status: str | None = None,
    rejection_message: str = "",
    now: datetime | None = None,
) -> list[Notification]:
    """Notify final states only (Eligible/Ineligible, Verified/Rejected), once per decision.

    Pending and Submitted are not decisions and notify nothing.
    """
    decision = AccountStatusDecision(
        user_id=user_id,
        account_id=account_id,
        eligibility_status=eligibility_status,
        offering=offering,
        eligibility_notes=eligibility_notes,
        verification_status=verification_status,
        rejection_message=rejection_message,
    )
    return account_status_notify_many([decision], now=now)[0]


def account_status_notify_many(
    decisions: Sequence[AccountStatusDecision], *, now: datetime | None = None
) -> list[list[Notification]]:
    """``account_status_notify`` for a batch of decisions (a fetched batch of status events), in
    a fixed number of statements. Returns the notifications created for each decision, in order;
    a decision repeated within the batch notifies once."""
    requests: list[NotificationRequest] = []
    owners: list[int] = []
    for index, decision in enumerate(decisions):
        for request in _requests(decision):
            requests.append(request)
            owners.append(index)
    created = notifications_create(requests=requests, now=now, dedupe_window=SAME_DECISION_WINDOW)
    per_decision: list[list[Notification]] = [[] for _ in decisions]
    for index, notification in zip(owners, created, strict=True):
        if notification is not None:
            per_decision[index].append(notification)
    return per_decision


def _requests(decision: AccountStatusDecision) -> Iterator[NotificationRequest]:
    if decision.eligibility_status in _ELIGIBILITY_TYPES:
        eligibility = EligibilityStatus(decision.eligibility_status)
        yield NotificationRequest(
            user_id=decision.user_id,
            type=_ELIGIBILITY_TYPES[eligibility],
            source=NotificationSource.SALESFORCE,
            source_id=decision_source_id(decision.account_id, "eligibility", eligibility.value),
            context=(
                {"offering": decision.offering}
                if eligibility == EligibilityStatus.ELIGIBLE
                else {"notes": decision.eligibility_notes}
            ),
        )
    if decision.verification_status in _VERIFICATION_TYPES:
        verification = IdVerificationStatus(decision.verification_status)
        yield NotificationRequest(
            user_id=decision.user_id,
            type=_VERIFICATION_TYPES[verification],
            source=NotificationSource.SALESFORCE,
            source_id=decision_source_id(decision.account_id, "verification", verification.value),
            context=(
                {"reason": decision.rejection_message}
                if verification == IdVerificationStatus.REJECTED
                else {}
            ),
        )
