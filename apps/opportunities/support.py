"""Support cases: customers open tickets, read them with their public comments, and reply.

Which Cases a customer sees:

* support tickets (Type "General Inquiry", Origin "Portal Website"): shown with their details
  and their published comments;
* cancellation requests: shown as status only (no description, no comments);
* eligibility checks and ID verification (Origin "Portal"): internal workflow, never shown; a
  customer asking for one by ID gets 404, as for another customer's Case.

Writes commit the portal row together with ONE outbox entry (one Salesforce Composite call):
the Case (linked to the customer's Account and, when the customer names one of their services,
that service's Opportunity), or the CaseComment (``IsPublished`` true), with the Case's new
status when an agent's reply sets one. The customer sees the row at once, in state "submitting"
until the outbox has written back the Salesforce ID. A ticket's status changes only here and in
``services.case_status_change`` (README, "Who changes a status"): by an agent's reply in the
console, or by an agent in Salesforce (``support_case_apply_salesforce``, called by the sync).

Reads come from the portal DB only and are never cached, so a comment added here, by an agent in
the console or by an agent in Salesforce (picked up by ``integrations.sync_case_comments``) is in
the next read: there is no cache to invalidate.

The category is not a Case field of the org: it heads the Case's Description, which is where
agents read it in Salesforce, and is parsed back from there for the customer's view.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.db.models import Prefetch, Q, QuerySet
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from apps.accounts.models import User
from apps.accounts.selectors import customer_account_id, decision_account_id
from apps.billing.models import WhmcsService
from apps.integrations.outbox import (
    WriteBack,
    account_record_key,
    outbox_enqueue_salesforce,
)
from apps.opportunities.models import (
    Case,
    CaseComment,
    CaseOrigin,
    CasePriority,
    CaseStatus,
    CaseType,
    Opportunity,
)
from apps.opportunities.salesforce import case_comment_create_subrequest, case_create_subrequest
from apps.opportunities.services import case_status_change, customer_lock
from portal.exceptions import ApplicationError, ConflictError
from portal.transitions import Transition, field_values

CASE_MODEL = "opportunities.Case"
COMMENT_MODEL = "opportunities.CaseComment"
SUBJECT_MAX_LENGTH = 255
DESCRIPTION_MAX_LENGTH = 10_000
COMMENT_MAX_LENGTH = 4_000
"""Salesforce's ``CaseComment.CommentBody`` holds at most 4,000 characters."""
DOUBLE_SUBMIT_WINDOW = timedelta(minutes=5)
"""A ticket or comment identical to one the customer sent this recently is the same one sent twice
(a double click without an ``Idempotency-Key``): the earlier one is returned, not a second."""


class SupportCategory(models.TextChoices):
    BILLING = "billing", _("Billing")
    INTERNET = "internet", _("Internet")
    SIM = "sim", _("SIM")
    VPN = "vpn", _("VPN")
    ACCOUNT = "account", _("Account")
    OTHER = "other", _("Other")


CATEGORY_AGENT_LABELS: dict[str, str] = {
    SupportCategory.BILLING: "Billing",
    SupportCategory.INTERNET: "Internet",
    SupportCategory.SIM: "SIM",
    SupportCategory.VPN: "VPN",
    SupportCategory.ACCOUNT: "Account",
    SupportCategory.OTHER: "Other",
}
"""The category as agents read it in the Case Description (English, whatever the customer's
language), and as it is parsed back."""
_CATEGORY_BY_AGENT_LABEL = {label: value for value, label in CATEGORY_AGENT_LABELS.items()}


class CaseKind:
    SUPPORT_TICKET = "support_ticket"
    CANCELLATION_REQUEST = "cancellation_request"
    CHOICES = (SUPPORT_TICKET, CANCELLATION_REQUEST)


SUBMITTING = "submitting"
"""The state of a Case or comment the outbox has not delivered yet."""

CASE_STATES = (SUBMITTING, *CaseStatus.values)
STATE_LABELS = {
    SUBMITTING: _("Submitting"),
    CaseStatus.NEW: _("Received"),
    CaseStatus.WORKING: _("In progress"),
    CaseStatus.ESCALATED: _("In progress"),
    CaseStatus.CLOSED: _("Closed"),
}
OPEN_STATUSES = (CaseStatus.NEW, CaseStatus.WORKING, CaseStatus.ESCALATED)
SUPPORT_REPLY_STATUSES = (CaseStatus.WORKING, CaseStatus.ESCALATED, CaseStatus.CLOSED)
"""The statuses an agent may set with a reply ("" leaves the status as it is)."""


