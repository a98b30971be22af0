"""What a status transition changed, as its owning service reports it to the caller.

Each status has one owner: a service in the app that owns the record (README, "Who changes a
status"). An owning service that an agent's decision calls returns a ``Transition``, so the agent
console can keep its audit row (who decided, the values before and after, the Salesforce write)
without reading or writing the record itself.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from django.db import models

if TYPE_CHECKING:
    from apps.integrations.models import OutboxEntry


@dataclass(frozen=True)
class Transition:
    """A committed status change: whose record it was, the values it changed before and after
    (JSON-ready, see ``field_values``; nested per record when it changed several), and the
    outbox entry that carries it to Salesforce."""

    user_id: int
    before: dict[str, Any]
    after: dict[str, Any]
    outbox_entry: OutboxEntry


def _json_value(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value


def field_values(instance: models.Model, fields: Iterable[str]) -> dict[str, Any]:
    """``{field: value}`` of ``instance``, as JSON can hold them (dates in ISO 8601, decimals as
    text)."""
    return {name: _json_value(getattr(instance, name)) for name in fields}
