"""Log lines with the ids involved, so one grep finds everything about an order or a customer."""

from __future__ import annotations

import logging

from portal.request_id import current_request_id

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


class RequestIdFilter(logging.Filter):
    """Puts ``request_id`` on every record written while a request is answered
    (``portal.request_id``), so the id in an error body finds the request's log lines."""

    def filter(self, record: logging.LogRecord) -> bool:
        request_id = current_request_id()
        if request_id is not None and not hasattr(record, "request_id"):
            record.request_id = request_id
        return True
