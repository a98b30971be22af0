"""Decision history in words: the changes an ``AgentDecision`` recorded, as an agent reads them.

A decision stores the subject's values before and after it (``before`` / ``after``, JSON, keyed by
model field names, times as UTC ISO strings). Here each key becomes the field's label, each value
the label of its choice, yes/no, or a time in Asia/Tokyo (the console's ``TIME_ZONE``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.apps import apps
from django.core.exceptions import FieldDoesNotExist
from django.db import models
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.text import capfirst
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from apps.console.models import AgentDecision, DecisionAction, SubjectType

SUBJECT_MODELS = {
    SubjectType.ELIGIBILITY: "accounts.CustomerProfile",
    SubjectType.ID_VERIFICATION: "verification.ResidenceCardSubmission",
    SubjectType.ORDER: "checkout.Order",
    SubjectType.CANCELLATION: "opportunities.Opportunity",
    SubjectType.SUPPORT_CASE: "opportunities.Case",
    SubjectType.REGISTRATION: "accounts.RegistrationAttempt",
}
OUTBOX_ACTIONS = (DecisionAction.RETRY_SYNC, DecisionAction.RESOLVE_SYNC)

EXTRA_LABELS = {
    "salesforce_ids": _("Salesforce IDs"),
    "attempts": _("attempts"),
    "tries": _("tries"),
    "user_id": _("portal user ID"),
    "comment": _("comment"),
    "comment_id": _("comment"),
    "notes": _("notes"),
}

_ISO_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}")


@dataclass(frozen=True)
class ChangeRow:
    label: str
    before: str
    after: str


def subject_model(decision: AgentDecision) -> type[models.Model] | None:
    """The model whose fields the decision recorded (the outbox entry for sync decisions)."""
    if decision.action in OUTBOX_ACTIONS:
        return apps.get_model("integrations.OutboxEntry")
    label = SUBJECT_MODELS.get(decision.subject_type)  # type: ignore[call-overload]
    return apps.get_model(label) if label else None


def _field(model: type[models.Model] | None, name: str) -> models.Field[Any, Any] | None:
    if model is None:
        return None
    try:
        field = model._meta.get_field(name)
    except FieldDoesNotExist:
        try:
            field = model._meta.get_field(name.removesuffix("_id"))
        except FieldDoesNotExist:
            return None
    return field if isinstance(field, models.Field) else None


def field_label(model: type[models.Model] | None, key: str) -> str:
    parts = key.split(".")
    field = _field(model, parts[0])
    if field is not None:
        head = str(capfirst(field.verbose_name))
    elif parts[0] in EXTRA_LABELS:
        head = str(capfirst(EXTRA_LABELS[parts[0]]))
    else:
        head = capfirst(parts[0].replace("_", " "))
    return " › ".join([head, *parts[1:]])


def value_label(model: type[models.Model] | None, key: str, value: Any) -> str:
    """A recorded value in words: "—" for nothing, choice labels, yes/no, times in Asia/Tokyo."""
    if value is None or value == "":
        return "—"
    if isinstance(value, bool):
        return gettext("yes") if value else gettext("no")
    field = _field(model, key.split(".")[0])
    if field is not None and field.choices:
        for choice, label in field.flatchoices:
            if str(choice) == str(value):
                return str(label)
    if isinstance(value, str) and _ISO_TIME.match(value):
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            return value
        if timezone.is_naive(moment):
            moment = timezone.make_aware(moment, timezone.get_default_timezone())
        return date_format(timezone.localtime(moment), "SHORT_DATETIME_FORMAT")
    if isinstance(value, list):
        return ", ".join(str(item) for item in value) or "—"
    return str(value)


def _flatten(values: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, value in values.items():
        if isinstance(value, dict):
            flat.update(_flatten(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = value
    return flat


def decision_change_rows(decision: AgentDecision) -> list[ChangeRow]:
    """One row per value the decision changed: field label, old → new in words."""
    model = subject_model(decision)
    before, after = _flatten(decision.before or {}), _flatten(decision.after or {})
    return [
        ChangeRow(
            label=field_label(model, key),
            before=value_label(model, key, before.get(key)),
            after=value_label(model, key, after.get(key)),
        )
        for key in sorted(before.keys() | after.keys())
        if before.get(key) != after.get(key)
    ]
