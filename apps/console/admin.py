"""The agent console in Django admin: six queues, a checklist page per record, decision forms.

Each queue is a proxy model's admin. The list is the queue (open items by default, oldest or
soonest first, with search and filters); the record page is the Salesforce checklist step by step
with the data each step needs, the decision forms, the record's sync state and its decision
history. Decisions POST to URLs of their own (``get_urls``), each requiring its permission, and
call one service. Nothing here edits a field directly: the fields are mastered in Salesforce (a
registration's by its saga), so add, change and delete are off for every queue.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Model, QuerySet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseNotAllowed, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.text import Truncator, capfirst
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from apps.accounts.addresses import address_ja_line, address_romaji_line
from apps.accounts.models import CustomerProfile, EligibilityStatus, RegistrationAttempt, User
from apps.accounts.registration import STEP_ID_MAPPING, STEP_SALESFORCE_ACCOUNT, STEP_WHMCS_CLIENT
from apps.accounts.selectors import salesforce_account_id_of
from apps.catalog.models import ProductType
from apps.checkout.models import OrderStatus
from apps.checkout.selectors import order_prerequisites
from apps.console import admin_sla, history, selectors, services
from apps.console import forms as console_forms
from apps.console.admin_claims import ClaimsMixin
from apps.console.admin_links import DecisionLinksMixin
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
from apps.console.views import can_view_documents, residence_card_document
from apps.integrations.outbox import account_record_key
from apps.opportunities.models import CaseStatus, LineReturnStatus, OpportunityStage
from apps.opportunities.selectors import cancellation_scheduled_at, cancellation_whmcs_service
from apps.opportunities.services import (
    CANCELLATION_CUTOFF_DAY,
    TOKYO,
    cancellation_readiness,
    cancellation_schedule,
)
from apps.opportunities.support import (
    CATEGORY_AGENT_LABELS,
    OPEN_STATUSES,
    SupportCategory,
    case_state,
    support_description_parse,
)
from apps.verification.models import RejectionReason, ResidenceCardSubmission
from apps.verification.selectors import REJECTION_REMEDIATIONS, eligibility_case, eligibility_latest_request
from portal.exceptions import ApplicationError

Handler = Callable[[User, Any, dict[str, Any]], AgentDecision]


def badge(text: str, kind: Literal["overdue", "ok", "warning", "muted"]) -> str:
    # Styled by class in console/console.css: the CSP blocks style="" attributes.
    return format_html('<span class="console-badge console-badge-{}">{}</span>', kind, text)


def customer_label(user: User) -> str:
    name = user.get_full_name()
    return f"{name} <{user.email}>" if name else user.email


def age_label(since: datetime | None, now: datetime | None = None) -> str:
    if since is None:
        return "—"
    elapsed = (now or timezone.now()) - since
    days, hours = elapsed.days, elapsed.seconds // 3600
    if days:
        return ngettext("%(days)d day", "%(days)d days", days) % {"days": days} + (
            " " + ngettext("%(hours)d hour", "%(hours)d hours", hours) % {"hours": hours} if hours else ""
        )
    if not hours:
        # A registration is stuck after minutes, not hours.
        minutes = elapsed.seconds // 60
        return ngettext("%(minutes)d minute", "%(minutes)d minutes", minutes) % {"minutes": minutes}
    return ngettext("%(hours)d hour", "%(hours)d hours", hours) % {"hours": hours}


# --- List filters -----------------------------------------------------------------------------


class QueueStateFilter(admin.SimpleListFilter):
    """A state filter whose default (no parameter) is the queue's open state, plus "All"."""

    ALL = "all"
    field: str = ""
    default: str = ""
    states: list[tuple[str, Any]] = []

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list[tuple[str, Any]]:
        return [*self.states, (self.ALL, _("All"))]

    def value(self) -> str:
        value = super().value()
        return self.default if value is None else str(value)

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        value = self.value()
        if value == self.ALL:
            return queryset
        return queryset.filter(**{self.field: value})

    def choices(self, changelist: Any) -> Iterator[Any]:
        for lookup, title in self.lookup_choices:
            yield {
                "selected": self.value() == str(lookup),
                "query_string": changelist.get_query_string({self.parameter_name: lookup}),
                "display": title,
            }


class EligibilityStateFilter(QueueStateFilter):
    title = _("eligibility status")
    parameter_name = "state"
    field = "internet_eligibility_status"
    default = EligibilityStatus.PENDING.value
    states = [
        (EligibilityStatus.PENDING.value, EligibilityStatus.PENDING.label),
        (EligibilityStatus.ELIGIBLE.value, EligibilityStatus.ELIGIBLE.label),
        (EligibilityStatus.INELIGIBLE.value, EligibilityStatus.INELIGIBLE.label),
    ]


class IdVerificationStateFilter(QueueStateFilter):
    title = _("review status")
    parameter_name = "state"
    field = "status"
    default = ResidenceCardSubmission.Status.SUBMITTED.value
    states = list(ResidenceCardSubmission.Status.choices)


class OrderStateFilter(QueueStateFilter):
    title = _("order status")
    parameter_name = "state"
    field = "status"
    default = OrderStatus.PENDING_REVIEW.value
    states = [choice for choice in OrderStatus.choices if choice[0] != OrderStatus.DRAFT]


class CancellationStateFilter(QueueStateFilter):
    title = _("stage")
    parameter_name = "state"
    field = "stage"
    default = OpportunityStage.CANCELLING.value
    states = [
        (OpportunityStage.CANCELLING.value, OpportunityStage.CANCELLING.label),
        (OpportunityStage.CANCELLED.value, OpportunityStage.CANCELLED.label),
    ]