def support_ticket_q(prefix: str = "") -> Q:
    """The Cases that are customer support tickets (Origin "Portal Website")."""
    return Q(**{f"{prefix}type": CaseType.GENERAL_INQUIRY, f"{prefix}origin": CaseOrigin.PORTAL_WEBSITE})


def customer_visible_case_q() -> Q:
    """Support tickets, and cancellation requests (status only); never the internal workflows."""
    return support_ticket_q() | Q(type=CaseType.CANCELLATION_REQUEST)


def is_support_ticket(case: Case) -> bool:
    return case.type == CaseType.GENERAL_INQUIRY and case.origin == CaseOrigin.PORTAL_WEBSITE


# --- The Description header -----------------------------------------------------------------

_DESCRIPTION_HEADER = re.compile(
    r"\ACategory: (?P<category>[^\n]+)\n"
    r"(?:Related service: [^\n]*\(WHMCS service #(?P<whmcs_id>\d+)\)\n)?"
    r"\n(?P<text>.*)\Z",
    re.DOTALL,
)


@dataclass(frozen=True)
class SupportDescription:
    category: str
    whmcs_service_id: int | None
    text: str


def support_description_compose(*, category: str, text: str, service: WhmcsService | None) -> str:
    """The Case Description agents read: the category, the related service, the customer's text."""
    lines = [f"Category: {CATEGORY_AGENT_LABELS[category]}"]
    if service is not None:
        lines.append(f"Related service: {service.name} (WHMCS service #{service.whmcs_id})")
    return "\n".join([*lines, "", text])


def support_description_parse(description: str) -> SupportDescription:
    """The parts ``support_description_compose`` joined; a Description without the header (a
    ticket filed some other way) is all text, category "other"."""
    match = _DESCRIPTION_HEADER.match(description)
    category = _CATEGORY_BY_AGENT_LABEL.get(match["category"].strip()) if match else None
    if match is None or category is None:
        return SupportDescription(category=SupportCategory.OTHER, whmcs_service_id=None, text=description)
    whmcs_id = match["whmcs_id"]
    return SupportDescription(
        category=category, whmcs_service_id=int(whmcs_id) if whmcs_id else None, text=match["text"]
    )


# --- Reads ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class RelatedService:
    id: int
    name: str


@dataclass(frozen=True)
class SupportCommentView:
    id: int
    body: str
    from_agent: bool
    author_name: str
    submitting: bool
    created_at: datetime


@dataclass(frozen=True)
class SupportCaseView:
    """What the customer sees of one Case; for cancellation requests only the status part."""

    id: int
    kind: str
    case_number: str
    subject: str
    category: str | None
    description: str | None
    related_service: RelatedService | None
    state: str
    state_label: str
    created_at: datetime
    updated_at: datetime
    comments: list[SupportCommentView]


def case_state(case: Case) -> str:
    """The Case's state for the customer: "submitting" until Salesforce has it, then its status."""
    return case.status if case.salesforce_id else SUBMITTING


def support_case_list(*, user: User) -> QuerySet[Case]:
    """The customer's visible Cases, newest first, with their Opportunity."""
    return (
        Case.objects.filter(customer_visible_case_q(), user=user)
        .select_related("opportunity")
        .order_by("-created_at", "-pk")
    )


def support_case_get(*, user: User, case_id: int) -> Case | None:
    """One of the customer's visible Cases with its public comments (oldest first), or None."""
    public = CaseComment.objects.filter(is_public=True).order_by("created_at", "pk")
    return (
        support_case_list(user=user)
        .prefetch_related(Prefetch("comments", queryset=public, to_attr="public_comments"))
        .filter(pk=case_id)
        .first()
    )


def comment_view(comment: CaseComment) -> SupportCommentView:
    author_name = comment.author_name
    if comment.from_agent and not author_name:
        author_name = gettext("SonixNet Support")
    return SupportCommentView(
        id=comment.pk,
        body=comment.body,
        from_agent=comment.from_agent,
        author_name=author_name,
        submitting=not comment.salesforce_id,
        created_at=comment.created_at,
    )


def _related_whmcs_id(case: Case, description: SupportDescription | None) -> int | None:
    """The WHMCS service a ticket names, or the one a cancellation request's Opportunity is for."""
    if description is not None:
        return description.whmcs_service_id
    opportunity = case.opportunity if case.opportunity_id else None
    return opportunity.whmcs_service_id if opportunity is not None else None


