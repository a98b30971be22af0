"""Writes to Opportunities and Cases: order matching, the cancellation process, Case statuses.

This app owns every status of its records (README, "Who changes a status"): the Opportunity's
stage and cancellation fields, and the Case's status. The customer API, the agent console,
fulfillment and the Salesforce sync all change them through the functions here (support tickets
in ``support``). The portal row changes and the ONE Salesforce Composite request that carries the
change (an outbox entry) commit together; nothing here calls Salesforce. Salesforce field and
picklist names are in ``apps/integrations/salesforce/field_map.py``.

Matching runs under a row lock on the customer (their ``CustomerProfile``), the portal's
equivalent of a distributed ``opportunity:{accountId}:{productType}`` lock, and the partial
unique constraint ``opportunity_one_open_per_product_type`` makes a second open Opportunity for
one customer and product type impossible even if a writer forgets the lock.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _

from apps.accounts.models import CustomerProfile, User
from apps.accounts.selectors import customer_account_id, decision_account_id
from apps.billing.models import WhmcsService
from apps.catalog.models import ProductType
from apps.integrations.models import OutboxEntry
from apps.integrations.outbox import (
    PortalRef,
    WriteBack,
    account_record_key,
    outbox_enqueue_salesforce,
    salesforce_id_or_ref,
)
from apps.integrations.salesforce.gateway import CompositeSubrequest
from apps.notifications.models import NotificationSource, NotificationType
from apps.notifications.services import notification_create
from apps.opportunities.models import (
    APPLICATION_STAGE_AT_CREATION,
    OPEN_STAGES,
    CancellationNotice,
    Case,
    CaseOrigin,
    CasePriority,
    CaseStatus,
    CaseType,
    CommodityType,
    LineReturnStatus,
    Opportunity,
    OpportunitySource,
    OpportunityStage,
)
from apps.opportunities.salesforce import (
    case_create_subrequest,
    case_status_update_subrequest,
    opportunity_activated_subrequest,
    opportunity_create_subrequest,
    opportunity_stage_subrequest,
    opportunity_update_subrequest,
)
from apps.opportunities.schedule import CANCELLATION_CUTOFF_DAY as CANCELLATION_CUTOFF_DAY
from apps.opportunities.schedule import TOKYO as TOKYO
from apps.opportunities.schedule import CancellationSchedule, MonthNotOffered
from apps.opportunities.schedule import cancellation_schedule as cancellation_schedule
from apps.opportunities.selectors import (
    cancellation_refusal,
    cancellation_scheduled_at,
    cancellation_whmcs_service,
)
from portal.exceptions import ApplicationError, ConflictError
from portal.transitions import Transition, field_values

OPPORTUNITY_MODEL = "opportunities.Opportunity"
CASE_MODEL = "opportunities.Case"

# Which existing Opportunity an order without an explicit one may join (the matching rules below).
REUSABLE_STAGES: dict[str, tuple[str, ...]] = {
    ProductType.INTERNET: (OpportunityStage.INTRODUCTION, OpportunityStage.READY),
    ProductType.SIM: tuple(OPEN_STAGES),
    ProductType.VPN: (),  # always a new Opportunity
}
COMMODITY_TYPES: dict[str, str] = {
    ProductType.INTERNET: CommodityType.PERSONAL_INTERNET,
    ProductType.SIM: CommodityType.SIM,
    ProductType.VPN: CommodityType.VPN,
}
# Opportunity names are read by agents in Salesforce: English whatever the customer's language.
PRODUCT_TYPE_NAMES: dict[str, str] = {
    ProductType.INTERNET: "Internet",
    ProductType.SIM: "SIM",
    ProductType.VPN: "VPN",
}


def clock_now() -> datetime:
    """The current time; the one seam tests replace to freeze "now" for the 25th rule."""
    return timezone.now()


def customer_lock(*, user: User) -> CustomerProfile:
    """Lock the customer's profile row until the surrounding transaction ends.

    Every write that decides from the customer's Opportunities or orders (matching, idempotent
    order placement, cancellation) takes this lock first, so concurrent requests of one customer
    run one after the other. Raises ``ApplicationError`` for a user without a customer profile.
    """
    profile = CustomerProfile.objects.select_for_update().filter(user=user).first()
    if profile is None:
        raise ApplicationError(
            _("Your customer account is not set up. Please contact support."), code="customer_profile_missing"
        )
    return profile


# --- Order placement ------------------------------------------------------------------------


@dataclass(frozen=True)
class OrderOpportunity:
    """The Opportunity an order belongs to, and how the order's Composite request reaches it.

    ``subrequest`` creates the Opportunity or moves it to Post Processing (reference id
    ``reference_id``); ``order_reference`` is what the Order's ``OpportunityId`` must be in the
    same Composite request: ``@{<reference_id>.id}`` for a new one, else its ID (or a
    ``portal_ref`` while an earlier outbox entry has not delivered it yet).
    """

    opportunity: Opportunity
    created: bool
    subrequest: CompositeSubrequest
    order_reference: str | PortalRef
    write_backs: tuple[WriteBack, ...]


def opportunity_match_for_order(
    *,
    user: User,
    account_id: str,
    product_type: str,
    opportunity_id: int | None = None,
    today: date,
    reference_id: str = "opportunity",
) -> OrderOpportunity:
    """Find or create the Opportunity for a new order and move it to Post Processing.

    Rules:

    * an explicit ``opportunity_id`` is used as is; it must be the customer's, open and of the
      order's product type (else a validation error on ``opportunity_id``);
    * internet: the open Introduction/Ready Opportunity (from the eligibility check), else new;
    * SIM: any open Opportunity (e.g. the one checkout registration opened), else new;
    * VPN: always new.

    An internet order while another internet order's Opportunity is still in Post Processing is
    refused (409 ``order_in_progress``): a new Opportunity would be a second open one.

    Call inside the caller's transaction; the customer lock is taken here (and held until the
    caller commits) so two concurrent orders cannot both create an Opportunity.
    """
    customer_lock(user=user)
    opportunity: Opportunity | None
    if opportunity_id is not None:
        opportunity = (
            Opportunity.objects.select_for_update()
            .filter(pk=opportunity_id, user=user, product_type=product_type, stage__in=OPEN_STAGES)
            .first()
        )
        if opportunity is None:
            raise ValidationError(
                {"opportunity_id": _("This opportunity does not exist, is closed or is for another service.")}
            )
    else:
        opportunity = (
            Opportunity.objects.select_for_update()
            .filter(user=user, product_type=product_type, stage__in=REUSABLE_STAGES[product_type])
            .order_by("-created_at", "-pk")
            .first()
        )

    if opportunity is not None:
        if opportunity.stage != OpportunityStage.POST_PROCESSING:
            opportunity.stage = OpportunityStage.POST_PROCESSING
            opportunity.save(update_fields=["stage", "updated_at"])
        return OrderOpportunity(
            opportunity=opportunity,
            created=False,
            subrequest=opportunity_update_subrequest(opportunity, "stage", reference_id=reference_id),
            order_reference=salesforce_id_or_ref(opportunity),
            write_backs=(),
        )

    if (
        product_type != ProductType.VPN
        and Opportunity.objects.filter(user=user, product_type=product_type, stage__in=OPEN_STAGES).exists()
    ):
        raise ConflictError(
            _("An order for this service is already being processed. Please wait until it is complete."),
            code="order_in_progress",
        )
    opportunity = _opportunity_open(
        user=user, product_type=product_type, stage=OpportunityStage.POST_PROCESSING, close_date=today
    )
    return OrderOpportunity(
        opportunity=opportunity,
        created=True,
        subrequest=opportunity_create_subrequest(
            opportunity, account_id=account_id, reference_id=reference_id
        ),
        order_reference=f"@{{{reference_id}.id}}",
        write_backs=(WriteBack(reference_id, OPPORTUNITY_MODEL, opportunity.pk),),
    )


@dataclass(frozen=True)
class OpenedOpportunity:
    """A new Opportunity, the Composite step creating it in Salesforce and the write-back of the
    ID Salesforce gives it."""

    opportunity: Opportunity
    subrequest: CompositeSubrequest
    write_back: WriteBack


def sim_opportunity_open_for_registration(
    *, user: User, account_id: str, today: date, reference_id: str = "opportunity"
) -> OpenedOpportunity:
    """A customer registering at a SIM checkout gets their SIM Opportunity at once, in Post
    Processing (flow review: the portal creates Opportunities starting at Post Processing); the
    order they place next finds it (SIM: "open or new").

    Call inside the registration's transaction, whose outbox entry carries ``subrequest``.
    """
    opportunity = _opportunity_open(
        user=user, product_type=ProductType.SIM, stage=OpportunityStage.POST_PROCESSING, close_date=today
    )
    return OpenedOpportunity(
        opportunity=opportunity,
        subrequest=opportunity_create_subrequest(
            opportunity, account_id=account_id, reference_id=reference_id
        ),
        write_back=WriteBack(reference_id, OPPORTUNITY_MODEL, opportunity.pk),
    )


def _opportunity_open(
    *,
    user: User,
    product_type: str,
    stage: str,
    close_date: date,
    source: str = OpportunitySource.ORDER_PLACEMENT,
) -> Opportunity:
    """A new Opportunity for the customer's order of ``product_type``, named for the agents."""
    name = f"{user.last_name} {user.first_name}".strip() or user.email
    opportunity = Opportunity(
        user=user,
        name=f"{name} - {PRODUCT_TYPE_NAMES[product_type]}"[:255],
        product_type=product_type,
        stage=stage,
        commodity_type=COMMODITY_TYPES[product_type],
        application_stage=APPLICATION_STAGE_AT_CREATION,
        source=source,
        close_date=close_date,
    )
    opportunity.full_clean(exclude=["user"], validate_constraints=False)
    opportunity.save(force_insert=True)
    return opportunity


