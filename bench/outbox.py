"""Benchmark 5: 10,000 single-record Account updates through the outbox, with injected failures.

10,000 Accounts are created in the emulator's store directly (as an agent would, no API calls),
then one outbox entry each is enqueued with ``outbox_enqueue_salesforce`` (the real enqueue, in
one transaction; the after-commit Celery kick is left out so nothing delivers behind our back)
carrying a value unique to the entry. Delivery is ``outbox_deliver_due(limit=1000)`` in a loop,
with ``next_attempt_at`` reset to now between rounds so backoff does not stretch the run.

Faults: every REST request to ``/services/data`` fails with 503 ``SERVER_UNAVAILABLE`` with
probability 0.2 (a seeded random rule in front of the emulator's fault injector), and in round 3
the org's daily API limit is exhausted (403 ``REQUEST_LIMIT_EXCEEDED``) for two rounds.

Checked afterwards: every entry delivered once, every Account holds its entry's value, and the
emulator saw exactly one successful update per Account (a store listener counts them).
"""

from __future__ import annotations

import random
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone

from apps.integrations import outbox as outbox_module
from apps.integrations.models import OutboxEntry
from apps.integrations.outbox import outbox_deliver_due, outbox_enqueue_salesforce
from apps.integrations.salesforce.field_map import get_field_map
from apps.integrations.salesforce.gateway import CompositeSubrequest, SalesforceGateway, api_call_counter
from bench.report import Row, verdict
from emulators import EmulatorSuite
from emulators.salesforce.faults import DEFAULT_MESSAGES, FailureRule, FaultDecision

ENTRIES = 10_000
LIMIT_PER_ROUND = 1_000
FAILURE_RATE = 0.2
LIMIT_EXCEEDED_ROUNDS = (3, 4)
OPERATION = "bench.account_update"
MAX_ROUNDS = 200


@dataclass
class RandomFailures:
    """Fail each ``/services/data`` request with probability ``rate`` (seeded, so runs repeat)."""

    decide: Any
    rate: float
    rng: random.Random
    requests: int = 0
    failed: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def __call__(self, method: str, path: str) -> FaultDecision:
        decision: FaultDecision = self.decide(method, path)
        if not path.startswith("/services/data") or decision.failure is not None:
            return decision
        with self.lock:
            self.requests += 1
            if self.rng.random() >= self.rate:
                return decision
            self.failed += 1
        rule = FailureRule(503, "SERVER_UNAVAILABLE", DEFAULT_MESSAGES["SERVER_UNAVAILABLE"])
        return FaultDecision(delay_seconds=decision.delay_seconds, failure=rule)


@dataclass
class GatewayTime:
    seconds: float = 0.0


