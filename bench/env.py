"""Where the benchmarks run: their own PostgreSQL database and Redis db, set before Django loads.

Everything a child process (gunicorn, the events subscriber) needs is in :func:`child_env`, so
the web server and the subscriber run with exactly the production settings module, pointed at
the bench database.
"""

from __future__ import annotations

import os
import secrets
import socket
import sys
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
PYTHON = Path(sys.executable)


@dataclass(frozen=True)
class BenchEnv:
    db_name: str
    pg_host: str
    pg_port: int
    pg_user: str
    redis_url: str
    workdir: Path
    secret_key: str

    @property
    def database_url(self) -> str:
        return f"postgres://{self.pg_user}@{self.pg_host}:{self.pg_port}/{self.db_name}"

    def admin_dsn(self) -> str:
        return f"host={self.pg_host} port={self.pg_port} user={self.pg_user} dbname=postgres"

    def child_env(self, **extra: str) -> dict[str, str]:
        """The environment of a production-like portal process on the bench database."""
        env = {
            key: value
            for key, value in os.environ.items()
            if not key.startswith(("SF_", "WHMCS_", "DJANGO_READ_DOT_ENV"))
        }
        env.update(
            DJANGO_SETTINGS_MODULE="portal.settings",
            DATABASE_URL=self.database_url,
            REDIS_URL=self.redis_url,
            DEBUG="false",
            SECRET_KEY=self.secret_key,
            ALLOWED_HOSTS="127.0.0.1,localhost,testserver",
            # Production settings against the emulators, as on a staging box.
            USE_EMULATORS="true",
            EMAIL_URL="memorymail://",
            PORTAL_FRONTEND_URL="http://127.0.0.1:8000",
            LOG_LEVEL="WARNING",
            PRIVATE_MEDIA_ROOT=str(self.workdir / "private"),
            EMULATOR_DIR=str(self.workdir / "emulators"),
            PYTHONPATH=str(REPO),
        )
        env.update(extra)
        return env


def make_env(*, db_name: str, redis_url: str, workdir: Path) -> BenchEnv:
    return BenchEnv(
        db_name=db_name,
        pg_host=os.environ.get("BENCH_PGHOST", "127.0.0.1"),
        pg_port=int(os.environ.get("BENCH_PGPORT", "5432")),
        pg_user=os.environ.get("BENCH_PGUSER", "postgres"),
        redis_url=redis_url,
        workdir=workdir,
        secret_key=secrets.token_urlsafe(48),
    )


def free_port() -> int:
    with closing(socket.socket(socket.AF_INET, socket.SOCK_STREAM)) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
