"""Log lines with the ids involved, so one grep finds everything about an order or a customer."""

from __future__ import annotations

import logging

_STANDARD_ATTRIBUTES = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {
    "message",
    "asctime",
}


class ContextFormatter(logging.Formatter):
    """The plain format plus ``key=value`` for every ``extra=`` field the caller passed, e.g.
    ``salesforce_order_id=801… whmcs_order_id=42``. Callers never pass secrets as extras."""

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        extras = {key: value for key, value in vars(record).items() if key not in _STANDARD_ATTRIBUTES}
        if not extras:
            return line
        return line + " " + " ".join(f"{key}={value}" for key, value in sorted(extras.items()))
