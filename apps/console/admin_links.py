"""The decision log's links, made for the people who read it: the agent by name (the user admin
is not theirs), the customer to the console's customer page, and the Salesforce write to the
supervisors' queue of writes, for those who may open it (a plain description for the others).
No link opens a page the reader is refused."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.contrib import admin
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from apps.console.models import AgentDecision

if TYPE_CHECKING:
    _Base = admin.ModelAdmin
else:
    _Base = object

REPLACED = {"agent": "agent_name", "customer": "customer_link"}
WRITE_PERMISSION = "console.view_salesforcewritequeueitem"


class DecisionLinksMixin(_Base):
    def _linked_fields(self, request: HttpRequest, fields: Any) -> list[str]:
        write_field = (
            "salesforce_write_link" if request.user.has_perm(WRITE_PERMISSION) else "salesforce_write"
        )
        result = []
        for name in fields:
            if name == "outbox_entry":
                result.append(write_field)
            else:
                result.append(REPLACED.get(name, name))
        return result

    def get_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return self._linked_fields(request, super().get_fields(request, obj))

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return self._linked_fields(request, super().get_readonly_fields(request, obj))

    @admin.display(description=_("agent"))
    def agent_name(self, obj: AgentDecision) -> str:
        if obj.agent is None:
            return "—"
        return obj.agent.get_full_name() or obj.agent.email

    @admin.display(description=_("customer"))
    def customer_link(self, obj: AgentDecision) -> str:
        if obj.customer is None:
            return "—"
        url = reverse("admin:console_customer", args=[obj.customer_id])
        return format_html('<a href="{}">{}</a>', url, obj.customer.email)

    @admin.display(description=_("Salesforce write"))
    def salesforce_write(self, obj: AgentDecision) -> str:
        entry = obj.outbox_entry
        if entry is None:
            return "—"
        return f"{entry.operation} · {entry.get_status_display()}"

    @admin.display(description=_("Salesforce write"))
    def salesforce_write_link(self, obj: AgentDecision) -> str:
        entry = obj.outbox_entry
        if entry is None:
            return "—"
        url = reverse("admin:console_salesforcewritequeueitem_change", args=[entry.pk])
        return format_html('<a href="{}">{} · {}</a>', url, entry.operation, entry.get_status_display())
