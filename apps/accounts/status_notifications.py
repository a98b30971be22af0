"""Notifications for final account status decisions, shared by every path that learns of one.

An agent's decision reaches the customer by two paths: the agent console (at once) and the
platform event Salesforce publishes for the same change (seconds later, possibly twice). Both
call ``account_status_notify``; the source id names the decision (Account, kind and outcome), and
an existing notification with that source id created within ``SAME_DECISION_WINDOW`` means the
customer was already told, so the later path adds nothing.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone

from apps.accounts.models import EligibilityStatus, IdVerificationStatus
from apps.notifications.models import Notification, NotificationSource, NotificationType
from apps.notifications.services import notification_create

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


def decision_source_id(account_id: str, kind: str, status: str) -> str:
    """``001…:eligibility:eligible`` — the same on the console and the event path."""
    return f"{account_id}:{kind}:{status}"


@transaction.atomic
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

    Pending and Submitted are not decisions and notify nothing; ``None`` means "this status did
    not change" (the event carries a status field only when it changed).
    """
    now = now or timezone.now()
    created = []
    if eligibility_status in _ELIGIBILITY_TYPES:
        notification_type = _ELIGIBILITY_TYPES[EligibilityStatus(eligibility_status)]
        context = (
            {"offering": offering}
            if eligibility_status == EligibilityStatus.ELIGIBLE
            else {"notes": eligibility_notes}
        )
        created.append(
            _notify_once(
                user_id,
                notification_type,
                decision_source_id(account_id, "eligibility", eligibility_status),
                context,
                now,
            )
        )
    if verification_status in _VERIFICATION_TYPES:
        notification_type = _VERIFICATION_TYPES[IdVerificationStatus(verification_status)]
        context = (
            {"reason": rejection_message} if verification_status == IdVerificationStatus.REJECTED else {}
        )
        created.append(
            _notify_once(
                user_id,
                notification_type,
                decision_source_id(account_id, "verification", verification_status),
                context,
                now,
            )
        )
    return [notification for notification in created if notification is not None]


def _notify_once(
    user_id: int, notification_type: NotificationType, source_id: str, context: dict[str, str], now: datetime
) -> Notification | None:
    already_told = Notification.objects.filter(
        user_id=user_id,
        type=notification_type,
        source_id=source_id,
        created_at__gte=now - SAME_DECISION_WINDOW,
    ).exists()
    if already_told:
        return None
    return notification_create(
        user_id=user_id,
        type=notification_type,
        source=NotificationSource.SALESFORCE,
        source_id=source_id,
        context={key: value for key, value in context.items() if value},
        now=now,
    )