class CancellationDueFilter(admin.SimpleListFilter):
    title = _("scheduled date")
    parameter_name = "due"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list[tuple[str, Any]]:
        return [("due", _("Today or earlier")), ("later", _("Later"))]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        today = timezone.now().astimezone(TOKYO).date()
        end_of_today = datetime.combine(today + timedelta(days=1), datetime.min.time(), tzinfo=TOKYO)
        if self.value() == "due":
            return queryset.filter(scheduled_at__lt=end_of_today)
        if self.value() == "later":
            return queryset.filter(scheduled_at__gte=end_of_today)
        return queryset


# --- The queue admin --------------------------------------------------------------------------


def _split_coalesced(entries: list[Any]) -> dict[str, list[Any]]:
    """Coalesced updates waiting out their delay (e.g. the sign-in stamp) are shown as such, not
    as changes waiting to reach Salesforce."""
    coalesced = [e for e in entries if e.coalesced and e.status == e.Status.PENDING and not e.last_error]
    return {"outbox_entries": [e for e in entries if e not in coalesced], "coalesced_entries": coalesced}


def _focus(form: forms.Form) -> None:
    """Focus the first field with an error (or the first field) of a form shown again."""
    names = [name for name in form.fields if name in form.errors] or list(form.fields)
    if names:
        form.fields[names[0]].widget.attrs["autofocus"] = True


@dataclass(frozen=True)
class Decision:
    """One decision form on a record page, posted to its own URL."""

    name: str
    label: Any
    form_class: type[forms.Form]
    permission: str
    handler: Handler
    success: Any
    danger: bool = False

    @property
    def slug(self) -> str:
        return self.name.replace("_", "-")


