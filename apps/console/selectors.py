"""Reads for the agent console: the queues, their counts, SLA ages and what a record page shows.

Ages and the SLA are measured in business time on the Japanese calendar (Asia/Tokyo): Saturdays
and Sundays do not count, so a request made on Friday evening is not overdue on Monday morning.
Public holidays are not known to the portal and count as business days.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any

from django.db.models import Count, Exists, F, Max, OuterRef, Q, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce, Concat, Replace
from django.utils import timezone
from django.utils.translation import gettext

from apps.accounts.models import (
    CustomerProfile,
    EligibilityStatus,
    IdMapping,
    OrphanedSalesforceAccount,
    RegistrationAttempt,
    User,
)
from apps.accounts.registration import STEP_SALESFORCE_ACCOUNT, STEP_WHMCS_CLIENT
from apps.accounts.selectors import salesforce_account_id_of
from apps.checkout.models import OrderStatus
from apps.checkout.selectors import order_prerequisites_prefetch
from apps.console.models import (
    AgentDecision,
    CancellationQueueItem,
    EligibilityQueueItem,
    IdVerificationQueueItem,
    OrderApprovalQueueItem,
    RegistrationQueueItem,
    SubjectType,
    SupportCaseQueueItem,
)
from apps.integrations.models import OrphanedWhmcsClient, OutboxEntry, TargetSystem
from apps.integrations.outbox import ACCOUNT_RECORD_KEY_PREFIX, account_record_key
from apps.opportunities.models import Case, CaseComment, CaseType, Opportunity, OpportunityStage
from apps.opportunities.services import TOKYO
from apps.opportunities.support import OPEN_STATUSES, support_ticket_q
from apps.verification.models import EligibilityRequest, ResidenceCardSubmission

ELIGIBILITY_SLA = timedelta(days=2)
"""Customers are told a check takes 1-2 business days (``verification.selectors``)."""

REGISTRATION_STUCK_AFTER = timedelta(minutes=15)
"""A registration still in progress after this long is shown to supervisors: neither the
customer's request nor the worker's first tries finished it."""

UNSETTLED_OUTBOX_STATUSES = (
    OutboxEntry.Status.PENDING,
    OutboxEntry.Status.IN_PROGRESS,
    OutboxEntry.Status.FAILED,
)


# --- Business time ----------------------------------------------------------------------------


def _is_business_day(moment: datetime) -> bool:
    return moment.weekday() < 5


def business_time_between(start: datetime, end: datetime) -> timedelta:
    """Weekday time from ``start`` to ``end`` in Asia/Tokyo (zero if ``end`` is not later)."""
    start, end = start.astimezone(TOKYO), end.astimezone(TOKYO)
    if end <= start:
        return timedelta(0)
    total = timedelta(0)
    cursor = start
    while cursor < end:
        next_midnight = datetime.combine(cursor.date() + timedelta(days=1), time.min, tzinfo=TOKYO)
        segment_end = min(next_midnight, end)
        if _is_business_day(cursor):
            total += segment_end - cursor
        cursor = segment_end
    return total


def business_time_before(end: datetime, amount: timedelta) -> datetime:
    """The moment ``amount`` of weekday time before ``end`` (Asia/Tokyo): anything requested
    earlier than this has waited longer than ``amount``."""
    cursor = end.astimezone(TOKYO)
    day = cursor.date()
    remaining = amount
    while True:
        day_start = datetime.combine(day, time.min, tzinfo=TOKYO)
        if day.weekday() < 5:
            available = cursor - day_start
            if available >= remaining:
                return cursor - remaining
            remaining -= available
        cursor = day_start
        day -= timedelta(days=1)


@dataclass(frozen=True)
class QueueAge:
    since: datetime | None
    business_time: timedelta
    overdue: bool

    @property
    def business_days(self) -> float:
        return round(self.business_time / timedelta(days=1), 1)


def queue_age(
    since: datetime | None, *, sla: timedelta | None = ELIGIBILITY_SLA, now: datetime | None = None
) -> QueueAge:
    if since is None:
        return QueueAge(since=None, business_time=timedelta(0), overdue=False)
    elapsed = business_time_between(since, now or timezone.now())
    return QueueAge(since=since, business_time=elapsed, overdue=sla is not None and elapsed > sla)


# --- Queues -----------------------------------------------------------------------------------

ACCOUNT_ID_PATH = "user__id_mapping__salesforce_account_id"


def _account_key() -> Concat:
    return Concat(Value(ACCOUNT_RECORD_KEY_PREFIX), OuterRef(ACCOUNT_ID_PATH))


def _with_sync_flags(queryset: QuerySet[Any]) -> QuerySet[Any]:
    """``sync_failed`` / ``sync_pending``: whether the customer's Salesforce writes are stuck."""
    key = _account_key()
    entries = OutboxEntry.objects.filter(record_key=key)
    return queryset.annotate(
        sync_failed=Exists(entries.filter(status=OutboxEntry.Status.FAILED)),
        sync_pending=Exists(
            entries.filter(status__in=[OutboxEntry.Status.PENDING, OutboxEntry.Status.IN_PROGRESS])
        ),
    )


