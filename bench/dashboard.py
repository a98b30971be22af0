"""Benchmarks 1 (dashboard under gunicorn) and 4 (notification cleanup under dashboard load).

gunicorn serves the real WSGI app with production settings (``DEBUG=false``) on a loopback port;
``wrk`` sends the hero customer's session cookie and ``X-Forwarded-Proto: https`` as the TLS proxy
in front of the portal would. The trivial endpoint ``GET /api/notifications/unread-count`` (one
indexed query) is the baseline, served by the same server in the same run.

The dashboard is measured twice: as deployed (with Redis, its payload is cached per customer and
dropped by every write, ``apps/accounts/dashboard_cache.py``), and with that cache off
(``DASHBOARD_CACHE_SECONDS=0``, a second gunicorn), where every request reads the database.
"""

from __future__ import annotations

import http.client
import os
import shlex
import statistics
import subprocess
import threading
import time
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any

from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.contrib.sessions.backends.db import SessionStore
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext, override_settings
from django.utils import timezone

from bench.data import EXPIRED_NOTIFICATIONS, HERO_ID
from bench.env import PYTHON, BenchEnv, free_port
from bench.report import Row, ms, verdict
from bench.wrk import WrkResult, wrk

DASHBOARD = "/api/me/status"
TRIVIAL = "/api/notifications/unread-count"
PROXY_HEADERS = {"X-Forwarded-Proto": "https"}
CORES = os.cpu_count() or 2
WRK_CONNECTIONS = 2 * CORES
WRK_THREADS = min(2, CORES)
# Sync workers: one request at a time per process, so N processes for N cores plus one to cover
# the time a worker waits on PostgreSQL. Override with BENCH_GUNICORN_ARGS.
GUNICORN_ARGS = os.environ.get("BENCH_GUNICORN_ARGS", f"--workers {CORES + 1} --worker-class sync")
MAX_QUERIES = 8
QUIET_WINDOWS = 3