class QueueAdmin(ClaimsMixin, admin.ModelAdmin):
    """A queue: list view plus checklist record page. Subclasses set the decisions."""

    checklist_template = ""
    subject_type: SubjectType
    decide_permission = ""
    decisions: tuple[Decision, ...] = ()
    actions = None
    list_per_page = 50
    show_full_result_count = False

    class Media:
        css = {"all": ["console/console.css"]}  # the badges of the queue columns

    # -- Nothing is added, edited or deleted here: the data is mastered in Salesforce. --

    def has_add_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    # -- URLs --

    def _url_name(self, suffix: str) -> str:
        return f"{self.opts.app_label}_{self.opts.model_name}_{suffix}"

    def get_urls(self) -> list[URLPattern]:
        urls: list[URLPattern] = []
        for decision in self.decisions:
            urls.append(
                path(
                    f"<path:object_id>/{decision.slug}/",
                    self.admin_site.admin_view(self._decision_view_for(decision)),
                    name=self._url_name(decision.name),
                )
            )
        urls.append(
            path(
                "<path:object_id>/retry-sync/<int:entry_id>/",
                self.admin_site.admin_view(self.retry_sync_view),
                name=self._url_name("retry_sync"),
            )
        )
        urls.append(
            path(
                "<path:object_id>/resolve-sync/<int:entry_id>/",
                self.admin_site.admin_view(self.resolve_sync_view),
                name=self._url_name("resolve_sync"),
            )
        )
        return urls + self.claim_urls() + super().get_urls()

    def _decision_view_for(self, decision: Decision) -> Callable[..., HttpResponse]:
        def view(request: HttpRequest, object_id: str) -> HttpResponse:
            return self.decision_view(request, object_id, decision)

        view.__name__ = f"{decision.name}_view"
        return view

    def record_url(self, obj: Model) -> str:
        return reverse(f"admin:{self._url_name('change')}", args=[obj.pk], current_app=self.admin_site.name)

    # -- Views --

    def change_view(
        self,
        request: HttpRequest,
        object_id: str,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        obj = self.get_object(request, unquote(object_id))
        if obj is None:
            messages.warning(
                request,
                gettext("%(name)s with ID “%(key)s” doesn’t exist. Perhaps it was deleted?")
                % {"name": self.opts.verbose_name, "key": object_id},
            )
            return HttpResponseRedirect(
                reverse(f"admin:{self._url_name('changelist')}", current_app=self.admin_site.name)
            )
        if not self.has_view_permission(request, obj):
            raise PermissionDenied
        if request.method == "POST":
            # The decision forms post to the record's own URL, so a form with errors is shown
            # again at an address that can be reloaded and bookmarked.
            decision = next((d for d in self.decisions if d.name == request.POST.get("_decision")), None)
            if decision is None:
                return HttpResponseRedirect(self.record_url(obj))
            return self._decide(request, object_id, obj, decision)
        return self.render_checklist(request, obj)

    def decision_view(self, request: HttpRequest, object_id: str, decision: Decision) -> HttpResponse:
        obj = self.get_object(request, unquote(object_id))
        if obj is None:
            raise Http404
        if request.method != "POST":
            # A decision's own URL (kept for API-like callers) is not a page: go to the record.
            return HttpResponseRedirect(self.record_url(obj))
        return self._decide(request, object_id, obj, decision)

    def _decide(self, request: HttpRequest, object_id: str, obj: Any, decision: Decision) -> HttpResponse:
        if not (self.has_view_permission(request, obj) and request.user.has_perm(decision.permission)):
            raise PermissionDenied
        form = decision.form_class(request.POST, prefix=decision.name)
        if not form.is_valid():
            messages.error(request, gettext("The decision was not recorded; see the form below."))
            return self.render_checklist(request, obj, bound={decision.name: form})
        try:
            decision.handler(request.user, obj, form.cleaned_data)  # type: ignore[arg-type]
        except (ApplicationError, ValidationError) as exc:
            message = exc.message if isinstance(exc, ApplicationError) else " ".join(exc.messages)
            form.add_error(None, message)
            messages.error(
                request, gettext("The decision was not recorded: %(reason)s") % {"reason": message}
            )
            obj = self.get_object(request, unquote(object_id))  # the state that refused it
            return self.render_checklist(request, obj, bound={decision.name: form})
        messages.success(request, decision.success)
        if "_next" in request.POST:
            next_url = self.next_item_url(request, obj)
            if next_url:
                return HttpResponseRedirect(next_url)
            messages.info(request, gettext("No more unclaimed items in this queue."))
            return HttpResponseRedirect(
                reverse(f"admin:{self._url_name('changelist')}", current_app=self.admin_site.name)
            )
        return HttpResponseRedirect(self.record_url(obj))

    def retry_sync_view(self, request: HttpRequest, object_id: str, entry_id: int) -> HttpResponse:
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        obj = self.get_object(request, unquote(object_id))
        if obj is None:
            raise Http404
        if not (self.has_view_permission(request, obj) and request.user.has_perm(self.decide_permission)):
            raise PermissionDenied
        try:
            services.console_outbox_retry(
                agent=request.user,  # type: ignore[arg-type]
                entry_id=entry_id,
                subject_type=self.subject_type,
                subject_id=obj.pk,
                customer_id=obj.user_id,
                extra_keys=self.extra_outbox_keys(obj),
            )
        except ApplicationError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, gettext("The Salesforce write is queued again."))
        return HttpResponseRedirect(self.record_url(obj))

    def resolve_sync_view(self, request: HttpRequest, object_id: str, entry_id: int) -> HttpResponse:
        """A write held with an unknown outcome that the agent found in Salesforce: the ids they
        read there come as ``salesforce_id_<reference>`` fields."""
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        obj = self.get_object(request, unquote(object_id))
        if obj is None:
            raise Http404
        if not (self.has_view_permission(request, obj) and request.user.has_perm(self.decide_permission)):
            raise PermissionDenied
        prefix = "salesforce_id_"
        try:
            services.console_outbox_mark_found(
                agent=request.user,  # type: ignore[arg-type]
                entry_id=entry_id,
                subject_type=self.subject_type,
                subject_id=obj.pk,
                customer_id=obj.user_id,
                salesforce_ids={
                    key.removeprefix(prefix): request.POST.get(key, "")
                    for key in request.POST
                    if key.startswith(prefix)
                },
                extra_keys=self.extra_outbox_keys(obj),
            )
        except ApplicationError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(
                request, gettext("The Salesforce write is settled with the records found there.")
            )
        return HttpResponseRedirect(self.record_url(obj))

    # -- The record page --

    def decision_available(self, obj: Any, decision: Decision) -> bool:
        """Whether the decision applies to the record in its current state."""
        return True

    def checklist_context(self, request: HttpRequest, obj: Any) -> dict[str, Any]:
        return {}

    def record_title(self, obj: Any) -> str:
        return str(obj)

    def synced_at(self, obj: Any) -> datetime | None:
        return getattr(obj, "synced_at", None)

    def salesforce_id(self, obj: Any) -> str:
        return getattr(obj, "salesforce_id", "") or ""

    def extra_outbox_keys(self, obj: Any) -> tuple[str, ...]:
        return ()

    def render_checklist(
        self, request: HttpRequest, obj: Any, bound: dict[str, forms.Form] | None = None
    ) -> TemplateResponse:
        bound = bound or {}
        panels: dict[str, dict[str, Any]] = {}
        for decision in self.decisions:
            allowed = request.user.has_perm(decision.permission)
            if not (allowed and (decision.name in bound or self.decision_available(obj, decision))):
                continue
            form = bound.get(decision.name) or decision.form_class(prefix=decision.name)
            if decision.name in bound:
                _focus(form)
            panels[decision.name] = {
                "name": decision.name,
                "label": decision.label,
                "danger": decision.danger,
                "form": form,
                "customer_visible": any(
                    getattr(field, "customer_visible", False)
                    for field in decision.form_class.base_fields.values()
                ),
                # The record's own URL (see ``change_view``); a form shown again with errors
                # focuses (and scrolls to) its field itself (``_focus``). No fragment: a page
                # opened at a fragment ignores ``autofocus``.
                "url": self.record_url(obj),
            }
        # A record may have no customer (any more): an abandoned registration's user is removed.
        customer: User | None = obj.user
        profile = selectors.customer_profile_for(user_id=customer.pk) if customer else None
        decisions = selectors.decisions_for(subject_type=self.subject_type, subject_id=obj.pk)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "app_label": self.opts.app_label,
            "original": obj,
            "title": self.record_title(obj),
            "subtitle": capfirst(self.opts.verbose_name),
            "customer": customer,
            "profile": profile,
            "account_id": salesforce_account_id_of(user_id=customer.pk) if customer else "",
            "panels": panels,
            "synced_at": self.synced_at(obj),
            "record_salesforce_id": self.salesforce_id(obj),
            **_split_coalesced(
                selectors.outbox_unsettled_for_customer(
                    user_id=customer.pk if customer else None, extra_keys=self.extra_outbox_keys(obj)
                )
            ),
            "retry_url_name": f"admin:{self._url_name('retry_sync')}",
            "resolve_url_name": f"admin:{self._url_name('resolve_sync')}",
            "can_retry": request.user.has_perm(self.decide_permission),
            "decision_rows": [(decision, history.decision_change_rows(decision)) for decision in decisions],
            "decision_log_url": reverse(
                "admin:console_agentdecision_changelist", current_app=self.admin_site.name
            )
            + f"?subject_type__exact={self.subject_type.value}&subject_id={obj.pk}",
            "now": timezone.now(),
            **self.claim_context(request, obj),
            **self.checklist_context(request, obj),
        }
        request.current_app = self.admin_site.name
        return TemplateResponse(request, self.checklist_template, context)

    # -- The SLA column and filter, for every queue (``admin_sla``) --

    def get_list_display(self, request: HttpRequest) -> Any:
        columns = list(super().get_list_display(request))
        return [*columns, "sla_column"] if "sla_column" not in columns else columns

    def get_list_filter(self, request: HttpRequest) -> Any:
        filters = list(super().get_list_filter(request))
        return [*filters[:1], admin_sla.past_sla_filter_for(self.subject_type), *filters[1:]]

    @admin.display(description=_("SLA"))
    def sla_column(self, obj: Any) -> str:
        return admin_sla.sla_badge(self.subject_type, obj)

    # -- Columns shared by the queues --

    @admin.display(description=_("customer"), ordering="user__last_name")
    def customer(self, obj: Any) -> str:
        return customer_label(obj.user)

    @admin.display(description=_("sync"))
    def sync_state(self, obj: Any) -> str:
        if getattr(obj, "sync_failed", False):
            return badge(gettext("Failed"), "overdue")
        if getattr(obj, "sync_pending", False):
            return badge(gettext("Pending"), "warning")
        return "—"


