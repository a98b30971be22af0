"""Benchmark 3: account status events from the emulator's bus to committed notifications.

Three measurements in one run, each on its own customers:

1. **Through the subscriber**: one ``manage.py run_events_subscriber`` process (through
   ``bench/subscriber.py``), pointed at the emulator with the ``SF_*`` variables as in production
   (gRPC, Avro, TLS). 5,000 events of which every fifth is for a customer seen three events
   earlier (20% repeats inside a fetched batch; that customer's other decision, so every event has
   an effect of its own). The clock runs from the first publish until the topic's cursor, which
   commits with each batch's effects, counts the 5,000th event.
2. **The database's limit for the same work**: 5,000 events of the same plan, published to the
   bus and decoded before the clock starts, written by ONE statement per batch of 100 (a CTE that
   inserts the notifications, updates the profile mirrors and moves a cursor, from the batch as
   one JSON parameter), one commit per batch: no Python per event.
3. **Exactly once per event under a crash**: 2,000 events of the same plan are published to the
   measured subscriber, still running; once it has committed 600 of them and was served more, it
   is killed with SIGKILL, then a new subscriber resumes from the stored replay ID and the
   emulator serves the replay IDs after it again. Each event is checked for exactly one effect (its
   notification, by customer and type, unique per event in the plan), none missing, none doubled,
   the mirror at each customer's latest decision, and the cursor counting each event once.

The in-process breakdown (``process_events`` on decoded events, no gRPC/Avro) says where a
batch's time goes.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import connection, transaction

from apps.accounts.models import CustomerProfile, IdMapping
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
from bench.data import account_id, insert_select_sql
from bench.env import PYTHON, REPO, BenchEnv
from bench.report import Row, ms, verdict
from emulators import EmulatorSuite

EVENTS = 5_000
CRASH_EVENTS = 2_000
KILL_AFTER = 600  # committed events before the SIGKILL
REPEAT_EVERY = 5  # every 5th event is for the customer of 3 events before: 20% repeats
FIRST_CUSTOMER = 2  # the subscriber's 4,000 customers: 2..4001
LIMIT_FIRST_CUSTOMER = 10_002  # the database limit's: 10,002..14,001
CRASH_FIRST_CUSTOMER = 20_002  # the crash's: 20,002..21,601
WARMUP_CUSTOMER = 9_000
PROFILE_CUSTOMERS = range(9_001, 9_301)  # the in-process breakdown's 300 events
TARGET_RATE = 2_000  # issue 19: when the machine is quiet
TARGET_LIMIT_RATIO = 0.2
DECISION_TYPES = [
    NotificationType.ELIGIBILITY_ELIGIBLE,
    NotificationType.ELIGIBILITY_INELIGIBLE,
    NotificationType.VERIFICATION_VERIFIED,
    NotificationType.VERIFICATION_REJECTED,
]
DECISION_STATUSES = ["eligible", "ineligible", "verified", "rejected"]


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


def event_plan(first_customer: int, n: int) -> list[tuple[int, int]]:
    """``(user_id, kind)`` per event: new customers in turn, and every ``REPEAT_EVERY``-th event
    for the customer of three events before (so in the same fetched batch), with that customer's
    next decision kind: a customer's two events are two decisions of different types (eligible
    then ineligible, ineligible then verified, ...), each with its own notification."""
    plan: list[tuple[int, int]] = []
    customer = first_customer
    for i in range(n):
        if i % REPEAT_EVERY == REPEAT_EVERY - 1:
            user_id, kind = plan[i - 3]
            plan.append((user_id, (kind + 1) % 4))
        else:
            plan.append((customer, i % 4))
            customer += 1
    return plan


@dataclass(frozen=True)
class EventCheck:
    """Each planned event's effect, counted: its notification (customer + type, unique per event
    in a plan) and the mirror at each customer's latest decision of each kind."""

    events: int
    once: int
    missing: int
    doubled: int
    extra: int
    wrong_mirror: int

    @property
    def ok(self) -> bool:
        return self.once == self.events and not (
            self.missing or self.doubled or self.extra or self.wrong_mirror
        )

    def describe(self) -> str:
        return (
            f"{self.once:,} of {self.events:,} events with exactly one notification; missing {self.missing}, "
            f"doubled {self.doubled}, unexpected {self.extra}; mirrors not at the latest decision "
            f"{self.wrong_mirror}"
        )