@dataclass
class StatementTimes:
    statements: list[tuple[float, float, str]] = field(default_factory=list)  # start, seconds, sql

    def __call__(self, execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            self.statements.append((started, time.perf_counter() - started, sql))


class Server:
    """gunicorn on 127.0.0.1:<free port>, stopped (SIGTERM, then SIGKILL) on exit."""

    def __init__(self, env: BenchEnv, **extra_env: str) -> None:
        self.env = env
        self.extra_env = extra_env
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None
        self.log = env.workdir / f"gunicorn-{self.port}.log"

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> Server:
        command = [
            str(PYTHON.parent / "gunicorn"),
            "portal.wsgi:application",
            "--bind",
            f"127.0.0.1:{self.port}",
            "--error-logfile",
            str(self.log),
            *shlex.split(GUNICORN_ARGS),
        ]
        self.process = subprocess.Popen(  # noqa: S603 - our own command line
            command, cwd=self.env.workdir, env=self.env.child_env(**self.extra_env), stdout=subprocess.DEVNULL
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn exited: {self.log.read_text()[-2000:]}")
            try:
                status, _ = self.get("/healthz", {})
                if status == 200:
                    return self
            except OSError:
                pass
            time.sleep(0.2)
        raise RuntimeError("gunicorn did not become ready in 30 s")

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self.process is None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def get(self, path: str, headers: dict[str, str]) -> tuple[int, bytes]:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        try:
            conn.request("GET", path, headers={**PROXY_HEADERS, **headers})
            response = conn.getresponse()
            return response.status, response.read()
        finally:
            conn.close()

    def load(self, path: str, cookie: str, duration: float) -> WrkResult:
        result = wrk(
            self.base_url + path,
            headers={**PROXY_HEADERS, "Cookie": cookie},
            duration=duration,
            connections=WRK_CONNECTIONS,
            threads=WRK_THREADS,
        )
        if not result.ok:
            raise RuntimeError(f"wrk saw errors on {path}:\n{result.raw}")
        return result


def session_cookie(user_id: int) -> str:
    """A signed-in session for ``user_id``, made directly with the session store (no login call)."""
    from apps.accounts.models import User

    user = User.objects.get(pk=user_id)
    store = SessionStore()
    store[SESSION_KEY] = str(user.pk)
    store[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
    store[HASH_SESSION_KEY] = user.get_session_auth_hash()
    store.create()
    return f"{settings.SESSION_COOKIE_NAME}={store.session_key}"


@dataclass(frozen=True)
class InProcess:
    queries: int
    seconds: float  # wall time of one request through the whole middleware stack
    sql_seconds: float  # of which waiting on PostgreSQL


def in_process(path: str, cookie: str, *, repeat: int = 40, dashboard_cache: bool = True) -> InProcess:
    """Query count of one warmed-up request (``CaptureQueriesContext``), and the mean time of
    ``repeat`` requests with the time spent in SQL, in this process (no server, no network)."""
    if not dashboard_cache:
        with override_settings(DASHBOARD_CACHE_SECONDS=0):
            return in_process(path, cookie, repeat=repeat)
    client = Client()
    name, value = cookie.split("=", 1)
    client.cookies[name] = value
    for _ in range(3):
        if (status := client.get(path, headers=PROXY_HEADERS).status_code) != 200:
            raise RuntimeError(f"{path} answered {status}")
    with CaptureQueriesContext(connection) as captured:
        client.get(path, headers=PROXY_HEADERS)
    queries = len(captured.captured_queries)  # now: the next request resets the log
    timer = StatementTimes()
    with connection.execute_wrapper(timer):
        started = time.perf_counter()
        for _ in range(repeat):
            client.get(path, headers=PROXY_HEADERS)
        seconds = (time.perf_counter() - started) / repeat
    return InProcess(
        queries=queries,
        seconds=seconds,
        sql_seconds=sum(duration for _, duration, _ in timer.statements) / repeat,
    )


@dataclass
class DashboardResult:
    cookie: str
    trivial: WrkResult
    dashboard: WrkResult
    uncached: WrkResult
    rows: list[Row] = field(default_factory=list)


def run(server: Server, uncached_server: Server, *, duration: float) -> DashboardResult:
    cookie = session_cookie(HERO_ID)
    miss_cost = in_process(DASHBOARD, cookie, dashboard_cache=False)
    hit_cost = in_process(DASHBOARD, cookie)
    trivial_cost = in_process(TRIVIAL, cookie)
    for path in (TRIVIAL, DASHBOARD):
        status, body = server.get(path, {"Cookie": cookie})
        if status != 200:
            raise RuntimeError(f"{path} via gunicorn answered {status}: {body[:300]!r}")
    # Warm every worker (imports, connections), then measure; the baseline first.
    server.load(TRIVIAL, cookie, 2)
    trivial = server.load(TRIVIAL, cookie, duration)
    server.load(DASHBOARD, cookie, 2)
    dashboard = server.load(DASHBOARD, cookie, duration)
    uncached_server.load(DASHBOARD, cookie, 2)
    uncached = uncached_server.load(DASHBOARD, cookie, duration)
    ratio = dashboard.rps / trivial.rps
    load = f"wrk -t{WRK_THREADS} -c{WRK_CONNECTIONS} {duration:g}s, gunicorn {GUNICORN_ARGS}"
    rows = [
        Row(
            "1",
            f"GET /api/me/status throughput, as deployed: cached per customer ({load})",
            f"{dashboard.rps:,.0f} req/s",
            f"unread-count {trivial.rps:,.0f} req/s",
            f"{ratio:.2f}",
            ">= 0.50",
            verdict(ratio >= 0.5),
        ),
        Row(
            "1",
            "GET /api/me/status latency p50 / p99, as deployed",
            f"{ms(dashboard.p50)} / {ms(dashboard.p99)}",
            f"unread-count {ms(trivial.p50)} / {ms(trivial.p99)}",
            f"p99 x{dashboard.p99 / trivial.p99:.1f}",
        ),
        Row(
            "1",
            "GET /api/me/status with the cache off (every request reads the DB): throughput, p50 / p99",
            f"{uncached.rps:,.0f} req/s, {ms(uncached.p50)} / {ms(uncached.p99)}",
            f"unread-count {trivial.rps:,.0f} req/s (another server, same run)",
            f"{uncached.rps / trivial.rps:.2f}",
        ),
        Row(
            "1",
            "GET /api/me/status SQL queries per request (1,000 notif., 200 inv., 50 orders)",
            f"{miss_cost.queries} on a cache miss, {hit_cost.queries} on a hit",
            f"unread-count {trivial_cost.queries}",
            target=f"<= {MAX_QUERIES}",
            verdict=verdict(miss_cost.queries <= MAX_QUERIES),
        ),
        Row(
            "1",
            "where a request's time goes (in-process, no server): total = SQL + Python",
            f"miss {ms(miss_cost.seconds)} = {ms(miss_cost.sql_seconds)} + "
            f"{ms(miss_cost.seconds - miss_cost.sql_seconds)}; hit {ms(hit_cost.seconds)} = "
            f"{ms(hit_cost.sql_seconds)} + {ms(hit_cost.seconds - hit_cost.sql_seconds)}",
            f"unread-count {ms(trivial_cost.seconds)} = {ms(trivial_cost.sql_seconds)} + "
            f"{ms(trivial_cost.seconds - trivial_cost.sql_seconds)}",
            f"miss {miss_cost.seconds / trivial_cost.seconds:.2f}, hit {hit_cost.seconds / trivial_cost.seconds:.2f}",
        ),
    ]
    return DashboardResult(cookie=cookie, trivial=trivial, dashboard=dashboard, uncached=uncached, rows=rows)


# --- 4. notification cleanup --------------------------------------------------------------------


@dataclass
class CleanupOutcome:
    deleted: int = 0
    seconds: float = 0.0
    times: StatementTimes = field(default_factory=StatementTimes)
    error: BaseException | None = None


def _cleanup(outcome: CleanupOutcome, now: Any) -> None:
    from apps.notifications.services import notifications_delete_expired

    try:
        with connection.execute_wrapper(outcome.times):
            started = time.perf_counter()
            outcome.deleted = notifications_delete_expired(now=now)  # The beat task's pacing.
            outcome.seconds = time.perf_counter() - started
    except BaseException as exc:
        outcome.error = exc
    finally:
        connection.close()


def run_cleanup(uncached_server: Server, *, duration: float, baseline: DashboardResult) -> list[Row]:
    """The cleanup against the dashboard with its cache off, so every request reads the database
    the cleanup is deleting from; compared with that server's p99 without the cleanup."""
    from apps.notifications.models import Notification
    from apps.notifications.services import CLEANUP_BATCH_SIZE, CLEANUP_PAUSE_RATIO

    now = timezone.now()
    live_before = Notification.objects.filter(expires_at__gt=now).count()
    expired_before = Notification.objects.filter(expires_at__lte=now).count()
    window = max(5.0, duration / 2)
    # Windows of the same length without the cleanup, just before it: p99 is compared window
    # for window (median against median), since the worst of many windows is higher than any
    # single one even on an idle machine.
    quiet = [uncached_server.load(DASHBOARD, baseline.cookie, window) for _ in range(QUIET_WINDOWS)]
    outcome = CleanupOutcome()
    worker = threading.Thread(target=_cleanup, args=(outcome, now), name="cleanup")
    windows: list[tuple[float, float, WrkResult]] = []
    worker.start()
    cleanup_started = time.perf_counter()
    while worker.is_alive():
        started = time.perf_counter()
        result = uncached_server.load(DASHBOARD, baseline.cookie, window)
        windows.append((started, time.perf_counter(), result))
    worker.join()
    cleanup_ended = cleanup_started + outcome.seconds
    if outcome.error is not None:
        raise outcome.error
    live_after = Notification.objects.filter(expires_at__gt=now).count()
    expired_after = Notification.objects.filter(expires_at__lte=now).count()

    def overlap(start: float, end: float) -> float:
        return max(0.0, min(end, cleanup_ended) - max(start, cleanup_started)) / (end - start)

    during = [result for start, end, result in windows if overlap(start, end) >= 0.5] or [windows[0][2]]
    worst, worst_quiet = max(during, key=lambda r: r.p99), max(quiet, key=lambda r: r.p99)
    during_p99 = statistics.median(r.p99 for r in during)
    quiet_p99 = statistics.median(r.p99 for r in quiet)
    alone = baseline.uncached
    ratio = during_p99 / quiet_p99
    statements = outcome.times.statements
    _, longest, longest_sql = max(statements, key=lambda s: s[1])
    kind = longest_sql.split(None, 1)[0].upper()
    # A batch: from its SELECT of ids to the end of its DELETE (the pause comes after).
    selects = [start for start, _, sql in statements if sql.lstrip().upper().startswith("SELECT")]
    delete_ends = [
        start + took for start, took, sql in statements if sql.lstrip().upper().startswith("DELETE")
    ]
    longest_batch = max((end - start for start, end in zip(selects, delete_ends, strict=False)), default=0.0)
    correct = (
        outcome.deleted == expired_before == EXPIRED_NOTIFICATIONS
        and expired_after == 0
        and live_after == live_before
    )
    rate = outcome.deleted / outcome.seconds
    return [
        Row(
            "4",
            f"cleanup: expired notifications deleted (batches of {CLEANUP_BATCH_SIZE:,}, resting "
            f"{CLEANUP_PAUSE_RATIO:g}x each batch's time, under dashboard load)",
            f"{outcome.deleted:,} in {outcome.seconds:.1f} s = {rate:,.0f} rows/s",
            f"{live_before:,} live rows kept: {live_after:,}",
            target="all expired gone, live kept",
            verdict=verdict(correct),
        ),
        Row(
            "4",
            "cleanup: longest single statement / longest batch (select+delete)",
            f"{ms(longest)} ({kind}) / {ms(longest_batch)}",
            f"dashboard p99 alone {ms(alone.p99)}",
            f"{longest / alone.p99:.1f}",
        ),
        Row(
            "4",
            f"dashboard p99 while cleanup runs, cache off: median of {len(during)} wrk windows of {window:g} s",
            f"{ms(during_p99)} (p50 {ms(statistics.median(r.p50 for r in during))}, "
            f"{statistics.median(r.rps for r in during):,.0f} req/s)",
            f"without cleanup, median of {len(quiet)} windows just before: {ms(quiet_p99)} "
            f"(p50 {ms(statistics.median(r.p50 for r in quiet))})",
            f"{ratio:.2f}",
            "<= 2.0",
            verdict(ratio <= 2.0),
        ),
        Row(
            "4",
            "dashboard p99 while cleanup runs, worst window",
            f"{ms(worst.p99)} (p50 {ms(worst.p50)})",
            f"worst window without cleanup {ms(worst_quiet.p99)}",
            f"{worst.p99 / worst_quiet.p99:.2f}",
        ),
    ]