# --- Internet eligibility ---------------------------------------------------------------------


def _mark_eligible(agent: User, obj: Any, data: dict[str, Any]) -> AgentDecision:
    return services.eligibility_mark_eligible(
        agent=agent, profile_id=obj.pk, offering=data["offering"], notes=data["notes"]
    )


def _mark_ineligible(agent: User, obj: Any, data: dict[str, Any]) -> AgentDecision:
    return services.eligibility_mark_ineligible(agent=agent, profile_id=obj.pk, notes=data["notes"])


def _reopen_eligibility(agent: User, obj: Any, data: dict[str, Any]) -> AgentDecision:
    return services.eligibility_reopen(agent=agent, profile_id=obj.pk, note=data["note"])


@admin.register(EligibilityQueueItem)
class EligibilityQueueAdmin(QueueAdmin):
    checklist_template = "console/eligibility_checklist.html"
    subject_type = SubjectType.ELIGIBILITY
    decide_permission = "console.decide_eligibility"
    decisions = (
        Decision(
            "mark_eligible",
            _("Mark eligible"),
            console_forms.MarkEligibleForm,
            "console.decide_eligibility",
            _mark_eligible,
            _("Marked eligible. Salesforce will be updated and the customer has been notified."),
        ),
        Decision(
            "mark_ineligible",
            _("Mark ineligible"),
            console_forms.MarkIneligibleForm,
            "console.decide_eligibility",
            _mark_ineligible,
            _("Marked ineligible. Salesforce will be updated and the customer has been notified."),
            danger=True,
        ),
        Decision(
            "reopen",
            _("Reopen"),
            console_forms.ReopenForm,
            "console.reopen_decision",
            _reopen_eligibility,
            _("The eligibility check is pending again."),
            danger=True,
        ),
    )
    list_display = (
        "customer",
        "customer_number",
        "requested_address",
        "internet_eligibility_requested_at",
        "age",
        "internet_eligibility_status",
        "internet_eligibility",
        "sync_state",
    )
    list_display_links = ("customer",)
    list_filter = (EligibilityStateFilter, "prefecture")
    search_fields = (
        "user__email",
        "user__first_name",
        "user__last_name",
        "customer_number",
        "postal_code",
        "user__eligibility_requests__postal_code",
        "user__eligibility_requests__address_line1",
        # The Japanese address: the customer's and their latest request's run together (any
        # stretch of "東京都渋谷区神南1-2-3"; annotated in get_search_results), an earlier
        # request's part by part.
        "address_ja_run",
        "request_address_ja_run",
        "user__eligibility_requests__city_ja",
        "user__eligibility_requests__address_line1_ja",
        "user__eligibility_requests__address_line2_ja",
    )
    search_help_text = _("Email, name, customer number, postal code or address (Japanese)")

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        return selectors.eligibility_queue_items()

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[Any], search_term: str
    ) -> tuple[QuerySet[Any], bool]:
        queryset = queryset.annotate(
            address_ja_run=selectors.japanese_address_run(),
            request_address_ja_run=selectors.address_ja_run(
                "request_prefecture_ja", "request_city_ja", "request_address_line1_ja"
            ),
        )
        return super().get_search_results(request, queryset, search_term)

    def record_title(self, obj: Any) -> str:
        return customer_label(obj.user)

    def salesforce_id(self, obj: Any) -> str:
        return salesforce_account_id_of(user_id=obj.user_id)

    def decision_available(self, obj: Any, decision: Decision) -> bool:
        pending = obj.internet_eligibility_status == EligibilityStatus.PENDING
        return not pending if decision.name == "reopen" else pending

    @admin.display(description=_("address"))
    def requested_address(self, obj: Any) -> str:
        # The Japanese address is the one the NTT check reads; requests made before it was asked
        # for have only the romaji one.
        postal_code = getattr(obj, "request_postal_code", None) or ""
        japanese = address_ja_line(
            postal_code=postal_code,
            prefecture_ja=getattr(obj, "request_prefecture_ja", None) or "",
            city_ja=getattr(obj, "request_city_ja", None) or "",
            line1_ja=getattr(obj, "request_address_line1_ja", None) or "",
            line2_ja="",
        )
        romaji = address_romaji_line(
            postal_code=postal_code,
            prefecture=getattr(obj, "request_prefecture", None) or "",
            city=getattr(obj, "request_city", None) or "",
            line1=getattr(obj, "request_address_line1", None) or "",
            line2="",
        )
        return japanese or romaji or "—"

    @admin.display(description=_("age"), ordering="internet_eligibility_requested_at")
    def age(self, obj: Any) -> str:
        return age_label(obj.internet_eligibility_requested_at)

    def checklist_context(self, request: HttpRequest, obj: Any) -> dict[str, Any]:
        return {
            "eligibility_request": eligibility_latest_request(user_id=obj.user_id),
            "case": eligibility_case(profile=obj),
            "age": selectors.queue_age(obj.internet_eligibility_requested_at),
            "age_label": age_label(obj.internet_eligibility_requested_at),
            "pending": obj.internet_eligibility_status == EligibilityStatus.PENDING,
            "offerings": services.ELIGIBILITY_OFFERINGS,
        }


# --- ID verification --------------------------------------------------------------------------


def _verify(agent: User, obj: Any, data: dict[str, Any]) -> AgentDecision:
    return services.id_verification_verify(agent=agent, submission_id=obj.pk)