@contextmanager
def timed_gateway() -> Iterator[GatewayTime]:
    """Time spent inside the gateway's Salesforce calls (the emulator's share of the run)."""
    total = GatewayTime()
    originals = {name: getattr(SalesforceGateway, name) for name in ("composite", "collection_update")}

    def timed(original: Callable[..., Any]) -> Callable[..., Any]:
        def call(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                total.seconds += time.perf_counter() - started

        return call

    for name, original in originals.items():
        setattr(SalesforceGateway, name, timed(original))
    try:
        yield total
    finally:
        for name, original in originals.items():
            setattr(SalesforceGateway, name, original)


def run(suite: EmulatorSuite) -> list[Row]:
    store = suite.salesforce.store
    account_field = get_field_map().field("Account", "whmcs_client_id")

    # Entries left over from earlier benchmarks (e.g. a coalesced sign-in stamp) stay out of the way.
    OutboxEntry.objects.filter(status=OutboxEntry.Status.PENDING).update(
        next_attempt_at=timezone.now() + timedelta(days=1)
    )
    started = time.perf_counter()
    accounts = store.create_records("Account", [{"Name": f"Outbox customer {i}"} for i in range(ENTRIES)])
    account_ids = [record["Id"] for record in accounts]
    expected = {account_id: f"OB{i:07d}" for i, account_id in enumerate(account_ids)}
    create_seconds = time.perf_counter() - started

    started = time.perf_counter()
    schedule = outbox_module._schedule_delivery
    outbox_module._schedule_delivery = lambda: None
    try:
        with transaction.atomic():
            for account_id, value in expected.items():
                outbox_enqueue_salesforce(
                    operation=OPERATION,
                    record_key=f"Account:{account_id}",
                    subrequests=[
                        CompositeSubrequest.update("Account", account_id, "record", {account_field: value})
                    ],
                )
    finally:
        outbox_module._schedule_delivery = schedule
    enqueue_seconds = time.perf_counter() - started

    updates: Counter[str] = Counter()

    def count_updates(sobject: str, record_id: str, before: Any, after: Any) -> None:
        if (
            sobject == "Account"
            and before is not None
            and before.get(account_field) != after.get(account_field)
        ):
            updates[record_id] += 1

    store.add_listener(count_updates)
    faults = suite.salesforce.faults
    injector = RandomFailures(faults.decide, FAILURE_RATE, random.Random(7))  # noqa: S311 - not crypto
    faults.decide = injector  # type: ignore[method-assign]
    counted_before = suite.salesforce.counters()["total"]
    sent_before = api_call_counter.value
    rounds = halted_rounds = report_calls = 0
    pending = OutboxEntry.objects.filter(operation=OPERATION).exclude(status=OutboxEntry.Status.DELIVERED)
    started = time.perf_counter()
    try:
        with timed_gateway() as in_salesforce:
            while rounds < MAX_ROUNDS and pending.exists():
                rounds += 1
                if rounds == LIMIT_EXCEEDED_ROUNDS[0]:
                    suite.salesforce.exhaust_api_limit()
                pending.filter(status=OutboxEntry.Status.PENDING).update(next_attempt_at=timezone.now())
                report = outbox_deliver_due(limit=LIMIT_PER_ROUND)
                report_calls += report.api_calls
                halted_rounds += int(report.halted)
                if rounds == LIMIT_EXCEEDED_ROUNDS[-1]:
                    suite.salesforce.store.restore_api_limit()
        seconds = time.perf_counter() - started
    finally:
        del faults.decide
        store.remove_listener(count_updates)

    entries = OutboxEntry.objects.filter(operation=OPERATION)
    delivered = entries.filter(status=OutboxEntry.Status.DELIVERED).count()
    failed = entries.filter(status=OutboxEntry.Status.FAILED).count()
    lost = sum(
        1
        for account_id, value in expected.items()
        if (store.get_record("Account", account_id) or {}).get(account_field) != value
    )
    twice = sum(1 for account_id in account_ids if updates[account_id] > 1)
    never = sum(1 for account_id in account_ids if updates[account_id] == 0)
    counted = suite.salesforce.counters()["total"] - counted_before
    sent = api_call_counter.value - sent_before
    correct = delivered == ENTRIES and failed == 0 and lost == 0 and twice == 0 and never == 0
    return [
        Row(
            "5",
            f"outbox: {ENTRIES:,} Account updates, {FAILURE_RATE:.0%} 503s + REQUEST_LIMIT_EXCEEDED "
            f"in rounds {LIMIT_EXCEEDED_ROUNDS[0]}-{LIMIT_EXCEEDED_ROUNDS[-1]}",
            f"{sent} API requests sent ({counted} accepted, {injector.failed} got 503, "
            f"{sent - counted - injector.failed} got 403); {seconds:.1f} s = {ENTRIES / seconds:,.0f} "
            f"entries/s, of which {in_salesforce.seconds:.1f} s in Salesforce calls; "
            f"{rounds} rounds of <= {LIMIT_PER_ROUND:,}",
            f"one call per entry: {ENTRIES:,}",
            f"{sent / ENTRIES:.4f}",
            f"accepted ~ {ENTRIES // 200} (200 per call)",
        ),
        Row(
            "5",
            "outbox: delivered / lost / applied twice / never applied / failed",
            f"{delivered:,} / {lost} / {twice} / {never} / {failed}",
            f"{ENTRIES:,} entries, each value unique",
            target="10,000 / 0 / 0 / 0 / 0",
            verdict=verdict(correct),
        ),
        Row(
            "5",
            "outbox: set-up (agent-side Account creates; enqueue in one transaction)",
            f"{create_seconds:.1f} s; {enqueue_seconds:.1f} s = {ENTRIES / enqueue_seconds:,.0f} entries/s",
            f"halted rounds {halted_rounds}; report.api_calls {report_calls}",
        ),
    ]
