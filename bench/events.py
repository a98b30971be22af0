"""Benchmark 3: account status events from the emulator's bus to committed notifications.

One subscriber process (``manage.py run_events_subscriber`` through ``bench/subscriber.py``) is
pointed at the emulator with the ``SF_*`` variables, as in production. The clock runs from the
first publish to the moment the last expected notification is visible in the database (polled
every 10 ms from this process, so it is committed). Each of 5,000 events carries one final
status (eligible, ineligible, verified, rejected) for a distinct customer; 200 redeliveries of
decisions already made follow them and must add nothing.

The baseline is the same handler work in-process: ``process_events`` called directly on decoded
events in batches of 100, as the subscriber fetches them (no gRPC, no Avro), timed per event and
split into SQL statements, commit and the rest.
"""

from __future__ import annotations

import signal
import subprocess
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import connection

from apps.devtools.emulators import process_environment
from apps.integrations.models import EventReplayCursor
from apps.integrations.salesforce.events import (
    acquire_lease,
    autodiscover_handlers,
    process_events,
    release_lease,
)
from apps.integrations.salesforce.field_map import get_field_map
from apps.integrations.salesforce.pubsub.subscriber import MAX_BATCH_SIZE, DecodedEvent
from apps.notifications.models import Notification, NotificationType
from bench.data import account_id
from bench.env import PYTHON, REPO, BenchEnv
from bench.report import Row, ms, verdict
from emulators import EmulatorSuite

EVENTS = 5_000
REDELIVERED = 200
FIRST_CUSTOMER = 2  # customers 2..5001 get one decision each
WARMUP_CUSTOMER = 9_000
PROFILE_CUSTOMERS = range(9_001, 9_301)  # the in-process baseline's 300 events
TARGET_RATE = 2_000  # issue 19: when the machine is quiet
DECISION_TYPES = [
    NotificationType.ELIGIBILITY_ELIGIBLE,
    NotificationType.ELIGIBILITY_INELIGIBLE,
    NotificationType.VERIFICATION_VERIFIED,
    NotificationType.VERIFICATION_REJECTED,
]


def topic() -> str:
    return str(settings.SALESFORCE["ACCOUNT_EVENT_CHANNEL"])


def decision_payload(user_id: int, kind: int) -> dict[str, Any]:
    """The flow's event for one final decision on customer ``user_id`` (kind 0-3, see DECISION_TYPES)."""
    fm = get_field_map()
    event = fm.attributes(topic().rsplit("/", 1)[-1])
    now_ms = int(time.time() * 1000)
    payload: dict[str, Any] = {
        event["account_id"]: account_id(user_id),
        event["internet_eligibility_status"]: None,
        event["id_verification_status"]: None,
    }
    if kind in (0, 1):
        status = "eligible" if kind == 0 else "ineligible"
        payload[event["internet_eligibility_status"]] = fm.to_salesforce(
            "Account", "internet_eligibility_status", status
        )
        payload[event["internet_eligibility"]] = "Home 1G" if kind == 0 else None
        payload[event["internet_eligibility_notes"]] = None if kind == 0 else "No fibre in the building yet."
        payload[event["internet_eligibility_requested_at"]] = now_ms - 3 * 86_400_000
        payload[event["internet_eligibility_checked_at"]] = now_ms
    else:
        status = "verified" if kind == 2 else "rejected"
        payload[event["id_verification_status"]] = fm.to_salesforce(
            "Account", "id_verification_status", status
        )
        payload[event["id_verification_rejection_message"]] = (
            None if kind == 2 else "The photo is blurred; please upload it again."
        )
    return payload