def _reject(agent: User, obj: Any, data: dict[str, Any]) -> AgentDecision:
    return services.id_verification_reject(
        agent=agent, submission_id=obj.pk, reason=data["reason"], message=data["message"]
    )


def _reopen_id(agent: User, obj: Any, data: dict[str, Any]) -> AgentDecision:
    return services.id_verification_reopen(agent=agent, submission_id=obj.pk, note=data["note"])


@admin.register(IdVerificationQueueItem)
class IdVerificationQueueAdmin(QueueAdmin):
    checklist_template = "console/id_verification_checklist.html"
    subject_type = SubjectType.ID_VERIFICATION
    decide_permission = "console.decide_id_verification"
    decisions = (
        Decision(
            "verify",
            _("Verify"),
            console_forms.VerifyIdForm,
            "console.decide_id_verification",
            _verify,
            _("ID verified. Salesforce will be updated and the customer has been notified."),
        ),
        Decision(
            "reject",
            _("Reject"),
            console_forms.RejectIdForm,
            "console.decide_id_verification",
            _reject,
            _("ID rejected. Salesforce will be updated and the customer has been notified."),
            danger=True,
        ),
        Decision(
            "reopen",
            _("Reopen"),
            console_forms.ReopenForm,
            "console.reopen_decision",
            _reopen_id,
            _("The ID verification is waiting for review again."),
            danger=True,
        ),
    )
    list_display = (
        "customer",
        "customer_number",
        "birth_date",
        "content_type",
        "submitted_at",
        "age",
        "status",
        "rejection_reason",
        "reviewed_by",
        "sync_state",
    )
    list_display_links = ("customer",)
    list_filter = (IdVerificationStateFilter, "content_type", "rejection_reason")
    search_fields = (
        "user__email",
        "user__first_name",
        "user__last_name",
        "user__profile__customer_number",
        "user__profile__last_name_kana",
    )
    search_help_text = _("Email, name or customer number")

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        return selectors.id_verification_queue_items()

    def decision_available(self, obj: Any, decision: Decision) -> bool:
        submitted = obj.status == ResidenceCardSubmission.Status.SUBMITTED
        return not submitted if decision.name == "reopen" else submitted

    def _profile(self, obj: Any) -> CustomerProfile | None:
        try:
            return obj.user.profile
        except CustomerProfile.DoesNotExist:
            return None

    @admin.display(description=_("customer number"))
    def customer_number(self, obj: Any) -> str:
        profile = self._profile(obj)
        return (profile.customer_number if profile else "") or "—"

    @admin.display(description=_("birth date"))
    def birth_date(self, obj: Any) -> Any:
        profile = self._profile(obj)
        return profile.birth_date if profile and profile.birth_date else "—"

    @admin.display(description=_("age"), ordering="submitted_at")
    def age(self, obj: Any) -> str:
        return age_label(obj.submitted_at)

    def synced_at(self, obj: Any) -> datetime | None:
        profile = self._profile(obj)
        return profile.synced_at if profile else None

    def record_title(self, obj: Any) -> str:
        return customer_label(obj.user)

    def salesforce_id(self, obj: Any) -> str:
        return salesforce_account_id_of(user_id=obj.user_id)

    def checklist_context(self, request: HttpRequest, obj: Any) -> dict[str, Any]:
        return {
            "can_view_document": can_view_documents(request.user),
            "document_url": reverse(
                f"admin:{self._url_name('document')}", args=[obj.pk], current_app=self.admin_site.name
            ),
            "is_image": obj.content_type.startswith("image/"),
            "history": list(obj.history.select_related("changed_by").order_by("changed_at", "id")),
            "remediations": [
                (label, REJECTION_REMEDIATIONS[value]) for value, label in RejectionReason.choices
            ],
            "age_label": age_label(obj.submitted_at),
            "submitted": obj.status == ResidenceCardSubmission.Status.SUBMITTED,
        }

    def get_urls(self) -> list[URLPattern]:
        # Not wrapped in ``admin_view``: the document view answers 404 to anyone without the
        # permission (never a login redirect that would confirm the document exists).
        document = path(
            "<int:submission_id>/document/", residence_card_document, name=self._url_name("document")
        )
        return [document, *super().get_urls()]


# --- Order approval ---------------------------------------------------------------------------


def _approve(agent: User, obj: Any, data: dict[str, Any]) -> AgentDecision:
    return services.order_approve(agent=agent, order_id=obj.pk)


def _reject_order(agent: User, obj: Any, data: dict[str, Any]) -> AgentDecision:
    return services.order_reject(agent=agent, order_id=obj.pk, reason=data["reason"])


def _hold_order(agent: User, obj: Any, data: dict[str, Any]) -> AgentDecision:
    return services.order_hold(agent=agent, order_id=obj.pk, reason=data["reason"])


def _release_order(agent: User, obj: Any, data: dict[str, Any]) -> AgentDecision:
    return services.order_release(agent=agent, order_id=obj.pk, note=data["note"])


