"""One retry policy for everything that talks to Salesforce or WHMCS.

* **Whether**: the error says if trying again can help. ``SalesforceError`` and ``WhmcsError``
  carry ``retryable`` (outages, timeouts, API limits: yes; a malformed request, bad credentials,
  a business refusal: no, they would fail the same way again). ``is_retryable`` reads it.
* **When**: ``Backoff``, exponential and capped, with jitter so that many clients never retry in
  step. Each caller names its own policy (the outbox, fulfillment, sync tasks, the events
  subscriber's reconnects, WHMCS reads) with the same helper.
* **Tasks**: ``RetryableErrorTask`` is the Celery task base that retries a task whose error is
  retryable, on its ``backoff``, up to ``max_retries``; any other error fails the task at once.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

from celery import Task


@dataclass(frozen=True)
class Backoff:
    """``initial * multiplier**attempt`` seconds, at most ``maximum``, then reduced by a random
    fraction of up to ``jitter``."""

    initial: float
    maximum: float
    multiplier: float = 2.0
    jitter: float = 0.5

    def delay(self, attempt: int) -> float:
        """Seconds to wait before the next try, ``attempt`` tries after the first one failed
        (0 for the first retry)."""
        base = min(self.maximum, self.initial * self.multiplier ** min(max(attempt, 0), 32))
        return base * (1.0 - self.jitter * random.random())  # noqa: S311 - jitter, not cryptography


def is_retryable(error: BaseException) -> bool:
    """Whether the error says a later try can succeed (see the module docstring)."""
    return bool(getattr(error, "retryable", False))


class RetryableErrorTask(Task):
    """A task retried on ``backoff`` when its error is retryable, up to ``max_retries`` times.

    Use it as ``@shared_task(base=RetryableErrorTask, ...)``; a task may set its own ``backoff``
    and ``max_retries`` in the decorator.
    """

    backoff = Backoff(initial=30, maximum=15 * 60)
    max_retries = 5

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        try:
            return super().__call__(*args, **kwargs)
        except Exception as exc:
            if is_retryable(exc) and self.request.retries < self.max_retries:
                raise self.retry(exc=exc, countdown=self.backoff.delay(self.request.retries)) from exc
            raise
