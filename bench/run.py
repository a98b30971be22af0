"""Run every issue 7 benchmark and print one table: ``.venv/bin/python bench/run.py``.

Creates its own PostgreSQL database (``portal_bench``) and uses Redis db 14, generates its data,
runs the benchmarks in one process (plus the gunicorn server, ``wrk`` and one events subscriber
it starts), prints the table and drops the database. See ``bench/README.md``.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.env import REPO, BenchEnv, make_env
from bench.report import Report, Row


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--db-name", default="portal_bench")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/14")
    parser.add_argument("--duration", type=int, default=12, help="seconds of load per wrk run")
    parser.add_argument(
        "--event-budget",
        type=float,
        default=200.0,
        help="seconds the events subscriber gets for its 5,000 events before it is stopped and measured",
    )
    parser.add_argument("--keep-db", action="store_true", help="leave the database for inspection")
    parser.add_argument(
        "--only",
        action="append",
        choices=["notifications", "dashboard", "catalog", "actions", "events", "cleanup", "outbox"],
        help="run only these benchmarks (repeatable; cleanup and catalog need dashboard)",
    )
    args = parser.parse_args(argv)
    selected = set(
        args.only or ["notifications", "dashboard", "catalog", "actions", "events", "cleanup", "outbox"]
    )
    if {"cleanup", "catalog"} & selected:
        selected.add("dashboard")

    ensure_wrk()
    workdir = Path(tempfile.mkdtemp(prefix="portal-bench-"))
    env = make_env(db_name=args.db_name, redis_url=args.redis_url, workdir=workdir)
    started = time.perf_counter()
    report = Report(
        started_at=datetime.now(UTC),
        cores=os.cpu_count() or 0,
        machine=f"{platform.system()} {platform.machine()}, Python {platform.python_version()}",
    )
    create_database(env)
    try:
        os.environ.update(env.child_env())
        import django

        django.setup()
        _quiet_logs()
        report.note(_postgres_version())
        load_before = os.getloadavg()
        run_all(env, args, selected, report)
        load_after = os.getloadavg()
        report.note(
            "load average (1/5/15 min) before {:.2f}/{:.2f}/{:.2f}, after {:.2f}/{:.2f}/{:.2f}: other "
            "processes on the machine share its cores".format(*load_before, *load_after)
        )
    finally:
        if not args.keep_db:
            drop_database(env)
        flush_redis(env)
        shutil.rmtree(workdir, ignore_errors=True)
    report.total_seconds = time.perf_counter() - started
    print(report.render())
    return 0


def run_all(env: BenchEnv, args: argparse.Namespace, selected: set[str], report: Report) -> None:
    from django.core.management import call_command

    from bench import data

    step("migrate")
    call_command("migrate", verbosity=0, interactive=False)
    flush_redis(env)
    step("generate data")
    dataset = data.generate()
    report.note(
        f"data: {dataset.customers:,} customers, {dataset.notifications:,} notifications "
        f"({dataset.expired:,} expired) generated in {dataset.seconds:.1f} s"
    )

    if "notifications" in selected:
        from bench import notifications

        step("N. notifications API: page 500 against page 1, unread count 10,000 against 10")
        guarded(report, "notifications", notifications.run)
    if "dashboard" in selected:
        from bench import dashboard

        def dashboard_and_cleanup() -> list[Row]:
            step("1. dashboard under gunicorn + wrk")
            with (
                dashboard.Server(env) as server,
                dashboard.Server(env, DASHBOARD_CACHE_SECONDS="0") as uncached_server,
            ):
                result = dashboard.run(server, uncached_server, duration=args.duration, workdir=env.workdir)
                report.extend(result.rows)
                if "catalog" in selected:
                    from bench import catalog

                    step("catalog: 5,000 products, cache hit and 304")
                    guarded(report, "catalog", lambda: catalog.run(server))
                if "cleanup" in selected:
                    step("4. notification cleanup under dashboard load")
                    guarded(
                        report,
                        "cleanup",
                        lambda: dashboard.run_cleanup(
                            uncached_server, duration=args.duration, baseline=result
                        ),
                    )
                    step("4. the first query after removing 5M expired rows")
                    guarded(report, "cleanup 5M", dashboard.run_five_million)
            return []

        guarded(report, "dashboard", dashboard_and_cleanup)
    if {"actions", "events", "outbox"} & selected:
        from bench.emulators import emulators

        with emulators(env) as suite:
            runners: list[tuple[str, str, Callable[[], list[Row]]]] = []
            if "actions" in selected:
                from bench import actions

                runners.append(
                    ("actions", "2. Salesforce API calls per customer action", lambda: actions.run(suite))
                )
            if "events" in selected:
                from bench import events

                runners.append(
                    ("events", "3. event ingestion", lambda: events.run(env, suite, budget=args.event_budget))
                )
            if "outbox" in selected:
                from bench import outbox

                runners.append(("outbox", "5. outbox with injected failures", lambda: outbox.run(suite)))
            for name, title, runner in runners:
                step(title)
                guarded(report, name, runner)


def guarded(report: Report, name: str, runner: Callable[[], list[Row]]) -> None:
    """Run one benchmark; a crash becomes a row (with the traceback on stderr), not a lost table."""
    try:
        report.extend(runner())
    except Exception as exc:
        traceback.print_exc()
        report.extend(
            [Row("!", f"{name} benchmark crashed", f"{type(exc).__name__}: {exc}"[:200], verdict="ERROR")]
        )


def step(title: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {title}", file=sys.stderr, flush=True)


def ensure_wrk() -> None:
    if shutil.which("wrk"):
        return
    step("installing wrk (apt-get install -y wrk)")
    subprocess.run(["apt-get", "update", "-qq"], check=True)  # noqa: S607 - Debian's apt-get from PATH
    subprocess.run(["apt-get", "install", "-y", "-qq", "wrk"], check=True)  # noqa: S607
    if not shutil.which("wrk"):
        raise SystemExit("wrk is required: apt-get install -y wrk")


def create_database(env: BenchEnv) -> None:
    import psycopg

    with psycopg.connect(env.admin_dsn(), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{env.db_name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{env.db_name}"')


def drop_database(env: BenchEnv) -> None:
    import psycopg
    from django.db import connections

    connections.close_all()
    with psycopg.connect(env.admin_dsn(), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{env.db_name}" WITH (FORCE)')


def flush_redis(env: BenchEnv) -> None:
    import redis

    redis.Redis.from_url(env.redis_url).flushdb()


def _postgres_version() -> str:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        (version,) = cursor.fetchone() or ("?",)
        cursor.execute("SHOW synchronous_commit")
        (sync,) = cursor.fetchone() or ("?",)
    return f"PostgreSQL {version} (synchronous_commit={sync}), repo {REPO.name}"


def _quiet_logs() -> None:
    import logging

    # The outbox logs every retry as a warning; with 20% injected 503s that is thousands of lines.
    logging.getLogger("apps.integrations.outbox").setLevel(logging.ERROR)
    logging.getLogger("apps.integrations.salesforce").setLevel(logging.ERROR)


if __name__ == "__main__":
    raise SystemExit(main())