def check_per_event(plan: list[tuple[int, int]], since: datetime) -> EventCheck:
    users = {user_id for user_id, _ in plan}
    found = Counter(
        Notification.objects.filter(
            user_id__in=users, type__in=DECISION_TYPES, created_at__gte=since
        ).values_list("user_id", "type")
    )
    expected = [(user_id, DECISION_TYPES[kind]) for user_id, kind in plan]
    assert len(set(expected)) == len(expected), "a plan's events must have distinct effects"
    once = sum(1 for key in expected if found[key] == 1)
    missing = sum(1 for key in expected if found[key] == 0)
    doubled = sum(1 for key in expected if found[key] > 1)
    extra = sum(count for key, count in found.items() if key not in set(expected))
    latest: dict[tuple[int, str], str] = {}
    for user_id, kind in plan:  # in publishing order: the last one wins
        field_name = "internet_eligibility_status" if kind < 2 else "id_verification_status"
        latest[(user_id, field_name)] = DECISION_STATUSES[kind]
    mirrors = {
        user_id: {"internet_eligibility_status": eligibility, "id_verification_status": verification}
        for user_id, eligibility, verification in CustomerProfile.objects.filter(
            user_id__in=users
        ).values_list("user_id", "internet_eligibility_status", "id_verification_status")
    }
    wrong = sum(
        1
        for (user_id, field_name), status in latest.items()
        if mirrors.get(user_id, {}).get(field_name) != status
    )
    return EventCheck(len(plan), once, missing, doubled, extra, wrong)


def _progress(step: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}]   events: {step}", file=sys.stderr, flush=True)


def load_average() -> str:
    one, five, _ = os.getloadavg()
    return f"{one:.2f}/{five:.2f}"


def run(env: BenchEnv, suite: EmulatorSuite, *, budget: float = 200.0) -> list[Row]:
    """``budget``: seconds the subscriber gets for the 5,000 events; a slower one is stopped there
    and measured on what it committed, so the whole run stays inside its time limit.

    The limit comes first (its events go through the bus to be decoded, with no subscriber
    running); the subscriber that is measured is then the one killed in the crash, so the run
    starts two subscriber processes rather than three."""
    channel = topic()
    _progress("the database's limit")
    limit_rows, limit_rate = _database_limit(suite, channel)
    # Resume point stored before the subscriber starts: nothing published after it can be missed.
    EventReplayCursor.objects.update_or_create(
        topic=channel, defaults={"replay_id": suite.bus.latest_replay_id(), "lease_owner": ""}
    )
    log_path = env.workdir / "subscriber.log"
    with log_path.open("wb") as log:
        process = _start_subscriber(env, suite, channel, log, 1 + EVENTS + CRASH_EVENTS, *LEASE)
        try:
            _progress("through the subscriber")
            rows, rate = _measure(suite, channel, process, log_path, budget)
            _progress("SIGKILL and replay")
            crash_rows = _crash_and_replay(env, suite, channel, process, log, log_path)
        finally:
            if process.poll() is None:
                process.terminate()
                process.wait(timeout=20)
    ratio = rate / limit_rate if limit_rate else 0.0
    rows.insert(
        1,
        Row(
            "3",
            "events through the subscriber against the database's limit for the same work",
            f"subscriber {rate:,.0f} events/s",
            f"one bulk statement per batch of {MAX_BATCH_SIZE}: {limit_rate:,.0f} events/s (2 rows down)",
            f"{ratio:.2f}",
            f">= {TARGET_LIMIT_RATIO}",
            verdict(ratio >= TARGET_LIMIT_RATIO),
            key="6.limit",
        ),
    )
    rows += limit_rows
    rows += crash_rows
    _progress("in-process breakdown")
    rows += _in_process_baseline(suite, channel, subscriber_rate=rate)
    return rows


# A killed subscriber's lease expires in 3 s, and the next one checks every 0.2 s.
LEASE = ("--lease-ttl", "3", "--standby-poll", "0.2")


def _start_subscriber(
    env: BenchEnv, suite: EmulatorSuite, channel: str, log: Any, max_events: int, *extra: str
) -> subprocess.Popen[bytes]:
    return subprocess.Popen(  # noqa: S603 - our own command line
        [
            str(PYTHON),
            str(REPO / "bench" / "subscriber.py"),
            "--topic",
            channel,
            "--max-events",
            str(max_events),
            *extra,
        ],
        cwd=REPO,
        env=env.child_env(**process_environment(suite)),
        stdout=log,
        stderr=subprocess.STDOUT,
    )


