"""Real portal processes for tests that kill them: Celery workers on the Redis broker, against
the test's own database and the emulators.

Tests that use them run with ``transactional_db`` (the processes must see committed rows) and
are skipped without Redis on a developer machine; CI has Redis and runs them.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from urllib.parse import quote

import redis
from django.conf import settings
from django.db import connection

from apps.devtools.emulators import process_environment
from emulators import EmulatorSuite
from tests import helpers

REPO = Path(__file__).resolve().parents[1]


def wait_showing_log(predicate: Callable[[], object], *, timeout: float, message: str, log: Path) -> None:
    """``tests.helpers.wait_until``, showing the tail of the workers' log when it times out."""

    def log_tail() -> str:
        return "worker log:\n" + (log.read_text(errors="replace")[-4000:] if log.exists() else "")

    helpers.wait_until(predicate, timeout=timeout, message=message, interval=0.1, details=log_tail)


def oldest_unacknowledged_age() -> float:
    """Seconds since the broker handed out the oldest message no worker acknowledged (kombu's
    Redis transport keeps them in ``unacked_index``, scored by delivery time); 0 if none."""
    with redis.Redis.from_url(settings.REDIS_URL) as client:
        oldest = client.zrange("unacked_index", 0, 0, withscores=True)
        return time.time() - oldest[0][1] if oldest else 0.0


def database_url() -> str:
    db = connection.settings_dict
    if db["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{db['NAME']}"
    credentials = quote(db["USER"] or "") + (f":{quote(db['PASSWORD'])}" if db["PASSWORD"] else "")
    return f"postgres://{credentials}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


def portal_environment(systems: EmulatorSuite, directory: Path) -> dict[str, str]:
    """The environment of a portal process on this test's database, Redis and emulators."""
    return {
        **{key: value for key, value in os.environ.items() if not key.startswith(("SF_", "WHMCS_"))},
        **process_environment(systems),
        "DJANGO_SETTINGS_MODULE": "portal.settings",
        "DATABASE_URL": database_url(),
        "REDIS_URL": settings.REDIS_URL,
        "DEBUG": "true",
        "LOG_LEVEL": "INFO",
        "EMULATOR_DIR": str(directory / "emulators"),
        "PRIVATE_MEDIA_ROOT": str(directory / "private"),
    }


class Workers:
    """Starts ``celery worker`` processes (one pool process each) in their own process groups."""

    def __init__(self, systems: EmulatorSuite, directory: Path) -> None:
        self.directory = directory
        self.log = directory / "workers.log"
        self.processes: list[subprocess.Popen[bytes]] = []
        self.environment = {
            **portal_environment(systems, directory),
            # The call the test interrupts must not time out before the kill.
            "WHMCS_TIMEOUT_SECONDS": "5",
        }

    def start(self, **environment: str) -> subprocess.Popen[bytes]:
        command = [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "portal",
            "worker",
            "--pool=prefork",
            "--concurrency=1",
            "--queues=default,salesforce",
            f"--hostname=killed-worker-test-{uuid.uuid4().hex[:8]}@%h",
            "--without-gossip",
            "--without-mingle",
            "--loglevel=INFO",
        ]
        with self.log.open("ab") as log:
            process = subprocess.Popen(
                command,
                cwd=REPO,
                env={**self.environment, **environment},
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.processes.append(process)
        return process

    def kill_all(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=10)


def pool_processes(worker: subprocess.Popen[bytes]) -> list[int]:
    """The pids whose parent is the worker's main process (its prefork pool)."""
    children = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        parent = int(stat.rsplit(")", 1)[1].split()[1])
        if parent == worker.pid:
            children.append(int(entry.name))
    return children
