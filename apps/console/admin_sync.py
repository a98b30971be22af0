"""The supervisors' queue of Salesforce writes the outbox holds (outcome unknown) or gave up on
(failed): reason, age and record, filters, and a bulk retry that is audited. Imported by
``admin.py``, whose helpers it uses."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.contrib import admin, messages
from django.db.models import Q, QuerySet
from django.http import HttpRequest
from django.utils import timezone
from django.utils.html import format_html
from django.utils.text import Truncator
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from apps.console import selectors, services
from apps.console.admin import age_label, badge
from apps.console.models import SalesforceWriteQueueItem
from apps.integrations.models import OUTCOME_UNKNOWN, OutboxEntry


class WriteStateFilter(admin.SimpleListFilter):
    """Held or failed by default; held only, failed only, retrying, or everything on request."""

    title = _("state")
    parameter_name = "state"
    ATTENTION, HELD, FAILED, RETRYING, COALESCED, ALL = (
        "attention",
        "held",
        "failed",
        "retrying",
        "coalesced",
        "all",
    )

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list[tuple[str, Any]]:
        return [
            (self.ATTENTION, _("Held or failed")),
            (self.HELD, _("Held (outcome unknown)")),
            (self.FAILED, _("Failed")),
            (self.RETRYING, _("Retrying")),
            (self.COALESCED, _("Coalesced, waiting")),
            (self.ALL, _("All")),
        ]

    def value(self) -> str:
        value = super().value()
        return self.ATTENTION if value is None else str(value)

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        held = Q(status=OutboxEntry.Status.FAILED, last_error__startswith=OUTCOME_UNKNOWN)
        value = self.value()
        if value == self.ATTENTION:
            return queryset.filter(status=OutboxEntry.Status.FAILED)
        if value == self.HELD:
            return queryset.filter(held)
        if value == self.FAILED:
            return queryset.filter(status=OutboxEntry.Status.FAILED).exclude(held)
        if value == self.RETRYING:
            return queryset.filter(status=OutboxEntry.Status.PENDING).exclude(last_error="")
        if value == self.COALESCED:
            return queryset.filter(status=OutboxEntry.Status.PENDING, payload__coalesced=True)
        return queryset

    def choices(self, changelist: Any) -> Any:
        for lookup, title in self.lookup_choices:
            yield {
                "selected": self.value() == str(lookup),
                "query_string": changelist.get_query_string({self.parameter_name: lookup}),
                "display": title,
            }


class WriteAgeFilter(admin.SimpleListFilter):
    title = _("age")
    parameter_name = "older_than"
    AGES = {"1h": timedelta(hours=1), "1d": timedelta(days=1), "7d": timedelta(days=7)}

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list[tuple[str, Any]]:
        return [
            ("1h", _("Older than an hour")),
            ("1d", _("Older than a day")),
            ("7d", _("Older than a week")),
        ]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        age = self.AGES.get(self.value() or "")
        return queryset.filter(created_at__lt=timezone.now() - age) if age else queryset


@admin.register(SalesforceWriteQueueItem)
class SalesforceWriteQueueAdmin(admin.ModelAdmin):
    list_display = ("pk", "change", "record", "state", "reason", "attempts", "created_at", "age")
    list_display_links = ("pk", "change")
    list_filter = (WriteStateFilter, WriteAgeFilter, "operation")
    search_fields = ("=record_key", "operation", "last_error")
    search_help_text = _("Record key (e.g. Account:001…), operation or error")
    actions = ["retry_selected"]
    list_per_page = 50
    show_full_result_count = False
    fields = (
        "operation",
        "record_key",
        "status",
        "attempts",
        "last_error",
        "created_at",
        "next_attempt_at",
        "delivered_at",
        "payload",
    )
    readonly_fields = fields

    class Media:
        css = {"all": ["console/console.css"]}

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        return selectors.salesforce_write_queue_items()

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_retry_permission(self, request: HttpRequest) -> bool:
        return bool(request.user.has_perm(services.RETRY_WRITE_PERMISSION))

    def get_changelist_instance(self, request: HttpRequest) -> Any:
        changelist = super().get_changelist_instance(request)
        customers = selectors.outbox_customers(changelist.result_list)
        for obj in changelist.result_list:
            obj._console_customer = customers.get(selectors.outbox_account_id(obj))
        return changelist

    @admin.display(description=_("change"), ordering="operation")
    def change(self, obj: OutboxEntry) -> str:
        if obj.coalesced:
            return format_html(
                "{} {}", obj.operation, badge(gettext("Coalesced: only the latest value is sent"), "muted")
            )
        return obj.operation

    @admin.display(description=_("record"), ordering="record_key")
    def record(self, obj: OutboxEntry) -> str:
        customer = getattr(obj, "_console_customer", None)
        if customer is None:
            return obj.record_key
        return format_html("{}<br><small>{}</small>", obj.record_key, customer.email)

    @admin.display(description=_("state"), ordering="status")
    def state(self, obj: OutboxEntry) -> str:
        if obj.outcome_unknown:
            return badge(gettext("Held: outcome unknown"), "overdue")
        if obj.status == OutboxEntry.Status.FAILED:
            return badge(gettext("Failed"), "overdue")
        if obj.coalesced and obj.status == OutboxEntry.Status.PENDING:
            return badge(gettext("Coalesced, waiting"), "muted")
        return badge(obj.get_status_display(), "warning")

    @admin.display(description=_("reason"))
    def reason(self, obj: OutboxEntry) -> str:
        return Truncator(obj.last_error).chars(120) or "—"

    @admin.display(description=_("age"), ordering="created_at")
    def age(self, obj: OutboxEntry) -> str:
        return age_label(obj.created_at)

    @admin.action(description=_("Retry the selected writes"), permissions=["retry"])
    def retry_selected(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        decisions = services.console_outbox_bulk_retry(
            agent=request.user,  # type: ignore[arg-type]
            entry_ids=list(queryset.values_list("pk", flat=True)),
        )
        count = len(decisions)
        if count:
            messages.success(
                request,
                ngettext(
                    "%(count)d Salesforce write is queued again.",
                    "%(count)d Salesforce writes are queued again.",
                    count,
                )
                % {"count": count},
            )
        else:
            messages.warning(request, gettext("None of the selected writes had failed."))