def _processed(channel: str) -> int:
    return int(
        EventReplayCursor.objects.filter(topic=channel).values_list("events_processed", flat=True).first()
        or 0
    )


def _measure(
    suite: EmulatorSuite, channel: str, process: subprocess.Popen[bytes], log: Any, budget: float
) -> tuple[list[Row], float]:
    # Warm-up: one event, to know the subscriber is connected and its handlers imported.
    base = _processed(channel)
    suite.bus.publish(channel, decision_payload(WARMUP_CUSTOMER, 0))
    deadline = time.monotonic() + 90
    while _processed(channel) < base + 1:
        if process.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(
                f"the subscriber did not process the warm-up event:\n{log.read_text()[-3000:]}"
            )
        time.sleep(0.05)
    base += 1

    plan = event_plan(FIRST_CUSTOMER, EVENTS)
    payloads = [decision_payload(user_id, kind) for user_id, kind in plan]
    load_before = load_average()
    since = datetime.now(UTC) - timedelta(seconds=1)
    started = time.perf_counter()
    for payload in payloads:
        suite.bus.publish(channel, payload, event_id=str(uuid.uuid4()))
    published = time.perf_counter() - started
    # The cursor is committed in the same transaction as each batch's effects, so the moment it
    # counts the 5,000th event is the moment its notification is committed.
    deadline = time.monotonic() + budget
    done = _processed(channel) - base
    while done < EVENTS:
        if process.poll() is not None:
            raise RuntimeError(f"the subscriber stopped after {done} events:\n{log.read_text()[-3000:]}")
        if time.monotonic() > deadline:
            break
        time.sleep(0.01)
        done = _processed(channel) - base
    elapsed = time.perf_counter() - started
    load_after = load_average()
    finished = done >= EVENTS
    if not finished:
        process.send_signal(signal.SIGTERM)  # finishes the batch in hand, releases the lease
        process.wait(timeout=60)
    measured = min(done, EVENTS)
    check = check_per_event(plan[: _processed(channel) - base], since)
    rate = measured / elapsed
    stopped = "" if finished else f"; stopped at the {budget:.0f} s budget after {measured:,} events"
    cores = os.cpu_count() or 1
    rows = [
        Row(
            "3",
            f"events -> committed notifications + mirrors, 1 subscriber ({EVENTS:,} events, "
            f"20% for a customer already in the batch)",
            f"{rate:,.0f} events/s ({measured:,} in {elapsed:.1f} s; publishing took {published:.2f} s{stopped}); "
            f"load average 1/5 min {load_before} before, {load_after} after, {cores} cores",
            "target for a quiet machine (load well under the cores)",
            f"{rate / TARGET_RATE:.2f} of target",
            f">= {TARGET_RATE:,}/s",
            verdict(rate >= TARGET_RATE),
            key="6.rate",
        ),
        Row(
            "3",
            "effects per event through the subscriber (no crash)",
            check.describe(),
            f"events processed {_processed(channel) - base:,} of {EVENTS:,}",
            target="exactly 1 per event",
            verdict=verdict(check.ok and finished),
        ),
    ]
    return rows, rate


LIMIT_TOPIC = "/bench/database-limit"