def support_case_views(*, user: User, cases: Sequence[Case]) -> list[SupportCaseView]:
    """The customer's view of each Case (one query for the related services of them all).

    Comments are included when the Cases were read by ``support_case_get`` (``public_comments``).
    """
    descriptions = {
        case.pk: support_description_parse(case.description) if is_support_ticket(case) else None
        for case in cases
    }
    whmcs_ids = {case.pk: _related_whmcs_id(case, descriptions[case.pk]) for case in cases}
    services = {
        whmcs_id: RelatedService(id=pk, name=name)
        for pk, whmcs_id, name in WhmcsService.objects.filter(
            user=user, whmcs_id__in={value for value in whmcs_ids.values() if value is not None}
        ).values_list("pk", "whmcs_id", "name")
    }

    views: list[SupportCaseView] = []
    for case in cases:
        state = case_state(case)
        description = descriptions[case.pk]
        whmcs_id = whmcs_ids[case.pk]
        # Cancellation requests are status only: never their comments.
        comments = getattr(case, "public_comments", []) if description is not None else []
        views.append(
            SupportCaseView(
                id=case.pk,
                kind=CaseKind.SUPPORT_TICKET if description is not None else CaseKind.CANCELLATION_REQUEST,
                case_number=case.case_number,
                subject=case.subject,
                category=description.category if description is not None else None,
                description=description.text if description is not None else None,
                related_service=services.get(whmcs_id) if whmcs_id is not None else None,
                state=state,
                state_label=str(STATE_LABELS[state]),
                created_at=case.created_at,
                updated_at=case.updated_at,
                comments=[comment_view(comment) for comment in comments],
            )
        )
    return views


def support_case_view(*, user: User, case: Case) -> SupportCaseView:
    return support_case_views(user=user, cases=[case])[0]


# --- Writes ---------------------------------------------------------------------------------


def support_case_create(
    *,
    user: User,
    subject: str,
    description: str,
    category: str,
    service_id: int | None = None,
) -> tuple[Case, bool]:
    """Open a support ticket: a Case of type General Inquiry, origin Portal Website. Returns the
    Case and whether it is new: the same ticket opened within ``DOUBLE_SUBMIT_WINDOW`` is that one.

    ``service_id`` is one of the customer's ``WhmcsService`` pks (another customer's is refused
    like an unknown one); the Case is linked to that service's Opportunity when the portal knows
    it (by WHMCS service ID). Salesforce gets the Case through ONE outbox entry.
    """
    subject, description = subject.strip(), description.strip()
    if category not in SupportCategory.values:
        raise ValidationError({"category": [gettext("Choose a category.")]})
    service = None
    if service_id is not None:
        service = WhmcsService.objects.filter(user=user, pk=service_id).first()
        if service is None:
            raise ValidationError({"service_id": [gettext("This service is not one of yours.")]})
    full_description = support_description_compose(category=category, text=description, service=service)
    with transaction.atomic():
        account_id = customer_account_id(user_id=user.pk)
        customer_lock(user=user)  # the second of a double submit waits, then finds the first
        earlier = (
            Case.objects.filter(
                support_ticket_q(),
                user=user,
                subject=subject,
                description=full_description,
                created_at__gte=timezone.now() - DOUBLE_SUBMIT_WINDOW,
            )
            .order_by("-created_at", "-pk")
            .first()
        )
        if earlier is not None:
            return earlier, False
        opportunity = None
        if service is not None:
            opportunity = (
                Opportunity.objects.filter(user=user, whmcs_service_id=service.whmcs_id)
                .order_by("-created_at", "-pk")
                .first()
            )
        case = Case(
            user=user,
            opportunity=opportunity,
            type=CaseType.GENERAL_INQUIRY,
            subject=subject,
            description=full_description,
            status=CaseStatus.NEW,
            origin=CaseOrigin.PORTAL_WEBSITE,
            priority=CasePriority.MEDIUM,
        )
        case.full_clean(exclude=["user", "opportunity", "salesforce_id"])
        case.save(force_insert=True)
        outbox_enqueue_salesforce(
            operation="support.case_create",
            record_key=account_record_key(account_id),
            subrequests=[case_create_subrequest(case, account_id=account_id, opportunity=opportunity)],
            write_backs=[WriteBack("case", CASE_MODEL, case.pk)],
        )
    # The outbox may have delivered on commit already (an eager worker): report what is true now.
    case.refresh_from_db()
    return case, True


