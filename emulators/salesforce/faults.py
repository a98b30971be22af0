"""Fault injection for the Salesforce emulator: failing and slow responses on demand.

Tests and demos use it to exercise retries, backoff and the "pending sync" paths without a real
outage. Rules match on HTTP method and path prefix; a prefix without a leading ``/`` is matched
against the path below ``/services/data/vXX.X/`` (``"query"``, ``"composite"``,
``"sobjects/Account"``), one with a leading ``/`` against the full path
(``"/services/oauth2/token"``).
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass, field
from typing import Any

_DATA_PATH_RE = re.compile(r"^/services/data/v\d+\.\d+/?")

DEFAULT_MESSAGES = {
    "SERVER_UNAVAILABLE": "Server unavailable, please try again later.",
    "REQUEST_LIMIT_EXCEEDED": "TotalRequests Limit exceeded.",
    "INVALID_SESSION_ID": "Session expired or invalid",
    "UNKNOWN_EXCEPTION": "An unexpected error occurred. Please include this ErrorId if you contact support.",
}


def _matches(method: str | None, path_prefix: str, request_method: str, request_path: str) -> bool:
    if method and method.upper() != request_method.upper():
        return False
    if not path_prefix:
        return True
    if path_prefix.startswith("/"):
        return request_path.startswith(path_prefix)
    relative = _DATA_PATH_RE.sub("", request_path, count=1) if _DATA_PATH_RE.match(request_path) else None
    return relative is not None and relative.startswith(path_prefix)


@dataclass
class FailureRule:
    """Answer the next ``remaining`` matching requests with ``status`` / ``error_code``."""

    status: int
    error_code: str
    message: str
    method: str | None = None
    path_prefix: str = ""
    remaining: int = 1

    def as_json(self) -> dict[str, Any]:
        return {
            "kind": "failure",
            "status": self.status,
            "error_code": self.error_code,
            "message": self.message,
            "method": self.method,
            "path_prefix": self.path_prefix,
            "remaining": self.remaining,
        }


@dataclass
class LatencyRule:
    """Delay matching requests by ``seconds``; ``remaining=None`` means until cleared."""

    seconds: float
    method: str | None = None
    path_prefix: str = ""
    remaining: int | None = None

    def as_json(self) -> dict[str, Any]:
        return {
            "kind": "latency",
            "seconds": self.seconds,
            "method": self.method,
            "path_prefix": self.path_prefix,
            "remaining": self.remaining,
        }


@dataclass
class LoseAnswerRule:
    """Carry out the next ``remaining`` matching requests, then drop the connection unanswered:
    the caller cannot tell whether its write happened."""

    method: str | None = None
    path_prefix: str = ""
    remaining: int = 1

    def as_json(self) -> dict[str, Any]:
        return {
            "kind": "lose_answer",
            "method": self.method,
            "path_prefix": self.path_prefix,
            "remaining": self.remaining,
        }


@dataclass(frozen=True)
class FaultDecision:
    delay_seconds: float = 0.0
    failure: FailureRule | None = None
    lose_answer: bool = False


@dataclass
class FaultInjector:
    """Thread-safe rule list consulted once per incoming request."""

    _failures: list[FailureRule] = field(default_factory=list)
    _latencies: list[LatencyRule] = field(default_factory=list)
    _lost_answers: list[LoseAnswerRule] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def fail_next(
        self,
        count: int = 1,
        *,
        status: int = 503,
        error_code: str = "SERVER_UNAVAILABLE",
        message: str | None = None,
        method: str | None = None,
        path_prefix: str = "",
    ) -> FailureRule:
        """Fail the next ``count`` matching requests (e.g. ``status=403, error_code="REQUEST_LIMIT_EXCEEDED"``)."""
        if count < 1:
            raise ValueError("count must be at least 1")
        rule = FailureRule(
            status=status,
            error_code=error_code,
            message=message or DEFAULT_MESSAGES.get(error_code, f"Injected fault {error_code}"),
            method=method,
            path_prefix=path_prefix,
            remaining=count,
        )
        with self._lock:
            self._failures.append(rule)
        return rule

    def add_latency(
        self, seconds: float, *, method: str | None = None, path_prefix: str = "", count: int | None = None
    ) -> LatencyRule:
        rule = LatencyRule(seconds=seconds, method=method, path_prefix=path_prefix, remaining=count)
        with self._lock:
            self._latencies.append(rule)
        return rule

    def lose_answer_next(
        self, count: int = 1, *, method: str | None = None, path_prefix: str = ""
    ) -> LoseAnswerRule:
        """Carry out the next ``count`` matching requests but never answer them."""
        if count < 1:
            raise ValueError("count must be at least 1")
        rule = LoseAnswerRule(method=method, path_prefix=path_prefix, remaining=count)
        with self._lock:
            self._lost_answers.append(rule)
        return rule

    def clear(self) -> None:
        with self._lock:
            self._failures.clear()
            self._latencies.clear()
            self._lost_answers.clear()

    def decide(self, method: str, path: str) -> FaultDecision:
        """Consume the rules that match this request and say what to do with it."""
        with self._lock:
            delay = 0.0
            for latency in list(self._latencies):
                if _matches(latency.method, latency.path_prefix, method, path):
                    delay += latency.seconds
                    if latency.remaining is not None:
                        latency.remaining -= 1
                        if latency.remaining <= 0:
                            self._latencies.remove(latency)
            failure = None
            for rule in self._failures:
                if _matches(rule.method, rule.path_prefix, method, path):
                    rule.remaining -= 1
                    if rule.remaining <= 0:
                        self._failures.remove(rule)
                    failure = rule
                    break
            lose_answer = False
            if failure is None:
                for lost in self._lost_answers:
                    if _matches(lost.method, lost.path_prefix, method, path):
                        lost.remaining -= 1
                        if lost.remaining <= 0:
                            self._lost_answers.remove(lost)
                        lose_answer = True
                        break
            return FaultDecision(delay_seconds=delay, failure=failure, lose_answer=lose_answer)

    def snapshot(self) -> list[dict[str, Any]]:
        with self._lock:
            return [
                rule.as_json()
                for rules in (self._failures, self._latencies, self._lost_answers)
                for rule in rules
            ]