def _limit_statement() -> str:
    """One statement for a batch (``%(events)s``: the decoded payloads as a JSON array): the
    notifications inserted, the latest decision of each kind mirrored onto each profile, the
    cursor moved. The statuses are compared as Salesforce sends them; the texts are constants."""
    fm = get_field_map()
    event = {
        attribute: api_name.replace("'", "")
        for attribute, api_name in fm.attributes(topic().rsplit("/", 1)[-1]).items()
    }
    salesforce = {
        status: str(
            fm.to_salesforce(
                "Account", "internet_eligibility_status" if i < 2 else "id_verification_status", status
            )
        ).replace("'", "")
        for i, status in enumerate(DECISION_STATUSES)
    }
    notification_type = (
        "CASE "
        + " ".join(
            f"WHEN {'eligibility' if i < 2 else 'verification'} = '{salesforce[status]}' THEN '{DECISION_TYPES[i].value}'"
            for i, status in enumerate(DECISION_STATUSES)
        )
        + " END"
    )
    profile = connection.ops.quote_name(CustomerProfile._meta.db_table)
    mapping = connection.ops.quote_name(IdMapping._meta.db_table)
    cursor = connection.ops.quote_name(EventReplayCursor._meta.db_table)
    insert, params = insert_select_sql(
        Notification,
        "ev WHERE ntype IS NOT NULL",
        {
            "id": "gen_random_uuid()",
            "user_id": "user_id",
            "type": "ntype",
            "title": "'Your decision is in'",
            "message": "coalesce(notes, reason, 'Your account status changed.')",
            "action_url": "'/account'",
            "source": "'SALESFORCE'",
            "source_id": "account_id",
            "context": "jsonb_strip_nulls(jsonb_build_object('offering', offering, 'notes', notes, 'reason', reason))",
            "read": "false",
            "read_at": "NULL",
            "dismissed": "false",
            "created_at": "now()",
            "expires_at": "now() + interval '30 days'",
        },
    )
    assert not params, "every notification column is given"
    back = {portal: f"'{value}'" for portal, value in salesforce.items()}
    return f"""
WITH raw AS (
    SELECT x.ord, x.e->>'{event["account_id"]}' AS account_id,
           x.e->>'{event["internet_eligibility_status"]}' AS eligibility,
           x.e->>'{event["internet_eligibility"]}' AS offering,
           x.e->>'{event["internet_eligibility_notes"]}' AS notes,
           x.e->>'{event["id_verification_status"]}' AS verification,
           x.e->>'{event["id_verification_rejection_message"]}' AS reason,
           to_timestamp((x.e->>'{event["internet_eligibility_checked_at"]}')::bigint / 1000.0) AS checked_at
    FROM json_array_elements(%(events)s::json) WITH ORDINALITY AS x(e, ord)
),
ev AS (
    SELECT raw.*, m.user_id, {notification_type} AS ntype
    FROM raw JOIN {mapping} m ON m.salesforce_account_id = raw.account_id
),
el AS (
    SELECT DISTINCT ON (user_id) user_id, eligibility, offering, notes, checked_at
    FROM ev WHERE eligibility IS NOT NULL ORDER BY user_id, ord DESC
),
vl AS (
    SELECT DISTINCT ON (user_id) user_id, verification, reason
    FROM ev WHERE verification IS NOT NULL ORDER BY user_id, ord DESC
),
latest AS (
    SELECT coalesce(el.user_id, vl.user_id) AS user_id, el.eligibility, el.offering, el.notes,
           el.checked_at, vl.verification, vl.reason
    FROM el FULL JOIN vl ON vl.user_id = el.user_id
),
mirrored AS (
    UPDATE {profile} p SET
        internet_eligibility_status = CASE latest.eligibility WHEN {back["eligible"]} THEN 'eligible'
            WHEN {back["ineligible"]} THEN 'ineligible' ELSE p.internet_eligibility_status END,
        internet_eligibility = CASE WHEN latest.eligibility IS NULL THEN p.internet_eligibility
            ELSE coalesce(latest.offering, '') END,
        internet_eligibility_notes = CASE WHEN latest.eligibility IS NULL THEN p.internet_eligibility_notes
            ELSE coalesce(latest.notes, '') END,
        internet_eligibility_checked_at = coalesce(latest.checked_at, p.internet_eligibility_checked_at),
        id_verification_status = CASE latest.verification WHEN {back["verified"]} THEN 'verified'
            WHEN {back["rejected"]} THEN 'rejected' ELSE p.id_verification_status END,
        id_verification_rejection_message = CASE WHEN latest.verification IS NULL
            THEN p.id_verification_rejection_message ELSE coalesce(latest.reason, '') END,
        synced_at = now(), updated_at = now()
    FROM latest WHERE p.user_id = latest.user_id
    RETURNING 1
),
moved AS (
    UPDATE {cursor} SET replay_id = %(replay_id)s, events_processed = events_processed + %(count)s,
        last_event_at = now(), updated_at = now()
    WHERE topic = %(topic)s
    RETURNING 1
)
{insert}
"""  # noqa: S608 - names and constants of this project, the events are a parameter


