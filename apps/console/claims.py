"""Who works on which queue item: claim, release and (supervisors) assign, each audited.

Claims are the console's own data (``QueueClaim``); they change no customer record and write
nothing to Salesforce. Claiming an item someone else holds is refused (a supervisor reassigns
it instead); releasing is for the holder or a supervisor.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, transaction
from django.db.models import CharField, Exists, OuterRef, QuerySet
from django.db.models.functions import Cast
from django.utils.translation import gettext

from apps.accounts.models import User
from apps.console.groups import AGENTS, SUPERVISORS
from apps.console.models import AgentDecision, DecisionAction, QueueClaim, SubjectType
from apps.console.services import agent_decision_create
from portal.exceptions import ApplicationError, ConflictError

ASSIGN_PERMISSION = "console.assign_queue_item"


def _audit(
    *,
    agent: User,
    customer_id: int | None,
    subject_type: SubjectType,
    subject_id: Any,
    action: DecisionAction,
    before: QueueClaim | None,
    after: QueueClaim | None,
) -> AgentDecision:
    return agent_decision_create(
        agent=agent,
        customer_id=customer_id,
        subject_type=subject_type,
        subject_id=subject_id,
        action=action,
        before={"claimed_by": before.agent_id if before else None},
        after={"claimed_by": after.agent_id if after else None},
    )


def _claim_lock(subject_type: SubjectType, subject_id: Any) -> QueueClaim | None:
    return (
        QueueClaim.objects.select_for_update()
        .filter(subject_type=subject_type, subject_id=str(subject_id))
        .first()
    )


def queue_claim_for(*, subject_type: SubjectType, subject_id: Any) -> QueueClaim | None:
    return (
        QueueClaim.objects.select_related("agent", "assigned_by")
        .filter(subject_type=subject_type, subject_id=str(subject_id))
        .first()
    )


def queue_claims_for(*, subject_type: SubjectType, subject_ids: Iterable[Any]) -> dict[str, QueueClaim]:
    claims = QueueClaim.objects.select_related("agent").filter(
        subject_type=subject_type, subject_id__in=[str(pk) for pk in subject_ids]
    )
    return {claim.subject_id: claim for claim in claims}


def queue_claimed_filter(
    queryset: QuerySet[Any], *, subject_type: SubjectType, agent: User | None, claimed: bool = True
) -> QuerySet[Any]:
    """The items of ``queryset`` claimed by ``agent`` (by anyone when None), or, with
    ``claimed=False``, those nobody has claimed."""
    claims = QueueClaim.objects.filter(
        subject_type=subject_type, subject_id=Cast(OuterRef("pk"), output_field=CharField())
    )
    if agent is not None:
        claims = claims.filter(agent=agent)
    return queryset.filter(Exists(claims)) if claimed else queryset.exclude(Exists(claims))


def queue_item_claim(
    *, agent: User, subject_type: SubjectType, subject_id: Any, customer_id: int | None
) -> QueueClaim:
    """Claim an unclaimed item (claiming one's own again is a no-op)."""
    try:
        with transaction.atomic():
            current = _claim_lock(subject_type, subject_id)
            if current is not None:
                if current.agent_id == agent.pk:
                    return current
                raise ConflictError(
                    gettext("%(agent)s is already working on this item.")
                    % {"agent": current.agent.get_full_name() or current.agent.email},
                    code="already_claimed",
                )
            claim = QueueClaim.objects.create(
                subject_type=subject_type, subject_id=str(subject_id), agent=agent
            )
            _audit(
                agent=agent,
                customer_id=customer_id,
                subject_type=subject_type,
                subject_id=subject_id,
                action=DecisionAction.CLAIM_ITEM,
                before=None,
                after=claim,
            )
            return claim
    except IntegrityError:
        # Another agent claimed it at the same moment.
        raise ConflictError(
            gettext("Someone else has just claimed this item."), code="already_claimed"
        ) from None


def queue_item_release(
    *, agent: User, subject_type: SubjectType, subject_id: Any, customer_id: int | None
) -> None:
    """Release an item: the holder releases their own, a supervisor anyone's."""
    with transaction.atomic():
        current = _claim_lock(subject_type, subject_id)
        if current is None:
            return
        if current.agent_id != agent.pk and not agent.has_perm(ASSIGN_PERMISSION):
            raise PermissionDenied
        current.delete()
        _audit(
            agent=agent,
            customer_id=customer_id,
            subject_type=subject_type,
            subject_id=subject_id,
            action=DecisionAction.RELEASE_ITEM,
            before=current,
            after=None,
        )


def queue_assignees() -> QuerySet[User]:
    """The staff an item can be assigned to: active members of the console's groups."""
    return (
        User.objects.filter(is_active=True, is_staff=True, groups__name__in=(AGENTS, SUPERVISORS))
        .distinct()
        .order_by("last_name", "first_name", "email")
    )


def queue_item_assign(
    *,
    supervisor: User,
    subject_type: SubjectType,
    subject_id: Any,
    customer_id: int | None,
    assignee_id: int,
) -> QueueClaim:
    """A supervisor gives an item to an agent (taking it from whoever held it)."""
    if not supervisor.has_perm(ASSIGN_PERMISSION):
        raise PermissionDenied
    assignee = queue_assignees().filter(pk=assignee_id).first()
    if assignee is None:
        raise ApplicationError(gettext("Choose an agent of the console."), code="invalid_assignee")
    with transaction.atomic():
        current = _claim_lock(subject_type, subject_id)
        before = None
        if current is not None:
            before = QueueClaim(agent_id=current.agent_id)
            current.agent = assignee
            current.assigned_by = supervisor
            current.save(update_fields=["agent", "assigned_by", "claimed_at"])
            claim = current
        else:
            claim = QueueClaim.objects.create(
                subject_type=subject_type, subject_id=str(subject_id), agent=assignee, assigned_by=supervisor
            )
        _audit(
            agent=supervisor,
            customer_id=customer_id,
            subject_type=subject_type,
            subject_id=subject_id,
            action=DecisionAction.ASSIGN_ITEM,
            before=before,
            after=claim,
        )
        return claim