def support_case_comment_add(*, user: User, case_id: int, body: str) -> tuple[CaseComment, bool]:
    """The customer's reply on one of their support tickets, shown at once and sent to Salesforce
    as a published CaseComment (ONE outbox entry; it waits for the Case if that is still on its
    way). Another customer's Case and internal Cases are "not found"; cancellation requests take
    no comments; a closed ticket takes none either (the customer opens a new one).

    Returns the comment and whether it is new: the same reply within ``DOUBLE_SUBMIT_WINDOW`` is
    that one."""
    body = body.strip()
    if not body:
        raise ValidationError({"body": [gettext("Write a comment.")]})
    with transaction.atomic():
        case = (
            Case.objects.select_for_update().filter(customer_visible_case_q(), user=user, pk=case_id).first()
        )
        if case is None:
            raise Http404("No such case.")
        if not is_support_ticket(case):
            raise ApplicationError(
                gettext("Comments are not available for this request."), code="comments_not_available"
            )
        if case.status == CaseStatus.CLOSED:
            raise ConflictError(
                gettext("This case is closed. Please open a new case if you need more help."),
                code="case_closed",
            )
        earlier = (
            case.comments.filter(
                author=user,
                from_agent=False,
                body=body,
                created_at__gte=timezone.now() - DOUBLE_SUBMIT_WINDOW,
            )
            .order_by("-created_at", "-pk")
            .first()
        )
        if earlier is not None:
            return earlier, False
        account_id = customer_account_id(user_id=user.pk)
        comment = CaseComment(
            case=case,
            body=body,
            is_public=True,
            author=user,
            author_name=user.get_full_name(),
            from_agent=False,
        )
        comment.full_clean(exclude=["case", "author", "salesforce_id"])
        comment.save(force_insert=True)
        case.save(update_fields=["updated_at"])
        outbox_enqueue_salesforce(
            operation="support.comment_add",
            record_key=account_record_key(account_id),
            subrequests=[case_comment_create_subrequest(case=case, comment=comment)],
            write_backs=[WriteBack("comment", COMMENT_MODEL, comment.pk)],
        )
    comment.refresh_from_db()
    return comment, True


def support_case_reply(*, agent: User, case_id: int, body: str, status: str = "") -> Transition:
    """An agent answers a customer's support ticket: a published comment from the agent, shown to
    the customer at once, and optionally a new Case status (e.g. Closed with the final answer).

    ONE Salesforce call (a Composite request) creates the CaseComment (``IsPublished`` true) and,
    when the status changes, updates the Case; both wait for the Case if it is still on its way.
    No notification type exists for replies, so the customer is not notified; they see the reply
    on the ticket. The transition's ``after`` names the new comment (``comment_id``).
    """
    body = body.strip()
    if not body:
        raise ApplicationError(gettext("Write a reply."), code="reply_required")
    if len(body) > COMMENT_MAX_LENGTH:
        raise ApplicationError(
            gettext("A reply can be at most %(limit)d characters.") % {"limit": COMMENT_MAX_LENGTH},
            code="reply_too_long",
        )
    if status and status not in SUPPORT_REPLY_STATUSES:
        raise ApplicationError(gettext("Choose a valid status."), code="invalid_status")
    with transaction.atomic():
        case = Case.objects.select_for_update().filter(support_ticket_q(), pk=case_id).first()
        if case is None:
            raise ApplicationError(gettext("This is not a support case."), code="not_a_support_case")
        account_id = decision_account_id(user_id=case.user_id)
        before = field_values(case, ("status",))
        comment = CaseComment.objects.create(
            case=case,
            body=body,
            is_public=True,
            author=agent,
            author_name=agent.get_short_name(),
            from_agent=True,
        )
        subrequests = [case_comment_create_subrequest(case=case, comment=comment)]
        status_update = (
            case_status_change(case=case, status=status) if status and status != case.status else None
        )
        if status_update is None:
            case.save(update_fields=["updated_at"])
        else:
            subrequests.append(status_update)
        entry = outbox_enqueue_salesforce(
            operation="console.support_case.reply",
            record_key=account_record_key(account_id),
            subrequests=subrequests,
            write_backs=[WriteBack("comment", COMMENT_MODEL, comment.pk)],
        )
        return Transition(
            user_id=case.user_id,
            before=before,
            after={**field_values(case, ("status",)), "comment_id": comment.pk},
            outbox_entry=entry,
        )


def support_case_apply_salesforce(
    *, case: Case, status: str, case_number: str, modified_at: datetime | None, now: datetime
) -> bool:
    """Mirror what Salesforce holds of a support ticket (an agent worked it there): its status
    (``""`` keeps the portal's, e.g. while the portal still owes Salesforce a change), its case
    number and ``SystemModstamp``. Values older than the mirror's are ignored. Returns whether a
    mirrored value changed. Call inside the sync's transaction with ``case`` locked."""
    if case.salesforce_modified_at and modified_at and modified_at < case.salesforce_modified_at:
        return False
    changed: dict[str, Any] = {"salesforce_modified_at": modified_at, "synced_at": now}
    if case_number:
        changed["case_number"] = case_number
    if status:
        changed["status"] = status
    differs = any(getattr(case, name) != value for name, value in changed.items() if name != "synced_at")
    Case.objects.filter(pk=case.pk).update(**changed)
    return differs
