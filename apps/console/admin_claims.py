"""The queues' claims in the admin: claim / release / assign on the record page, a "claimed
by" column and a "my items" filter on the list, and "save and next" (the next oldest unclaimed
open item of the same queue, claimed for the agent). ``QueueAdmin`` mixes this in."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.db.models import Model, QuerySet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseNotAllowed, HttpResponseRedirect
from django.urls import URLPattern, path, reverse
from django.utils.html import format_html
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from apps.accounts.models import User
from apps.console import claims
from apps.console.models import QueueClaim, SubjectType
from portal.exceptions import ApplicationError

if TYPE_CHECKING:
    _Base = admin.ModelAdmin
else:
    _Base = object


class ClaimFilter(admin.SimpleListFilter):
    """My items, unclaimed items, or everyone's."""

    title = _("claimed by")
    parameter_name = "claim"
    MINE, UNCLAIMED, CLAIMED = "mine", "unclaimed", "claimed"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list[tuple[str, Any]]:
        return [(self.MINE, _("My items")), (self.UNCLAIMED, _("Unclaimed")), (self.CLAIMED, _("Claimed"))]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        subject_type: SubjectType = self.model_admin.subject_type
        value = self.value()
        if value == self.MINE:
            return claims.queue_claimed_filter(queryset, subject_type=subject_type, agent=request.user)  # type: ignore[arg-type]
        if value == self.UNCLAIMED:
            return claims.queue_claimed_filter(queryset, subject_type=subject_type, agent=None, claimed=False)
        if value == self.CLAIMED:
            return claims.queue_claimed_filter(queryset, subject_type=subject_type, agent=None)
        return queryset

    def __init__(self, request: HttpRequest, params: Any, model: Any, model_admin: Any) -> None:
        self.model_admin = model_admin
        super().__init__(request, params, model, model_admin)


def _agent_name(user: Any) -> str:
    return str(user.get_full_name() or user.email)


class AssignForm(forms.Form):
    assignee = forms.ModelChoiceField(label=_("Assign to"), queryset=User.objects.none())

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["assignee"]
        assert isinstance(field, forms.ModelChoiceField)
        field.queryset = claims.queue_assignees()
        field.label_from_instance = _agent_name  # type: ignore[method-assign,assignment]