@dataclass(frozen=True)
class EligibilityOpportunity:
    """The internet Opportunity an eligibility check belongs to: ``subrequest`` creates it or
    moves it back to Introduction (reference ``opportunity``; None when nothing changes), and
    ``case_reference`` is what the eligibility Case's ``OpportunityId`` must be in the same
    Composite request."""

    opportunity: Opportunity
    subrequest: CompositeSubrequest | None
    case_reference: str | PortalRef
    write_backs: tuple[WriteBack, ...]


def internet_opportunity_for_eligibility(
    *, user: User, account_id: str, today: date
) -> EligibilityOpportunity:
    """The customer asks for an internet eligibility check: the internet Opportunity it belongs to.

    The seeds' data-flow table opens the internet Opportunity at the eligibility request, the
    field reference has the portal set the eligibility Case's ``OpportunityId``, and the agents'
    checklist reads it there (README, "Salesforce decisions"). So: the customer's open internet
    Opportunity is used (a Ready one from an earlier check goes back to Introduction: the new
    address is not checked yet), else a new one is created in Introduction with the source
    "Portal - Internet Eligibility Request". The order placed later joins it (internet matching).

    Call inside the request's transaction; the customer lock is taken here.
    """
    customer_lock(user=user)
    opportunity = (
        Opportunity.objects.select_for_update()
        .filter(user=user, product_type=ProductType.INTERNET, stage__in=OPEN_STAGES)
        .order_by("-created_at", "-pk")
        .first()
    )
    if opportunity is not None:
        subrequest = None
        if opportunity.stage == OpportunityStage.READY:
            opportunity.stage = OpportunityStage.INTRODUCTION
            opportunity.save(update_fields=["stage", "updated_at"])
            subrequest = opportunity_update_subrequest(opportunity, "stage")
        return EligibilityOpportunity(
            opportunity=opportunity,
            subrequest=subrequest,
            case_reference=salesforce_id_or_ref(opportunity),
            write_backs=(),
        )
    opportunity = _opportunity_open(
        user=user,
        product_type=ProductType.INTERNET,
        stage=OpportunityStage.INTRODUCTION,
        close_date=today,
        source=OpportunitySource.ELIGIBILITY_REQUEST,
    )
    return EligibilityOpportunity(
        opportunity=opportunity,
        subrequest=opportunity_create_subrequest(opportunity, account_id=account_id),
        case_reference="@{opportunity.id}",
        write_backs=(WriteBack("opportunity", OPPORTUNITY_MODEL, opportunity.pk),),
    )