def address_ja_run(*parts: str) -> Replace:
    """The Japanese address's ``parts`` (field paths, prefecture first) as one run without spaces,
    for a search to match any stretch of it ("渋谷区神南1-2-3"): Japanese writes no space between
    the parts, but an agent or a customer may have typed some (half- or full-width)."""
    run = Concat(*parts) if len(parts) > 1 else F(parts[0])
    return Replace(Replace(run, Value(" "), Value("")), Value("\u3000"), Value(""))


def japanese_address_run(prefix: str = "") -> Replace:
    """:func:`address_ja_run` of an ``AddressMixin`` model's fields (``prefix`` leads to it)."""
    return address_ja_run(
        *(f"{prefix}{name}" for name in ("prefecture_ja", "city_ja", "address_line1_ja", "address_line2_ja"))
    )


def eligibility_queue_items() -> QuerySet[EligibilityQueueItem]:
    """Every customer who has asked for an eligibility check (any outcome), oldest first, with
    the address of their latest request (``request_*``)."""
    latest = EligibilityRequest.objects.filter(user_id=OuterRef("user_id")).order_by("-created_at", "-pk")
    queryset = (
        EligibilityQueueItem.objects.exclude(internet_eligibility_status=EligibilityStatus.NOT_REQUESTED)
        .select_related("user", "user__id_mapping")
        .annotate(
            request_postal_code=Subquery(latest.values("postal_code")[:1]),
            request_prefecture=Subquery(latest.values("prefecture")[:1]),
            request_city=Subquery(latest.values("city")[:1]),
            request_address_line1=Subquery(latest.values("address_line1")[:1]),
            request_prefecture_ja=Subquery(latest.values("prefecture_ja")[:1]),
            request_city_ja=Subquery(latest.values("city_ja")[:1]),
            request_address_line1_ja=Subquery(latest.values("address_line1_ja")[:1]),
        )
        .order_by(F("internet_eligibility_requested_at").asc(nulls_last=True), "pk")
    )
    return _with_sync_flags(queryset)


def eligibility_queue_pending() -> QuerySet[EligibilityQueueItem]:
    return eligibility_queue_items().filter(internet_eligibility_status=EligibilityStatus.PENDING)


def id_verification_queue_items() -> QuerySet[IdVerificationQueueItem]:
    queryset = IdVerificationQueueItem.objects.select_related(
        "user", "user__profile", "user__id_mapping", "reviewed_by"
    ).order_by("submitted_at", "pk")
    return _with_sync_flags(queryset)


def id_verification_queue_pending() -> QuerySet[IdVerificationQueueItem]:
    return id_verification_queue_items().filter(status=ResidenceCardSubmission.Status.SUBMITTED)


def order_approval_queue_items() -> QuerySet[OrderApprovalQueueItem]:
    queryset = order_prerequisites_prefetch(
        OrderApprovalQueueItem.objects.exclude(status=OrderStatus.DRAFT)
        .select_related("user", "user__profile", "user__id_mapping")
        .order_by("created_at", "pk")
    )
    return _with_sync_flags(queryset)


def order_approval_queue_pending() -> QuerySet[OrderApprovalQueueItem]:
    return order_approval_queue_items().filter(status=OrderStatus.PENDING_REVIEW)


def cancellation_queue_items() -> QuerySet[CancellationQueueItem]:
    """Services whose cancellation was requested (in progress or done), by scheduled date."""
    queryset = (
        CancellationQueueItem.objects.filter(
            stage__in=[OpportunityStage.CANCELLING, OpportunityStage.CANCELLED]
        )
        .select_related("user", "user__id_mapping")
        .annotate(scheduled_at=Coalesce("scheduled_cancellation_at", "sim_scheduled_cancellation_at"))
        .order_by(F("scheduled_at").asc(nulls_last=True), "pk")
    )
    return _with_sync_flags(queryset)