@admin.register(OrderApprovalQueueItem)
class OrderApprovalQueueAdmin(QueueAdmin):
    checklist_template = "console/order_checklist.html"
    subject_type = SubjectType.ORDER
    decide_permission = "console.approve_order"
    decisions = (
        Decision(
            "approve",
            _("Approve order"),
            console_forms.ApproveOrderForm,
            "console.approve_order",
            _approve,
            _("Order approved. Salesforce will start provisioning once it has the approval."),
        ),
        Decision(
            "hold",
            _("Put on hold"),
            console_forms.HoldOrderForm,
            "console.approve_order",
            _hold_order,
            _("Order on hold. It cannot be approved until released."),
        ),
        Decision(
            "release",
            _("Release from hold"),
            console_forms.ReleaseOrderForm,
            "console.approve_order",
            _release_order,
            _("Order released; it waits for approval again."),
        ),
        Decision(
            "reject",
            _("Reject order"),
            console_forms.RejectOrderForm,
            "console.approve_order",
            _reject_order,
            _("Order rejected; it is cancelled here and in Salesforce."),
            danger=True,
        ),
    )
    list_display = (
        "__str__",
        "customer",
        "product_type",
        "total_amount",
        "created_at",
        "age",
        "prerequisites",
        "status",
        "activation_status",
        "sync_state",
    )
    list_filter = (OrderStateFilter, "product_type", "activation_status")
    search_fields = ("=order_number", "=salesforce_id", "user__email", "user__last_name")
    search_help_text = _("Order number, Salesforce ID, email or name")

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        return selectors.order_approval_queue_items()

    def decision_available(self, obj: Any, decision: Decision) -> bool:
        if obj.status != OrderStatus.PENDING_REVIEW:
            return False
        held = obj.held_at is not None
        if decision.name in ("approve", "hold"):
            return not held
        if decision.name == "release":
            return held
        return True

    def next_candidates(self, queryset: QuerySet[Any]) -> QuerySet[Any]:
        return queryset.filter(held_at__isnull=True)

    def _profile(self, obj: Any) -> CustomerProfile | None:
        try:
            return obj.user.profile
        except CustomerProfile.DoesNotExist:
            return None

    @admin.display(description=_("age"), ordering="created_at")
    def age(self, obj: Any) -> str:
        return age_label(obj.created_at)

    @admin.display(description=_("prerequisites"))
    def prerequisites(self, obj: Any) -> str:
        if obj.held_at is not None and obj.status == OrderStatus.PENDING_REVIEW:
            return badge(gettext("On hold"), "warning")
        checks = order_prerequisites(order=obj, profile=self._profile(obj))
        if all(check.met for check in checks):
            return badge(gettext("Met"), "ok")
        return badge(gettext("Not met"), "overdue")

    def extra_outbox_keys(self, obj: Any) -> tuple[str, ...]:
        return (f"Order:{obj.salesforce_id}",) if obj.salesforce_id else ()

    def checklist_context(self, request: HttpRequest, obj: Any) -> dict[str, Any]:
        items = list(obj.items.select_related("product").order_by("id"))
        return {
            "prerequisites": order_prerequisites(order=obj),
            "items": [(item, item.unit_price * item.quantity) for item in items],
            "pending": obj.status == OrderStatus.PENDING_REVIEW,
            "age_label": age_label(obj.created_at),
        }


# --- Cancellation -----------------------------------------------------------------------------


def _line_return(agent: User, obj: Any, data: dict[str, Any]) -> AgentDecision:
    return services.cancellation_line_return_update(
        agent=agent, opportunity_id=obj.pk, line_return_status=data["line_return_status"]
    )


def _complete(agent: User, obj: Any, data: dict[str, Any]) -> AgentDecision:
    return services.cancellation_complete(agent=agent, opportunity_id=obj.pk)


@admin.register(CancellationQueueItem)
class CancellationQueueAdmin(QueueAdmin):
    checklist_template = "console/cancellation_checklist.html"
    subject_type = SubjectType.CANCELLATION
    decide_permission = "console.manage_cancellation"
    decisions = (
        Decision(
            "line_return",
            _("Update line return status"),
            console_forms.LineReturnForm,
            "console.manage_cancellation",
            _line_return,
            _("Line return status updated."),
        ),
        Decision(
            "complete",
            _("Complete cancellation"),
            console_forms.CompleteCancellationForm,
            "console.manage_cancellation",
            _complete,
            _("Cancellation completed. The customer has been notified."),
            danger=True,
        ),
    )
    list_display = (
        "name",
        "customer",
        "product_type",
        "scheduled_date",
        "line_return_status",
        "stage",
        "whmcs_service_id",
        "sync_state",
    )
    list_filter = (CancellationStateFilter, CancellationDueFilter, "product_type", "line_return_status")
    search_fields = ("name", "=salesforce_id", "=whmcs_service_id", "user__email", "user__last_name")
    search_help_text = _("Opportunity name, Salesforce ID, WHMCS service ID or customer email")

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        return selectors.cancellation_queue_items()

    def decision_available(self, obj: Any, decision: Decision) -> bool:
        if obj.stage != OpportunityStage.CANCELLING:
            return False
        return decision.name != "line_return" or obj.product_type == ProductType.INTERNET

    @admin.display(description=_("scheduled cancellation"), ordering="scheduled_at")
    def scheduled_date(self, obj: Any) -> Any:
        scheduled_at = cancellation_scheduled_at(obj)
        return scheduled_at.astimezone(TOKYO).date() if scheduled_at else "—"

    def checklist_context(self, request: HttpRequest, obj: Any) -> dict[str, Any]:
        case = selectors.cancellation_case(opportunity=obj)
        scheduled_at = cancellation_scheduled_at(obj)
        requested_at = case.created_at if case else None
        expected = cancellation_schedule(requested_at=requested_at).scheduled_for if requested_at else None
        scheduled_date = scheduled_at.astimezone(TOKYO).date() if scheduled_at else None
        return {
            "case": case,
            "requested_at": requested_at,
            "requested_day": requested_at.astimezone(TOKYO).day if requested_at else None,
            "cutoff_day": CANCELLATION_CUTOFF_DAY,
            "expected_date": expected,
            "scheduled_date": scheduled_date,
            "schedule_matches_rule": expected is not None and expected == scheduled_date,
            "is_internet": obj.product_type == ProductType.INTERNET,
            "line_return_steps": [choice for choice in LineReturnStatus.choices if choice[0]],
            "whmcs_service": cancellation_whmcs_service(opportunity=obj),
            "readiness": cancellation_readiness(opportunity=obj),
            "cancelling": obj.stage == OpportunityStage.CANCELLING,
        }


# --- Support cases ----------------------------------------------------------------------------