def opportunity_eligibility_decide(*, case: Case | None, eligible: bool) -> CompositeSubrequest | None:
    """The eligibility decision moves the check's Opportunity: Ready when eligible, Void when not
    (the seeds' rule). Only an Opportunity still before the order (Introduction or Ready) moves;
    one an order already took on is left alone.

    ``case`` is the eligibility Case (its Opportunity is the one the request linked). Call inside
    the decision's transaction; returns the Opportunity update for the caller's Composite request
    (reference ``opportunity``), or None when nothing changes.
    """
    if case is None or case.opportunity_id is None:
        return None
    opportunity = Opportunity.objects.select_for_update().get(pk=case.opportunity_id)
    stage = OpportunityStage.READY if eligible else OpportunityStage.VOID
    if (
        opportunity.stage not in (OpportunityStage.INTRODUCTION, OpportunityStage.READY)
        or opportunity.stage == stage
    ):
        return None
    opportunity.stage = stage
    opportunity.save(update_fields=["stage", "updated_at"])
    return opportunity_update_subrequest(opportunity, "stage")


# --- Cancellation ---------------------------------------------------------------------------


@dataclass(frozen=True)
class CancellationRequest:
    service: WhmcsService
    opportunity: Opportunity
    case: Case
    schedule: CancellationSchedule

    @property
    def case_submitted(self) -> bool:
        """Whether Salesforce already has the Case (False while the outbox entry is queued)."""
        return bool(self.case.salesforce_id)