@dataclass
class SqlTimer:
    statements: int = 0
    seconds: float = 0.0
    commits: int = 0
    commit_seconds: float = 0.0
    kinds: Counter[str] = field(default_factory=Counter)

    def __call__(self, execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            self.statements += 1
            self.seconds += time.perf_counter() - started
            self.kinds[statement_kind(sql)] += 1


def statement_kind(sql: str) -> str:
    verb = sql.lstrip().split(None, 1)[0].upper()
    if verb in ("SAVEPOINT", "RELEASE", "ROLLBACK"):
        return "savepoint"
    if verb == "SELECT" and sql.rstrip().upper().endswith("FOR UPDATE"):
        return "row lock"
    return verb.lower()


def decision_notifications(user_ids: range, since: datetime) -> int:
    return Notification.objects.filter(
        user_id__in=user_ids, type__in=DECISION_TYPES, created_at__gte=since
    ).count()


def run(env: BenchEnv, suite: EmulatorSuite, *, budget: float = 200.0) -> list[Row]:
    """``budget``: seconds the subscriber gets for the 5,000 events; a slower one is stopped there
    and measured on what it committed, so the whole run stays inside its time limit."""
    channel = topic()
    customers = range(FIRST_CUSTOMER, FIRST_CUSTOMER + EVENTS)
    # Resume point stored before the subscriber starts: nothing published after it can be missed.
    EventReplayCursor.objects.update_or_create(
        topic=channel, defaults={"replay_id": suite.bus.latest_replay_id(), "lease_owner": ""}
    )
    log = env.workdir / "subscriber.log"
    total_events = 1 + EVENTS + REDELIVERED
    with log.open("wb") as output:
        process = subprocess.Popen(  # noqa: S603 - our own command line
            [
                str(PYTHON),
                str(REPO / "bench" / "subscriber.py"),
                "--topic",
                channel,
                "--max-events",
                str(total_events),
            ],
            cwd=REPO,
            env=env.child_env(**process_environment(suite)),
            stdout=output,
            stderr=subprocess.STDOUT,
        )
        try:
            rows, rate = _measure(suite, channel, customers, process, log, budget)
        finally:
            if process.poll() is None:
                process.terminate()
                process.wait(timeout=20)
    rows += _in_process_baseline(suite, channel, subscriber_rate=rate)
    return rows


def _measure(
    suite: EmulatorSuite,
    channel: str,
    customers: range,
    process: subprocess.Popen[bytes],
    log: Any,
    budget: float,
) -> tuple[list[Row], float]:
    # Warm-up: one event, to know the subscriber is connected and its handlers imported.
    warmup_since = datetime.now(UTC) - timedelta(seconds=1)
    suite.bus.publish(channel, decision_payload(WARMUP_CUSTOMER, 0))
    deadline = time.monotonic() + 90
    while not EventReplayCursor.objects.filter(topic=channel, events_processed__gte=1).exists():
        if process.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(
                f"the subscriber did not process the warm-up event:\n{log.read_text()[-3000:]}"
            )
        time.sleep(0.05)
    if decision_notifications(range(WARMUP_CUSTOMER, WARMUP_CUSTOMER + 1), warmup_since) != 1:
        raise RuntimeError("the warm-up event did not notify its customer")

    payloads = [decision_payload(user_id, i % 4) for i, user_id in enumerate(customers)]
    redeliveries = [payloads[i] for i in range(0, EVENTS, EVENTS // REDELIVERED)][:REDELIVERED]
    since = datetime.now(UTC) - timedelta(seconds=1)
    started = time.perf_counter()
    for payload in payloads:
        suite.bus.publish(channel, payload, event_id=str(uuid.uuid4()))
    published = time.perf_counter() - started
    for payload in redeliveries:
        suite.bus.publish(channel, payload)
    # The cursor is committed in the same transaction as each event's notification, so the
    # moment it counts the 5,000th event is the moment its notification is committed.
    cursor = EventReplayCursor.objects.filter(topic=channel)

    def processed_now() -> int:
        return int(cursor.values_list("events_processed", flat=True).first() or 0) - 1  # minus warm-up

    deadline = time.monotonic() + budget
    done = processed_now()
    while done < EVENTS:
        if process.poll() is not None:
            raise RuntimeError(f"the subscriber stopped after {done} events:\n{log.read_text()[-3000:]}")
        if time.monotonic() > deadline:
            break
        time.sleep(0.01)
        done = processed_now()
    elapsed = time.perf_counter() - started
    finished = done >= EVENTS
    if finished:
        process.wait(timeout=120)  # the redeliveries
    else:
        process.send_signal(signal.SIGTERM)  # finishes the event in hand, releases the lease
        process.wait(timeout=60)
    measured = min(done, EVENTS)
    handled = min(processed_now(), EVENTS)  # the first ``handled`` customers have had their event

    decided = customers[:handled]
    notifications = Notification.objects.filter(
        user_id__in=customers, type__in=DECISION_TYPES, created_at__gte=since
    )
    counts = Counter(notifications.values_list("user_id", flat=True))
    right_type = sum(
        1
        for user_id, kind in notifications.values_list("user_id", "type")
        if kind == DECISION_TYPES[(user_id - FIRST_CUSTOMER) % 4]
    )
    total = sum(counts.values())
    exactly_once = (
        all(counts[user_id] == 1 for user_id in decided) and total == handled and right_type == handled
    )
    processed = processed_now() + 1
    expected_processed = 1 + EVENTS + REDELIVERED if finished else processed
    rate = measured / elapsed
    stopped = "" if finished else f"; stopped at the {budget:.0f} s budget after {measured:,} events"
    rows = [
        Row(
            "3",
            f"events -> committed notifications, 1 subscriber ({EVENTS:,} events, distinct customers)",
            f"{rate:,.0f} events/s ({measured:,} in {elapsed:.1f} s; publishing took {published:.2f} s{stopped})",
            "same handlers in-process: 3 rows down",
            f"{rate / TARGET_RATE:.2f} of target",
            f">= {TARGET_RATE:,}/s",
            verdict(rate >= TARGET_RATE),
            key="6.rate",
        ),
        Row(
            "3",
            f"notifications per final decision (+{REDELIVERED} redelivered decisions)"
            if finished
            else "notifications per final decision (redeliveries not reached)",
            f"{total:,} for {handled:,} decisions; {'each' if exactly_once else 'NOT each'} customer "
            f"exactly one; right type {right_type:,}",
            f"events processed {processed:,} of {1 + EVENTS + REDELIVERED:,}",
            target="exactly 1 per customer (not issue 19's per-event check)",
            verdict=verdict(exactly_once and processed == expected_processed),
        ),
    ]
    return rows, rate


def _in_process_baseline(suite: EmulatorSuite, channel: str, *, subscriber_rate: float) -> list[Row]:
    """``process_events`` on 300 decoded events in batches of 100, in this process: where a
    subscriber's time goes."""
    autodiscover_handlers()
    owner = f"bench-profile-{uuid.uuid4().hex[:8]}"
    if not acquire_lease(channel, owner):
        raise RuntimeError("could not take the lease for the in-process baseline")
    events = []
    for i, user_id in enumerate(PROFILE_CUSTOMERS):
        replay_id = suite.bus.publish(channel, decision_payload(user_id, i % 4))
        stored = suite.bus.events(channel)[-1]
        events.append(
            DecodedEvent(channel, replay_id, stored.event_id, stored.schema_id, suite.bus.decode(stored))
        )
    timer = SqlTimer()
    wrapper = connection
    original_commit = wrapper.commit

    def timed_commit() -> None:
        started = time.perf_counter()
        try:
            original_commit()
        finally:
            timer.commits += 1
            timer.commit_seconds += time.perf_counter() - started

    wrapper.commit = timed_commit  # type: ignore[method-assign]
    try:
        with connection.execute_wrapper(timer):
            started = time.perf_counter()
            for first in range(0, len(events), MAX_BATCH_SIZE):
                process_events(channel, events[first : first + MAX_BATCH_SIZE], owner=owner)
            elapsed = time.perf_counter() - started
    finally:
        del wrapper.commit
        release_lease(channel, owner)
    n = len(events)
    per_event = elapsed / n
    sql = timer.seconds / n
    commit = timer.commit_seconds / n
    other = per_event - sql - commit
    rate = n / elapsed
    return [
        Row(
            "3",
            f"same handlers in-process (process_events on {n} decoded events in batches of "
            f"{MAX_BATCH_SIZE}, no gRPC/Avro)",
            f"{rate:,.0f} events/s = {ms(per_event)}/event",
            f"subscriber {subscriber_rate:,.0f} events/s",
            f"{subscriber_rate / rate:.2f}" if rate else "—",
        ),
        Row(
            "3",
            "per-event cost breakdown (in-process)",
            f"{timer.statements / n:.1f} SQL statements {ms(sql)} + commit {ms(commit)} + Python {ms(other)}; "
            + ", ".join(f"{count / n:.1f} {kind}" for kind, count in timer.kinds.most_common()),
            f"1 transaction per batch of {MAX_BATCH_SIZE}; ceiling {1 / per_event:,.0f}/s on one connection",
        ),
    ]