def cancellation_queue_pending() -> QuerySet[CancellationQueueItem]:
    return cancellation_queue_items().filter(stage=OpportunityStage.CANCELLING)


def support_case_queue_items() -> QuerySet[SupportCaseQueueItem]:
    """Support tickets customers opened in the portal (any status), oldest first, with
    ``comment_count``, ``last_comment_at`` and ``last_comment_from_agent`` (None without comments)."""
    latest = CaseComment.objects.filter(case_id=OuterRef("pk")).order_by("-created_at", "-pk")
    queryset = (
        SupportCaseQueueItem.objects.filter(support_ticket_q())
        .select_related("user", "user__id_mapping", "opportunity")
        .annotate(
            comment_count=Count("comments"),
            last_comment_at=Max("comments__created_at"),
            last_comment_from_agent=Subquery(latest.values("from_agent")[:1]),
        )
        .order_by("created_at", "pk")
    )
    return _with_sync_flags(queryset)


def support_case_queue_open() -> QuerySet[SupportCaseQueueItem]:
    return support_case_queue_items().filter(status__in=OPEN_STATUSES)


def support_case_thread(*, case: Case) -> list[CaseComment]:
    """Every comment of the Case, published or not (agents see internal ones too), oldest first."""
    return list(CaseComment.objects.filter(case=case).select_related("author").order_by("created_at", "pk"))


def registration_queue_items() -> QuerySet[RegistrationQueueItem]:
    """Every registration attempt (any status), oldest first."""
    return RegistrationQueueItem.objects.select_related("user").order_by("created_at", "pk")


def registration_stuck_q(*, now: datetime | None = None) -> Q:
    """Attempts that need a supervisor, or that have been in progress too long."""
    started_before = (now or timezone.now()) - REGISTRATION_STUCK_AFTER
    return Q(status=RegistrationAttempt.Status.NEEDS_ATTENTION) | Q(
        status=RegistrationAttempt.Status.IN_PROGRESS, created_at__lt=started_before
    )


def registration_queue_stuck(*, now: datetime | None = None) -> QuerySet[RegistrationQueueItem]:
    return registration_queue_items().filter(registration_stuck_q(now=now))


@dataclass(frozen=True)
class RegistrationRecords:
    """What a registration has created where, as far as the portal knows.

    ``salesforce_unknown`` / ``whmcs_unknown``: the step's last try started and its answer never
    came, or failed in a way a retry could mend (a timeout may have written), so the system may
    hold a record the attempt does not name (abandoning looks it up). A refusal for good follows
    the lookup of an earlier try's record, so after one nothing of the attempt's exists there.
    """

    user: User | None
    id_mapping: IdMapping | None
    salesforce_account_id: str
    salesforce_contact_id: str
    salesforce_unknown: bool
    whmcs_client_id: int | None
    whmcs_unknown: bool
    orphaned_accounts: list[OrphanedSalesforceAccount]
    orphaned_clients: list[OrphanedWhmcsClient]


def _may_have_written(steps: list[dict[str, Any]], step: str) -> bool:
    last = next((entry for entry in reversed(steps) if entry.get("step") == step), None)
    return last is not None and not (last.get("status") == "failed" and last.get("retryable") is False)


def registration_records(*, attempt: RegistrationAttempt) -> RegistrationRecords:
    client_id = attempt.whmcs_client_id
    return RegistrationRecords(
        user=attempt.user,
        id_mapping=IdMapping.objects.filter(user_id=attempt.user_id).first() if attempt.user_id else None,
        salesforce_account_id=attempt.salesforce_account_id,
        salesforce_contact_id=attempt.salesforce_contact_id,
        salesforce_unknown=not attempt.salesforce_account_id
        and _may_have_written(attempt.steps, STEP_SALESFORCE_ACCOUNT),
        whmcs_client_id=client_id,
        whmcs_unknown=client_id is None and _may_have_written(attempt.steps, STEP_WHMCS_CLIENT),
        orphaned_accounts=list(attempt.orphaned_salesforce_accounts.order_by("pk")),
        orphaned_clients=list(OrphanedWhmcsClient.objects.filter(whmcs_client_id=client_id))
        if client_id is not None
        else [],
    )


@dataclass(frozen=True)
class QueueCount:
    key: str
    label: str
    count: int
    overdue: int
    url_name: str
    oldest_since: datetime | None = None
    sla: str = ""
    counts_down: bool = False