def subscription_cancellation_request(
    *,
    user: User,
    service_id: int,
    comments: str = "",
    cancellation_month: str | None = None,
    now: datetime | None = None,
) -> CancellationRequest:
    """Request cancellation of one of the customer's internet or SIM services.

    ``service_id`` is the portal's ``WhmcsService`` pk; another customer's service raises
    ``Http404``. The service must be Active and its Opportunity (found by the WHMCS service ID)
    Active; a request while one is in progress raises ``ConflictError``.

    In one transaction: the Opportunity moves to △Cancelling with the cancellation notice and
    the scheduled date (internet: plus line return "NotYet"; SIM: the SIM fields), a
    Cancellation Request Case records the customer's comments, ONE outbox entry carries both to
    Salesforce (a Composite request: create Case, update Opportunity), and the customer gets a
    CANCELLATION_SCHEDULED notification.

    ``cancellation_month`` (``YYYY-MM``) is the month the service ends, one of those the 25th
    rule offers now (``schedule.cancellation_schedules``); None means the earliest. Another
    month raises ``ApplicationError`` ``cancellation_month_not_offered`` with the offered months.
    """
    now = now or clock_now()
    comments = comments.strip()
    with transaction.atomic():
        # Ownership first: someone else's service is "not found" whatever else is wrong.
        service = WhmcsService.objects.filter(user=user, pk=service_id).first()
        if service is None:
            raise Http404("No such service.")
        try:
            schedule = cancellation_schedule(requested_at=now, month=cancellation_month)
        except MonthNotOffered as refused:
            raise ApplicationError(
                _("Choose one of the cancellation months offered."),
                code="cancellation_month_not_offered",
                extra={"offered_months": refused.offered},
            ) from None
        customer_lock(user=user)
        opportunity = (
            Opportunity.objects.select_for_update()
            .filter(user=user, whmcs_service_id=service.whmcs_id)
            .order_by("-created_at", "-pk")
            .first()
        )
        if opportunity is not None and opportunity.stage == OpportunityStage.CANCELLING:
            raise ConflictError(
                _("Cancellation of this service has already been requested."),
                code="cancellation_already_requested",
            )
        if refusal := cancellation_refusal(service=service, opportunity=opportunity):
            raise refusal
        assert opportunity is not None  # refused above when missing
        account_id = customer_account_id(user_id=user.pk)

        opportunity.stage = OpportunityStage.CANCELLING
        if service.product_type == ProductType.SIM:
            opportunity.sim_cancellation_notice = CancellationNotice.GIVEN
            opportunity.sim_scheduled_cancellation_at = schedule.scheduled_at
            changed: tuple[str, ...] = ("sim_cancellation_notice", "sim_scheduled_cancellation_at")
        else:
            opportunity.cancellation_notice = CancellationNotice.GIVEN
            opportunity.scheduled_cancellation_at = schedule.scheduled_at
            opportunity.line_return_status = LineReturnStatus.NOT_YET
            changed = ("cancellation_notice", "scheduled_cancellation_at", "line_return_status")
        opportunity.save(update_fields=["stage", *changed, "updated_at"])

        case = Case(
            user=user,
            opportunity=opportunity,
            type=CaseType.CANCELLATION_REQUEST,
            subject=f"Cancellation Request - {service.name}"[:255],
            description=_case_description(service=service, comments=comments, schedule=schedule),
            status=CaseStatus.NEW,
            origin=CaseOrigin.PORTAL,
            priority=CasePriority.MEDIUM,
        )
        case.full_clean(exclude=["user", "opportunity"])
        case.save(force_insert=True)

        outbox_enqueue_salesforce(
            operation="opportunity.cancellation_request",
            record_key=account_record_key(account_id),
            subrequests=[
                case_create_subrequest(case, account_id=account_id, opportunity=opportunity),
                opportunity_update_subrequest(opportunity, "stage", *changed),
            ],
            write_backs=[WriteBack("case", CASE_MODEL, case.pk)],
        )
        notification_create(
            user_id=user.pk,
            type=NotificationType.CANCELLATION_SCHEDULED,
            source=NotificationSource.PORTAL,
            source_id=str(service.whmcs_id),
            context={"service_name": service.name, "scheduled_date": schedule.scheduled_for},
            now=now,
        )
    # The outbox may have delivered on commit already (an eager worker): report what is true now.
    case.refresh_from_db(fields=["salesforce_id"])
    return CancellationRequest(service=service, opportunity=opportunity, case=case, schedule=schedule)


