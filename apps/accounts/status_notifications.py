"""Notifications for final account status decisions, shared by every path that learns of one.

An agent's decision reaches the customer by two paths: the agent console (at once) and the
platform event Salesforce publishes for the same change (seconds later, possibly twice). Both
come here and dedupe as the dashboard seed says: same type and ``sourceId``, the Salesforce
Account id, within the type's window (``notifications.services.DEDUPE_WINDOWS``: 1 hour for
these types). The later path of the same decision adds nothing; a new decision of the same kind
after that window (a second rejection after the customer uploaded again, a second eligibility
result after a new check) notifies again.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime

from apps.accounts.models import CustomerProfile, EligibilityStatus, IdVerificationStatus
from apps.notifications.models import Notification, NotificationSource, NotificationType
from apps.notifications.services import NotificationRequest, notifications_create

_ELIGIBILITY_KIND = "eligibility"
_VERIFICATION_KIND = "verification"
_KINDS = {
    NotificationType.ELIGIBILITY_ELIGIBLE: _ELIGIBILITY_KIND,
    NotificationType.ELIGIBILITY_INELIGIBLE: _ELIGIBILITY_KIND,
    NotificationType.VERIFICATION_VERIFIED: _VERIFICATION_KIND,
    NotificationType.VERIFICATION_REJECTED: _VERIFICATION_KIND,
}
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
    # The mirror held this status before the change arrived (a status event after the console's
    # own decision, a redelivery): it may be a decision the customer was already told of.
    eligibility_repeat: bool = False
    verification_repeat: bool = False


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
    decisions: Sequence[AccountStatusDecision], *, now: datetime | None = None, savepoint: bool = True
) -> list[list[Notification]]:
    """``account_status_notify`` for a batch of decisions (a fetched batch of status events), in
    a fixed number of statements. Returns the notifications created for each decision, in order;
    a decision repeated within the batch notifies once.

    A decision the customer was already told of is not told again, however late its event comes
    (a redelivery after a subscriber restart): when the mirror already held the status (the
    decision's ``*_repeat``), a notification of the same type for the Account created since the
    customer's last request (eligibility) or upload (ID verification), as the mirror records them
    (with none recorded, any earlier one), means this decision was notified. A status that changes
    the mirror is a new decision, and only the type's dedupe window applies to it.
    ``savepoint``: see ``notifications_create``.
    """
    requests: list[NotificationRequest] = []
    owners: list[int] = []
    repeats: list[bool] = []
    for index, decision in enumerate(decisions):
        for request in _requests(decision):
            requests.append(request)
            owners.append(index)
            repeats.append(
                decision.eligibility_repeat
                if _KINDS[NotificationType(request.type)] == _ELIGIBILITY_KIND
                else decision.verification_repeat
            )
    told = _told_this_round([request for request, repeat in zip(requests, repeats, strict=True) if repeat])
    kept = [
        (request, index)
        for request, index, repeat in zip(requests, owners, repeats, strict=True)
        if not (repeat and told(request))
    ]
    requests = [request for request, _ in kept]
    owners = [index for _, index in kept]
    created = notifications_create(requests=requests, now=now, savepoint=savepoint)
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
            source_id=decision.account_id,
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
            source_id=decision.account_id,
            context=(
                {"reason": decision.rejection_message}
                if verification == IdVerificationStatus.REJECTED
                else {}
            ),
        )


def _told_this_round(requests: Sequence[NotificationRequest]) -> Callable[[NotificationRequest], bool]:
    """Whether a request's decision was notified in the current round (see
    ``account_status_notify_many``): two queries whatever the batch size."""
    if not requests:
        return lambda request: False
    user_ids = {request.user_id for request in requests}
    rounds = {
        user_id: {_ELIGIBILITY_KIND: requested_at, _VERIFICATION_KIND: submitted_at}
        for user_id, requested_at, submitted_at in CustomerProfile.objects.filter(
            user_id__in=user_ids
        ).values_list("user_id", "internet_eligibility_requested_at", "id_verification_submitted_at")
    }
    starts = [start for kinds in rounds.values() for start in kinds.values()]
    earlier = Notification.objects.filter(
        user_id__in=user_ids,
        type__in=list(_KINDS),
        source_id__in={request.source_id for request in requests},
    )
    if starts and None not in starts:
        earlier = earlier.filter(created_at__gte=min(s for s in starts if s is not None))
    latest: dict[tuple[int, str, str | None], datetime] = {}
    for user_id, notification_type, source_id, created_at in earlier.values_list(
        "user_id", "type", "source_id", "created_at"
    ):
        key = (user_id, notification_type, source_id)
        latest[key] = max(created_at, latest.get(key, created_at))

    def told(request: NotificationRequest) -> bool:
        start = rounds.get(request.user_id, {}).get(_KINDS[NotificationType(request.type)])
        created_at = latest.get((request.user_id, NotificationType(request.type), request.source_id))
        # No request or upload recorded: the whole history is one round.
        return created_at is not None and (start is None or created_at >= start)

    return told