class SupportCaseStateFilter(admin.SimpleListFilter):
    """Open tickets by default; closed ones and all of them on request."""

    title = _("status")
    parameter_name = "state"
    OPEN, CLOSED, ALL = "open", "closed", "all"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list[tuple[str, Any]]:
        return [(self.OPEN, _("Open")), (self.CLOSED, _("Closed")), (self.ALL, _("All"))]

    def value(self) -> str:
        value = super().value()
        return self.OPEN if value is None else str(value)

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        if self.value() == self.OPEN:
            return queryset.filter(status__in=OPEN_STATUSES)
        if self.value() == self.CLOSED:
            return queryset.filter(status=CaseStatus.CLOSED)
        return queryset

    def choices(self, changelist: Any) -> Iterator[Any]:
        for lookup, title in self.lookup_choices:
            yield {
                "selected": self.value() == str(lookup),
                "query_string": changelist.get_query_string({self.parameter_name: lookup}),
                "display": title,
            }


class SupportCategoryFilter(admin.SimpleListFilter):
    """The category the customer chose; it heads the Case Description (see ``support``)."""

    title = _("category")
    parameter_name = "category"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list[tuple[str, Any]]:
        return list(SupportCategory.choices)

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        label = CATEGORY_AGENT_LABELS.get(self.value() or "")
        if label is None:
            return queryset
        return queryset.filter(description__startswith=f"Category: {label}\n")


def _reply(agent: User, obj: Any, data: dict[str, Any]) -> AgentDecision:
    return services.support_case_reply(agent=agent, case_id=obj.pk, body=data["body"], status=data["status"])


@admin.register(SupportCaseQueueItem)
class SupportCaseQueueAdmin(QueueAdmin):
    checklist_template = "console/support_case_checklist.html"
    subject_type = SubjectType.SUPPORT_CASE
    decide_permission = "console.reply_support_case"
    decisions = (
        Decision(
            "reply",
            _("Send reply"),
            console_forms.SupportReplyForm,
            "console.reply_support_case",
            _reply,
            _("Reply sent. The customer sees it now; Salesforce will be updated."),
        ),
    )
    list_display = (
        "subject",
        "customer",
        "category",
        "created_at",
        "age",
        "last_activity",
        "awaiting",
        "status",
        "sync_state",
    )
    list_display_links = ("subject",)
    list_filter = (SupportCaseStateFilter, SupportCategoryFilter)
    search_fields = (
        "subject",
        "description",
        "=case_number",
        "=salesforce_id",
        "user__email",
        "user__first_name",
        "user__last_name",
    )
    search_help_text = _("Subject, text, case number, Salesforce ID, customer email or name")

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        return selectors.support_case_queue_items()

    def record_title(self, obj: Any) -> str:
        return str(obj.subject)

    @admin.display(description=_("category"))
    def category(self, obj: Any) -> str:
        return str(SupportCategory(support_description_parse(obj.description).category).label)

    @admin.display(description=_("age"), ordering="created_at")
    def age(self, obj: Any) -> str:
        return age_label(obj.created_at)

    @admin.display(description=_("last comment"), ordering="last_comment_at")
    def last_activity(self, obj: Any) -> str:
        return age_label(obj.last_comment_at) if obj.last_comment_at else "—"

    @admin.display(description=_("waiting for"))
    def awaiting(self, obj: Any) -> str:
        if obj.status == CaseStatus.CLOSED:
            return "—"
        if obj.last_comment_from_agent:
            return badge(gettext("Customer"), "muted")
        return badge(gettext("Agent"), "warning")

    def checklist_context(self, request: HttpRequest, obj: Any) -> dict[str, Any]:
        description = support_description_parse(obj.description)
        return {
            "category": SupportCategory(description.category).label,
            "request_text": description.text,
            "whmcs_service_id": description.whmcs_service_id,
            "state": case_state(obj),
            "thread": selectors.support_case_thread(case=obj),
            "age_label": age_label(obj.created_at),
            "closed": obj.status == CaseStatus.CLOSED,
        }


# --- Stuck registrations ----------------------------------------------------------------------


class RegistrationStateFilter(QueueStateFilter):
    """Stuck registrations by default (needing attention, or in progress too long); any status
    on request."""

    STUCK = "stuck"
    title = _("status")
    parameter_name = "state"
    field = "status"
    default = STUCK
    states = [(STUCK, _("Stuck")), *RegistrationAttempt.Status.choices]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        if self.value() == self.STUCK:
            return queryset.filter(selectors.registration_stuck_q())
        return super().queryset(request, queryset)


REGISTRATION_STEP_LABELS = {
    STEP_SALESFORCE_ACCOUNT: _("Salesforce Account and Contact"),
    STEP_WHMCS_CLIENT: _("WHMCS client"),
    STEP_ID_MAPPING: _("ID mapping"),
    "abandoned": _("Abandoned"),
}
REGISTRATION_OUTCOME_LABELS = {
    "started": _("Started"),
    "succeeded": _("Done"),
    "adopted": _("Found what an earlier try created"),
    "failed": _("Failed"),
}
REGISTRATION_DETAIL_LABELS = {
    "salesforce_account_id": _("Salesforce Account ID"),
    "salesforce_contact_id": _("Salesforce Contact ID"),
    "whmcs_client_id": _("WHMCS client ID"),
    "user_id": _("Portal user ID"),
    "error": _("Error"),
    "retryable": _("A later try can succeed"),
    "reason": _("Reason"),
}


@dataclass(frozen=True)
class RegistrationLogEntry:
    """One entry of a registration's steps log, as a supervisor reads it."""

    at: datetime | None
    step: str
    outcome: str
    failed: bool
    details: list[tuple[str, str]]