def _case_description(*, service: WhmcsService, comments: str, schedule: CancellationSchedule) -> str:
    """The Case text an agent reads (in English, like every agent-facing Salesforce text)."""
    requested = schedule.requested_at.astimezone(TOKYO).strftime("%Y-%m-%d %H:%M")
    return "\n".join(
        [
            "Cancellation requested through the customer portal.",
            f"Service: {service.name}",
            f"WHMCS service ID: {service.whmcs_id}",
            f"Requested at: {requested} JST",
            f"Cancellation month: {schedule.cancellation_month}",
            f"Scheduled cancellation: {schedule.scheduled_for.isoformat()} 23:59:59 JST",
            "",
            "Customer comments:",
            comments or "(none)",
        ]
    )


# --- Cancellation: the agent's steps ------------------------------------------------------

LINE_RETURN_DONE = (LineReturnStatus.RETURNED_1, LineReturnStatus.RETURNED_2)
"""The internet equipment is back: the cancellation may be completed."""


@dataclass(frozen=True)
class CancellationReadiness:
    ready: bool
    reasons: tuple[str, ...]


def cancellation_readiness(*, opportunity: Opportunity, now: datetime | None = None) -> CancellationReadiness:
    """Whether the cancellation may be completed: the scheduled date (Japan) has come, and for
    internet the equipment is back (Returned1 or Returned2). ``reasons`` says what is missing."""
    now = now or timezone.now()
    reasons: list[str] = []
    scheduled_at = cancellation_scheduled_at(opportunity)
    if scheduled_at is None:
        reasons.append(_("No scheduled cancellation date is set."))
    elif now.astimezone(TOKYO).date() < scheduled_at.astimezone(TOKYO).date():
        reasons.append(
            _("The scheduled cancellation date (%(date)s) has not come yet.")
            % {"date": scheduled_at.astimezone(TOKYO).date().isoformat()}
        )
    if (
        opportunity.product_type == ProductType.INTERNET
        and opportunity.line_return_status not in LINE_RETURN_DONE
    ):
        reasons.append(_("The equipment has not been returned yet (line return status)."))
    return CancellationReadiness(ready=not reasons, reasons=tuple(reasons))


def _cancelling_opportunity(opportunity_id: int) -> Opportunity:
    opportunity = Opportunity.objects.select_for_update().get(pk=opportunity_id)
    if opportunity.stage != OpportunityStage.CANCELLING:
        raise ConflictError(
            _("This service is not being cancelled (its stage is %(stage)s).")
            % {"stage": opportunity.get_stage_display()},
            code="already_decided",
        )
    return opportunity


def _opportunity_update_enqueue(*, opportunity: Opportunity, operation: str, attribute: str) -> OutboxEntry:
    """ONE Salesforce call sending the row's ``attribute`` to its Opportunity."""
    return outbox_enqueue_salesforce(
        operation=operation,
        record_key=account_record_key(decision_account_id(user_id=opportunity.user_id)),
        subrequests=[opportunity_update_subrequest(opportunity, attribute)],
    )


