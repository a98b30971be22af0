"""The SLA of the queue lists: a "past SLA" filter and an SLA column for every queue.

Which SLA a queue has is ``apps.console.sla``; here each queue (by its subject type) says which of
its items are open, since only open items can be past their SLA.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import Q, QuerySet
from django.http import HttpRequest
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.html import format_html
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from apps.accounts.models import EligibilityStatus
from apps.checkout.models import OrderStatus
from apps.console import selectors, sla
from apps.console.models import SubjectType
from apps.opportunities.models import OpportunityStage
from apps.opportunities.support import OPEN_STATUSES
from apps.verification.models import ResidenceCardSubmission

QUEUE_SLAS: dict[str, sla.QueueSla] = {
    SubjectType.ELIGIBILITY: sla.ELIGIBILITY,
    SubjectType.ID_VERIFICATION: sla.ID_VERIFICATION,
    SubjectType.ORDER: sla.ORDER_APPROVAL,
    SubjectType.CANCELLATION: sla.CANCELLATION,
    SubjectType.SUPPORT_CASE: sla.SUPPORT_CASE,
    SubjectType.REGISTRATION: sla.REGISTRATION,
}


def open_q(subject_type: str) -> Q:
    """The items of the queue that still wait for an agent."""
    if subject_type == SubjectType.ELIGIBILITY:
        return Q(internet_eligibility_status=EligibilityStatus.PENDING)
    if subject_type == SubjectType.ID_VERIFICATION:
        return Q(status=ResidenceCardSubmission.Status.SUBMITTED)
    if subject_type == SubjectType.ORDER:
        return Q(status=OrderStatus.PENDING_REVIEW)
    if subject_type == SubjectType.CANCELLATION:
        return Q(stage=OpportunityStage.CANCELLING)
    if subject_type == SubjectType.SUPPORT_CASE:
        return Q(status__in=OPEN_STATUSES)
    if subject_type == SubjectType.REGISTRATION:
        return selectors.registration_stuck_q()
    return Q(pk__in=[])


def is_open(subject_type: str, obj: Any) -> bool:
    if subject_type == SubjectType.ELIGIBILITY:
        return bool(obj.internet_eligibility_status == EligibilityStatus.PENDING)
    if subject_type == SubjectType.ID_VERIFICATION:
        return bool(obj.status == ResidenceCardSubmission.Status.SUBMITTED)
    if subject_type == SubjectType.ORDER:
        return bool(obj.status == OrderStatus.PENDING_REVIEW)
    if subject_type == SubjectType.CANCELLATION:
        return bool(obj.stage == OpportunityStage.CANCELLING)
    if subject_type == SubjectType.SUPPORT_CASE:
        return obj.status in OPEN_STATUSES
    if subject_type == SubjectType.REGISTRATION:
        return type(obj).objects.filter(selectors.registration_stuck_q(), pk=obj.pk).exists()
    return False


class PastSlaFilter(admin.SimpleListFilter):
    """Open items past the queue's SLA, or within it."""

    title = _("SLA")
    parameter_name = "sla"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list[tuple[str, Any]]:
        return [("overdue", _("Past SLA")), ("on_time", _("Within SLA"))]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        subject_type = getattr(self, "subject_type", "")
        queue_sla = QUEUE_SLAS.get(subject_type)
        if queue_sla is None or self.value() not in ("overdue", "on_time"):
            return queryset
        overdue = queue_sla.overdue_q(timezone.now())
        queryset = queryset.filter(open_q(subject_type))
        return queryset.filter(overdue) if self.value() == "overdue" else queryset.exclude(overdue)


def past_sla_filter_for(subject_type: str) -> type[PastSlaFilter]:
    return type("PastSlaFilter", (PastSlaFilter,), {"subject_type": subject_type})


def sla_badge(subject_type: str, obj: Any) -> str:
    """The SLA column: "—" for items no longer open, the deadline (Asia/Tokyo) otherwise."""
    queue_sla = QUEUE_SLAS.get(subject_type)
    if queue_sla is None or not is_open(subject_type, obj):
        return "—"
    state = sla.sla_state(queue_sla, obj)
    if state.deadline is None:
        return "—"
    when = date_format(timezone.localtime(state.deadline), "SHORT_DATETIME_FORMAT")
    if state.overdue:
        text = gettext("Past SLA (due %(when)s)") % {"when": when}
        return format_html('<span class="console-badge console-badge-overdue console-nowrap">{}</span>', text)
    text = gettext("Due %(when)s") % {"when": when}
    return format_html('<span class="console-badge console-badge-sla console-nowrap">{}</span>', text)