def console_queue_counts(*, user: Any, now: datetime | None = None) -> list[QueueCount]:
    """The open items of each queue the user may see, for the admin index: how many, how many
    are past the queue's SLA (``apps.console.sla``) and since when the oldest waits."""
    from apps.console import sla  # sla reads the business time above

    now = now or timezone.now()
    queues: list[tuple[str, str, Any, Any]] = [
        ("eligibility", gettext("Internet eligibility requests"), sla.ELIGIBILITY, eligibility_queue_pending),
        ("id_verification", gettext("ID verifications"), sla.ID_VERIFICATION, id_verification_queue_pending),
        (
            "order_approval",
            gettext("Orders awaiting approval"),
            sla.ORDER_APPROVAL,
            order_approval_queue_pending,
        ),
        ("cancellation", gettext("Cancellations"), sla.CANCELLATION, cancellation_queue_pending),
        ("support_case", gettext("Support tickets"), sla.SUPPORT_CASE, support_case_queue_open),
        (
            "registration",
            gettext("Stuck registrations"),
            sla.REGISTRATION,
            lambda: registration_queue_stuck(now=now),
        ),
    ]
    models = {
        "eligibility": "eligibilityqueueitem",
        "id_verification": "idverificationqueueitem",
        "order_approval": "orderapprovalqueueitem",
        "cancellation": "cancellationqueueitem",
        "support_case": "supportcasequeueitem",
        "registration": "registrationqueueitem",
    }
    counts: list[QueueCount] = []
    for key, label, queue_sla, pending in queues:
        model = models[key]
        if not user.has_perm(f"console.view_{model}"):
            continue
        timing = sla.queue_timing(queue_sla, pending(), now=now)
        counts.append(
            QueueCount(
                key=key,
                label=label,
                count=timing.count,
                overdue=timing.overdue,
                url_name=f"admin:console_{model}_changelist",
                oldest_since=timing.oldest_since,
                sla=str(queue_sla.description),
                counts_down=queue_sla.counts_down,
            )
        )
    return counts


# --- Record pages -----------------------------------------------------------------------------


def outbox_unsettled_for_customer(
    *, user_id: int | None, extra_keys: tuple[str, ...] = ()
) -> list[OutboxEntry]:
    """The customer's Salesforce writes that have not been delivered (pending, in progress,
    failed), oldest first: everything queued under their Account, plus ``extra_keys`` (all there
    is for a record without a customer, such as an abandoned registration)."""
    account_id = salesforce_account_id_of(user_id=user_id) if user_id is not None else ""
    condition = Q(pk__in=[])
    if account_id:
        key = account_record_key(account_id)
        condition |= Q(record_key=key) | Q(record_key__startswith=f"{key}:")
    for extra in extra_keys:
        condition |= Q(record_key=extra)
    return list(OutboxEntry.objects.filter(condition, status__in=UNSETTLED_OUTBOX_STATUSES).order_by("id"))


def decisions_for(*, subject_type: SubjectType | str, subject_id: Any) -> list[AgentDecision]:
    return list(
        AgentDecision.objects.filter(subject_type=subject_type, subject_id=str(subject_id))
        .select_related("agent", "outbox_entry")
        .order_by("-created_at", "-id")
    )


def customer_profile_for(*, user_id: int) -> CustomerProfile | None:
    return CustomerProfile.objects.filter(user_id=user_id).first()


def cancellation_case(*, opportunity: Opportunity) -> Case | None:
    return (
        Case.objects.filter(opportunity=opportunity, type=CaseType.CANCELLATION_REQUEST)
        .order_by("-created_at", "-pk")
        .first()
    )


# --- Held or failed Salesforce writes (supervisors' queue) ------------------------------------


def salesforce_write_queue_items() -> QuerySet[OutboxEntry]:
    """Every Salesforce write; the admin's filters narrow it (held or failed by default)."""
    return OutboxEntry.objects.filter(target_system=TargetSystem.SALESFORCE)


def outbox_account_id(entry: OutboxEntry) -> str:
    """The Salesforce Account an entry writes to (or under), from its record key; "" if none."""
    if not entry.record_key.startswith(ACCOUNT_RECORD_KEY_PREFIX):
        return ""
    return entry.record_key.removeprefix(ACCOUNT_RECORD_KEY_PREFIX).split(":", 1)[0]


def outbox_customers(entries: Iterable[OutboxEntry]) -> dict[str, User]:
    """The portal customer of each entry's Account, by Account ID."""
    account_ids = {outbox_account_id(entry) for entry in entries} - {""}
    mappings = IdMapping.objects.select_related("user").filter(salesforce_account_id__in=account_ids)
    return {mapping.salesforce_account_id: mapping.user for mapping in mappings}