def cancellation_line_return_update(*, opportunity_id: int, line_return_status: str) -> Transition:
    """An agent tracks the return of the internet equipment (ONU): NotYet → SentKit →
    Returned1/Returned2, on the Opportunity being cancelled."""
    if line_return_status not in LineReturnStatus.values or not line_return_status:
        raise ApplicationError(_("Choose a line return status."), code="line_return_required")
    with transaction.atomic():
        opportunity = _cancelling_opportunity(opportunity_id)
        if opportunity.product_type != ProductType.INTERNET:
            raise ApplicationError(
                _("Only internet services have equipment to return."), code="no_line_return"
            )
        if opportunity.line_return_status == line_return_status:
            raise ConflictError(_("The line return status is already that."), code="unchanged")
        before = field_values(opportunity, ("line_return_status",))
        opportunity.line_return_status = line_return_status
        opportunity.save(update_fields=["line_return_status", "updated_at"])
        entry = _opportunity_update_enqueue(
            opportunity=opportunity,
            operation="console.cancellation.line_return",
            attribute="line_return_status",
        )
        return Transition(
            user_id=opportunity.user_id,
            before=before,
            after=field_values(opportunity, ("line_return_status",)),
            outbox_entry=entry,
        )


def cancellation_complete(*, opportunity_id: int, now: datetime | None = None) -> Transition:
    """An agent completes the cancellation once the service is terminated and the cancellation is
    ready (``cancellation_readiness``): the Opportunity's stage becomes 〇Cancelled and the
    customer gets a CANCELLATION_COMPLETE notification."""
    now = now or timezone.now()
    with transaction.atomic():
        opportunity = _cancelling_opportunity(opportunity_id)
        readiness = cancellation_readiness(opportunity=opportunity, now=now)
        if not readiness.ready:
            raise ApplicationError(" ".join(readiness.reasons), code="cancellation_not_ready")
        before = field_values(opportunity, ("stage",))
        opportunity.stage = OpportunityStage.CANCELLED
        opportunity.save(update_fields=["stage", "updated_at"])
        entry = _opportunity_update_enqueue(
            opportunity=opportunity,
            operation="console.cancellation.complete",
            attribute="stage",
        )
        service = cancellation_whmcs_service(opportunity=opportunity)
        notification_create(
            user_id=opportunity.user_id,
            type=NotificationType.CANCELLATION_COMPLETE,
            source=NotificationSource.PORTAL,
            source_id=opportunity.salesforce_id or f"opportunity:{opportunity.pk}",
            context={"service_name": service.name if service else opportunity.name},
            now=now,
        )
        return Transition(
            user_id=opportunity.user_id,
            before=before,
            after=field_values(opportunity, ("stage",)),
            outbox_entry=entry,
        )


# --- Fulfillment ----------------------------------------------------------------------------


def opportunity_activate(
    *, opportunity: Opportunity | None, salesforce_id: str = "", whmcs_service_id: int | None
) -> CompositeSubrequest | None:
    """The order is fulfilled: the Opportunity is Active with the WHMCS service it became.

    ``opportunity`` is the portal row (None when the portal has not mirrored it) and
    ``salesforce_id`` the Opportunity the Salesforce Order names. Call inside the caller's
    transaction; returns the Opportunity update for the caller's Composite request (reference
    ``opportunity``), or None when Salesforce has no Opportunity to update.
    """
    if opportunity is not None:
        opportunity.stage = OpportunityStage.ACTIVE
        opportunity.whmcs_service_id = whmcs_service_id
        opportunity.save(update_fields=["stage", "whmcs_service_id", "updated_at"])
        salesforce_id = salesforce_id or opportunity.salesforce_id or ""
    if not salesforce_id:
        return None
    return opportunity_activated_subrequest(salesforce_id=salesforce_id, whmcs_service_id=whmcs_service_id)


