"""Template tags of the agent console."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django import template

from apps.console.selectors import QueueCount, console_queue_counts

register = template.Library()


@register.simple_tag(takes_context=True)
def console_queues(context: dict[str, Any]) -> list[QueueCount]:
    """The open items of each queue the signed-in agent may see (for the admin index)."""
    request = context.get("request")
    user = getattr(request, "user", None)
    if user is None or not user.is_active or not user.is_staff:
        return []
    return console_queue_counts(user=user)


@register.filter
def console_age(since: datetime | None) -> str:
    """How long ago ``since`` was, in days and hours (minutes when under an hour)."""
    from apps.console.admin import age_label  # the admin module registers the queues

    return age_label(since)