def registration_log(steps: list[dict[str, Any]]) -> list[RegistrationLogEntry]:
    """The attempt's ``steps`` with translated labels and aware times (shown in Asia/Tokyo)."""
    entries = []
    for step in steps:
        details = []
        for key, value in step.items():
            if key in ("step", "status", "at"):
                continue
            if isinstance(value, bool):
                value = gettext("yes") if value else gettext("no")
            details.append((str(REGISTRATION_DETAIL_LABELS.get(key, key)), str(value)))
        try:
            at = datetime.fromisoformat(step["at"]) if step.get("at") else None
        except (TypeError, ValueError):
            at = None  # the log is written by the saga alone; a bad time shows as "—", not a 500
        entries.append(
            RegistrationLogEntry(
                at=at,
                step=str(REGISTRATION_STEP_LABELS.get(step.get("step", ""), step.get("step", ""))),
                outcome=str(REGISTRATION_OUTCOME_LABELS.get(step.get("status", ""), step.get("status", ""))),
                failed=step.get("status") == "failed",
                details=details,
            )
        )
    return entries


def _resume_registration(agent: User, obj: Any, data: dict[str, Any]) -> AgentDecision:
    return services.registration_resume(agent=agent, attempt_id=obj.pk)


def _abandon_registration(agent: User, obj: Any, data: dict[str, Any]) -> AgentDecision:
    return services.registration_abandon(agent=agent, attempt_id=obj.pk, reason=data["reason"])


@admin.register(RegistrationQueueItem)
class RegistrationQueueAdmin(QueueAdmin):
    """Registrations the saga could not finish (``apps.accounts.registration``), for supervisors."""

    checklist_template = "console/registration_checklist.html"
    subject_type = SubjectType.REGISTRATION
    decide_permission = services.REGISTRATION_PERMISSION
    decisions = (
        Decision(
            "resume",
            _("Resume"),
            console_forms.ResumeRegistrationForm,
            services.REGISTRATION_PERMISSION,
            _resume_registration,
            _("Resumed: the worker tries the remaining steps again now."),
        ),
        Decision(
            "abandon",
            _("Abandon"),
            console_forms.AbandonRegistrationForm,
            services.REGISTRATION_PERMISSION,
            _abandon_registration,
            _("Abandoned: the portal user is removed and what was created is listed as orphaned."),
            danger=True,
        ),
    )
    list_display = (
        "email",
        "customer_number",
        "source",
        "status",
        "failed_step_label",
        "short_error",
        "tries",
        "next_try_at",
        "age",
    )
    list_display_links = ("email",)
    list_filter = (RegistrationStateFilter, "source")
    search_fields = ("email", "=customer_number", "=salesforce_account_id", "=salesforce_contact_id")
    search_help_text = _("Email, customer number or Salesforce ID")

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        return selectors.registration_queue_items()

    def decision_available(self, obj: Any, decision: Decision) -> bool:
        return bool(obj.status == RegistrationAttempt.Status.NEEDS_ATTENTION)

    def record_title(self, obj: Any) -> str:
        return str(obj.email)

    def salesforce_id(self, obj: Any) -> str:
        return str(obj.salesforce_account_id)

    def extra_outbox_keys(self, obj: Any) -> tuple[str, ...]:
        # The Account's writes (its WHMCS id, its deactivation) are the registration's own.
        return (account_record_key(obj.salesforce_account_id),) if obj.salesforce_account_id else ()

    @admin.display(description=_("failed step"), ordering="failed_step")
    def failed_step_label(self, obj: Any) -> str:
        return str(REGISTRATION_STEP_LABELS.get(obj.failed_step, obj.failed_step)) or "—"

    @admin.display(description=_("error"))
    def short_error(self, obj: Any) -> str:
        return Truncator(obj.error).chars(80) or "—"

    @admin.display(description=_("age"), ordering="created_at")
    def age(self, obj: Any) -> str:
        return age_label(obj.created_at)

    def checklist_context(self, request: HttpRequest, obj: Any) -> dict[str, Any]:
        return {
            "log": registration_log(obj.steps),
            "records": selectors.registration_records(attempt=obj),
            "failed_step_label": self.failed_step_label(obj),
            "age_label": age_label(obj.created_at),
            "needs_attention": obj.status == RegistrationAttempt.Status.NEEDS_ATTENTION,
            "in_progress": obj.status == RegistrationAttempt.Status.IN_PROGRESS,
        }


# --- Decision log -----------------------------------------------------------------------------


@admin.register(AgentDecision)
class AgentDecisionAdmin(DecisionLinksMixin, admin.ModelAdmin):
    """The read-only log of every console decision."""

    class Media:
        css = {"all": ["console/console.css"]}

    list_display = ("created_at", "agent", "customer", "subject_type", "subject_id", "action", "short_note")
    list_filter = ("action", "subject_type", ("agent", admin.RelatedOnlyFieldListFilter))
    search_fields = ("customer__email", "agent__email", "subject_id", "note")
    list_select_related = ("agent", "customer")
    date_hierarchy = "created_at"
    actions = None
    fields = (
        "created_at",
        "agent",
        "customer",
        "subject_type",
        "subject_id",
        "action",
        "note",
        "changes",
        "outbox_entry",
    )
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: AgentDecision | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: AgentDecision | None = None) -> bool:
        return False

    @admin.display(description=_("changes"))
    def changes(self, obj: AgentDecision) -> str:
        """The values the decision changed, in words (never the raw JSON)."""
        rows = history.decision_change_rows(obj)
        if not rows:
            return "—"
        return format_html(
            '<table class="console-changes"><thead><tr><th>{}</th><th>{}</th><th>{}</th></tr></thead>'
            "<tbody>{}</tbody></table>",
            gettext("Field"),
            gettext("Before"),
            gettext("After"),
            format_html_join(
                "",
                "<tr><td>{}</td><td>{}</td><td>→ {}</td></tr>",
                ((r.label, r.before, r.after) for r in rows),
            ),
        )

    @admin.display(description=_("note"))
    def short_note(self, obj: AgentDecision) -> str:
        return obj.note if len(obj.note) <= 80 else f"{obj.note[:79]}…"


from apps.console import admin_lockouts, admin_sync  # noqa: E402,F401  (the write queue; lockouts relabelled)