def _database_limit(suite: EmulatorSuite, channel: str) -> tuple[list[Row], float]:
    plan = event_plan(LIMIT_FIRST_CUSTOMER, EVENTS)
    first = len(suite.bus.events(channel))
    for user_id, kind in plan:
        suite.bus.publish(channel, decision_payload(user_id, kind), event_id=str(uuid.uuid4()))
    stored = suite.bus.events(channel)[first:]
    batches = [
        (
            json.dumps([suite.bus.decode(event) for event in stored[i : i + MAX_BATCH_SIZE]]),
            stored[i + len(stored[i : i + MAX_BATCH_SIZE]) - 1].replay_id,
            len(stored[i : i + MAX_BATCH_SIZE]),
        )
        for i in range(0, len(stored), MAX_BATCH_SIZE)
    ]
    EventReplayCursor.objects.update_or_create(topic=LIMIT_TOPIC, defaults={"lease_owner": ""})
    sql = _limit_statement()
    since = datetime.now(UTC) - timedelta(seconds=1)
    started = time.perf_counter()
    with connection.cursor() as cursor:
        for events, replay_id, count in batches:
            with transaction.atomic():
                cursor.execute(
                    sql, {"events": events, "replay_id": replay_id, "count": count, "topic": LIMIT_TOPIC}
                )
    elapsed = time.perf_counter() - started
    check = check_per_event(plan, since)
    rate = len(plan) / elapsed
    return [
        Row(
            "3",
            f"database limit: the same plan's {len(plan):,} decoded events, one statement per batch of "
            f"{MAX_BATCH_SIZE} (notifications + mirrors + cursor from one JSON parameter), commit per batch",
            f"{rate:,.0f} events/s ({elapsed:.2f} s)",
            check.describe(),
            target="exactly 1 per event",
            verdict=verdict(check.ok),
        )
    ], rate


def _crash_and_replay(
    env: BenchEnv,
    suite: EmulatorSuite,
    channel: str,
    process: subprocess.Popen[bytes],
    log: Any,
    log_path: Any,
) -> list[Row]:
    """SIGKILL mid-batch, restart, replay: exactly one effect per event. ``process`` is the
    measured subscriber, still running unless it ran out of budget."""
    base = _processed(channel)
    plan = event_plan(CRASH_FIRST_CUSTOMER, CRASH_EVENTS)
    since = datetime.now(UTC) - timedelta(seconds=1)
    before_crash = suite.bus.latest_replay_id()
    first = len(suite.bus.events(channel))
    for user_id, kind in plan:
        suite.bus.publish(channel, decision_payload(user_id, kind), event_id=str(uuid.uuid4()))
    replay_ids = [event.replay_id for event in suite.bus.events(channel)[first:]]
    if process.poll() is not None:  # Stopped at its budget: a new one, after the events left.
        EventReplayCursor.objects.filter(topic=channel).update(replay_id=before_crash)
        process = _start_subscriber(env, suite, channel, log, CRASH_EVENTS, *LEASE)
    deadline = time.monotonic() + 120
    # Killed once it has committed KILL_AFTER events and was served more than it committed:
    # a batch is in its hands (being decoded, applied or committed) and the next on its way.
    while True:
        committed = _processed(channel) - base
        delivered = suite.pubsub.deliveries()
        served = sum(1 for replay_id in replay_ids if delivered[replay_id])
        if committed >= KILL_AFTER and served > committed:
            break
        if process.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(
                f"the subscriber did not reach the kill point:\n{log_path.read_text()[-3000:]}"
            )
        time.sleep(0.005)
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=30)
    _progress("killed; restarting")
    at_kill = _processed(channel) - base
    served_at_kill = sum(1 for replay_id in replay_ids if suite.pubsub.deliveries()[replay_id])
    restarted = _start_subscriber(env, suite, channel, log, CRASH_EVENTS - at_kill, *LEASE)
    try:
        while _processed(channel) - base < CRASH_EVENTS:
            if restarted.poll() is not None or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        restarted.wait(timeout=60)
    finally:
        if restarted.poll() is None:
            restarted.terminate()
            restarted.wait(timeout=20)
    processed = _processed(channel) - base
    deliveries = suite.pubsub.deliveries()
    served_again = sum(1 for replay_id in replay_ids if deliveries[replay_id] > 1)
    cursor_at_end = bytes(EventReplayCursor.objects.get(topic=channel).replay_id or b"")
    check = check_per_event(plan, since)
    ok = check.ok and processed == CRASH_EVENTS and served_again > 0 and cursor_at_end == replay_ids[-1]
    return [
        Row(
            "3",
            f"events exactly once per event: {CRASH_EVENTS:,} events (20% repeated customers), subscriber "
            f"SIGKILLed after {at_kill:,} committed with {served_at_kill:,} served, restarted from the stored replay ID",
            check.describe(),
            f"replay IDs served again after the restart {served_again:,}; cursor counts {processed:,} of "
            f"{CRASH_EVENTS:,}, ends at the last event: {'yes' if cursor_at_end == replay_ids[-1] else 'NO'}",
            target="exactly 1 per event, with redeliveries",
            verdict=verdict(ok),
            key="6.exactly_once",
        )
    ]


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
