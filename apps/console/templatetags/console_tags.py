"""Template tags of the agent console."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django import template

from apps.console import labels
from apps.console.selectors import QueueCount, console_queue_counts
from apps.verification.models import ResidenceCardSubmission

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


@register.filter
def console_housing_type(value: str) -> str:
    return labels.housing_type_label(value)


@register.filter
def console_text(value: str) -> str:
    """A subject or note the portal generated in English, in the agent's language."""
    return labels.stored_text_label(value)


@register.filter
def console_choice(value: str, choices: Any) -> str:
    """The label of a stored choice value (``choices``: a TextChoices class)."""
    for choice, label in getattr(choices, "choices", choices):
        if str(choice) == str(value):
            return str(label)
    return value or "—"


@register.filter
def console_card_status(value: str) -> str:
    """A residence card status as stored in its history (a code), in words."""
    return console_choice(value, ResidenceCardSubmission.Status) if value else "—"