def opportunity_void_for_failed_fulfillment(
    *, opportunity: Opportunity | None, salesforce_id: str = ""
) -> CompositeSubrequest | None:
    """Provisioning failed: the Opportunity is Void (closed, 0 %), as the flow review's stage
    machine says (Post Processing → Void, "failed provisioning").

    ``opportunity`` is the portal row (None when the portal does not mirror it) and
    ``salesforce_id`` the Opportunity the Salesforce Order names. A mirrored Opportunity is voided
    only from Post Processing (an order on an Opportunity in another stage leaves it alone). If an
    agent retries and the retry succeeds, ``opportunity_activate`` makes it Active. Call inside
    the caller's transaction; returns the Opportunity update for the caller's Composite request
    (reference ``opportunity``), or None when there is nothing to change.
    """
    if opportunity is not None:
        if opportunity.stage != OpportunityStage.POST_PROCESSING:
            return None
        opportunity.stage = OpportunityStage.VOID
        opportunity.save(update_fields=["stage", "updated_at"])
        return opportunity_update_subrequest(opportunity, "stage")
    if not salesforce_id:
        return None
    return opportunity_stage_subrequest(salesforce_id=salesforce_id, stage=OpportunityStage.VOID)


# --- Cases ----------------------------------------------------------------------------------

ELIGIBILITY_CASE_SUBJECT = "Internet availability check request (Portal)"
"""The agents' queue in Salesforce filters on this exact subject."""


def eligibility_case_open(*, user_id: int, description: str, opportunity: Opportunity | None = None) -> Case:
    """Open the Case on which an agent checks internet availability (New, origin Portal), linked
    to the check's Opportunity (``internet_opportunity_for_eligibility``).

    Call inside the eligibility request's transaction, whose outbox entry creates it in
    Salesforce (``salesforce.case_create_subrequest``).
    """
    case = Case(
        user_id=user_id,
        opportunity=opportunity,
        type=CaseType.ELIGIBILITY_CHECK,
        subject=ELIGIBILITY_CASE_SUBJECT,
        description=description,
        status=CaseStatus.NEW,
        origin=CaseOrigin.PORTAL,
        priority=CasePriority.MEDIUM,
    )
    case.full_clean(exclude=["user", "opportunity", "salesforce_id"])
    case.save()
    return case


ID_VERIFICATION_CASE_SUBJECT = "ID verification request (Portal)"
"""The subject of the Case an agent reviews a residence card on (agents filter on it)."""


def id_verification_case_open(*, user_id: int, description: str) -> Case:
    """Open the Case on which an agent reviews an uploaded residence card (ID Verification, New,
    origin Portal), as the flow review's data flow has it for a residence card submission.

    Call inside the upload's transaction, whose outbox entry creates it in Salesforce
    (``salesforce.case_create_subrequest``).
    """
    case = Case(
        user_id=user_id,
        type=CaseType.ID_VERIFICATION,
        subject=ID_VERIFICATION_CASE_SUBJECT,
        description=description,
        status=CaseStatus.NEW,
        origin=CaseOrigin.PORTAL,
        priority=CasePriority.MEDIUM,
    )
    case.full_clean(exclude=["user", "opportunity", "salesforce_id"])
    case.save()
    return case


def id_verification_case_close(*, user_id: int, reopen: bool = False) -> CompositeSubrequest | None:
    """The agent decided the residence card: the customer's latest ID Verification Case is
    closed; with ``reopen`` (a supervisor took the decision back) it is New again.

    Call inside the decision's transaction; returns the Case update for the caller's Composite
    request (reference ``case``), or None when there is no such Case to change (a card uploaded
    before the portal opened these Cases).
    """
    case = (
        Case.objects.select_for_update()
        .filter(user_id=user_id, type=CaseType.ID_VERIFICATION)
        .order_by("-created_at", "-pk")
        .first()
    )
    status = CaseStatus.NEW if reopen else CaseStatus.CLOSED
    if case is None or case.status == status or (reopen and case.status != CaseStatus.CLOSED):
        return None
    return case_status_change(case=case, status=status)


def case_status_change(
    *, case: Case | None, status: str, salesforce_id: str = ""
) -> CompositeSubrequest | None:
    """Set a Case's status from the portal (an agent's eligibility decision or ticket reply).

    ``case`` is the portal row, or None for a Case only Salesforce has (``salesforce_id``).
    Call inside the caller's transaction; returns the Case update for the caller's Composite
    request (reference ``case``; it waits for a Case still on its way), or None when there is no
    Case to update. Changes Salesforce makes come back through ``support_case_apply_salesforce``.
    """
    record_id: str | PortalRef = salesforce_id
    if case is not None:
        if case.status != status:
            case.status = status
            case.save(update_fields=["status", "updated_at"])
        record_id = salesforce_id_or_ref(case)
    if not record_id:
        return None
    return case_status_update_subrequest(record_id, status)