class ClaimsMixin(_Base):
    subject_type: SubjectType

    def _url_name(self, suffix: str) -> str:
        raise NotImplementedError

    def record_url(self, obj: Model) -> str:
        raise NotImplementedError

    def claim_urls(self) -> list[URLPattern]:
        return [
            path(
                f"<path:object_id>/{action}/",
                self.admin_site.admin_view(getattr(self, f"{action.replace('-', '_')}_view")),
                name=self._url_name(action.replace("-", "_")),
            )
            for action in ("claim", "release-claim", "assign")
        ]

    # -- list --

    def get_list_display(self, request: HttpRequest) -> Any:
        return (*super().get_list_display(request), "claimed_by")

    def get_list_filter(self, request: HttpRequest) -> Any:
        return (*super().get_list_filter(request), ClaimFilter)

    def get_changelist_instance(self, request: HttpRequest) -> Any:
        changelist = super().get_changelist_instance(request)
        found = claims.queue_claims_for(
            subject_type=self.subject_type, subject_ids=[obj.pk for obj in changelist.result_list]
        )
        for obj in changelist.result_list:
            obj._console_claim = found.get(str(obj.pk))
        return changelist

    @admin.display(description=_("claimed by"))
    def claimed_by(self, obj: Any) -> str:
        claim: QueueClaim | None = getattr(obj, "_console_claim", None)
        if claim is None:
            return "—"
        return format_html(
            '<span class="console-claim">{}</span>', claim.agent.get_full_name() or claim.agent.email
        )

    # -- record page --

    def claim_context(self, request: HttpRequest, obj: Any) -> dict[str, Any]:
        claim = claims.queue_claim_for(subject_type=self.subject_type, subject_id=obj.pk)
        can_assign = request.user.has_perm(claims.ASSIGN_PERMISSION)
        return {
            "claim": claim,
            "claim_is_mine": claim is not None and claim.agent_id == request.user.pk,
            "claim_url": reverse(
                f"admin:{self._url_name('claim')}", args=[obj.pk], current_app=self.admin_site.name
            ),
            "release_claim_url": reverse(
                f"admin:{self._url_name('release_claim')}", args=[obj.pk], current_app=self.admin_site.name
            ),
            "can_release_claim": claim is not None and (claim.agent_id == request.user.pk or can_assign),
            "assign_form": AssignForm(initial={"assignee": claim.agent_id if claim else None})
            if can_assign
            else None,
            "assign_url": reverse(
                f"admin:{self._url_name('assign')}", args=[obj.pk], current_app=self.admin_site.name
            ),
        }

    def _claim_target(self, request: HttpRequest, object_id: str) -> Any:
        if request.method != "POST":
            return None
        obj = self.get_object(request, unquote(object_id))
        if obj is None:
            raise Http404
        if not self.has_view_permission(request, obj):
            raise PermissionDenied
        return obj

    def claim_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        obj = self._claim_target(request, object_id)
        if obj is None:
            return HttpResponseNotAllowed(["POST"])
        try:
            claims.queue_item_claim(
                agent=request.user,  # type: ignore[arg-type]
                subject_type=self.subject_type,
                subject_id=obj.pk,
                customer_id=obj.user_id,
            )
        except ApplicationError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, gettext("You are working on this item."))
        return HttpResponseRedirect(self.record_url(obj))

    def release_claim_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        obj = self._claim_target(request, object_id)
        if obj is None:
            return HttpResponseNotAllowed(["POST"])
        claims.queue_item_release(
            agent=request.user,  # type: ignore[arg-type]
            subject_type=self.subject_type,
            subject_id=obj.pk,
            customer_id=obj.user_id,
        )
        messages.success(request, gettext("The item is released."))
        return HttpResponseRedirect(self.record_url(obj))

    def assign_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        obj = self._claim_target(request, object_id)
        if obj is None:
            return HttpResponseNotAllowed(["POST"])
        if not request.user.has_perm(claims.ASSIGN_PERMISSION):
            raise PermissionDenied
        form = AssignForm(request.POST)
        if not form.is_valid():
            messages.error(request, gettext("Choose an agent of the console."))
            return HttpResponseRedirect(self.record_url(obj))
        try:
            claims.queue_item_assign(
                supervisor=request.user,  # type: ignore[arg-type]
                subject_type=self.subject_type,
                subject_id=obj.pk,
                customer_id=obj.user_id,
                assignee_id=form.cleaned_data["assignee"].pk,
            )
        except ApplicationError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, gettext("The item is assigned."))
        return HttpResponseRedirect(self.record_url(obj))

    # -- save and next --

    def next_candidates(self, queryset: QuerySet[Any]) -> QuerySet[Any]:
        """Narrow the queue's open items to those an agent can decide next (hook)."""
        return queryset

    def next_item_url(self, request: HttpRequest, after: Any) -> str | None:
        """Claim the next oldest unclaimed open item of this queue for the agent; its URL, or
        None when the queue has no more."""
        queryset = self.get_queryset(request)
        list_filter = self.get_list_filter(request)
        state_filter = list_filter[0] if list_filter else None
        if isinstance(state_filter, type) and issubclass(state_filter, admin.SimpleListFilter):
            # The queue's default state filter: its open items.
            queryset = state_filter(request, {}, self.model, self).queryset(request, queryset) or queryset
        queryset = claims.queue_claimed_filter(
            queryset, subject_type=self.subject_type, agent=None, claimed=False
        )
        queryset = self.next_candidates(queryset.exclude(pk=after.pk))
        ordering = self.model._meta.ordering or ["pk"]
        for candidate in queryset.order_by(*ordering)[:10]:
            try:
                claims.queue_item_claim(
                    agent=request.user,  # type: ignore[arg-type]
                    subject_type=self.subject_type,
                    subject_id=candidate.pk,
                    customer_id=candidate.user_id,
                )
            except ApplicationError:
                continue  # another agent took it meanwhile
            return self.record_url(candidate)
        return None
