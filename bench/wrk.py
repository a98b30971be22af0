"""``wrk`` (Debian package) against the portal on loopback, and its output parsed."""

from __future__ import annotations

import re
import shutil
import subprocess
from dataclasses import dataclass

_UNITS = {"us": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0}
_PERCENTILE_RE = re.compile(r"^\s*(50|75|90|99)(?:\.0+)?%\s+([\d.]+)(us|ms|s|m)\s*$", re.MULTILINE)
_RPS_RE = re.compile(r"Requests/sec:\s+([\d.]+)")
_TOTAL_RE = re.compile(r"(\d+) requests in ([\d.]+)(us|ms|s|m)")
_NON_2XX_RE = re.compile(r"Non-2xx or 3xx responses:\s+(\d+)")
_ERRORS_RE = re.compile(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)")


@dataclass(frozen=True)
class WrkResult:
    requests: int
    seconds: float
    rps: float
    p50: float  # seconds
    p99: float
    bad_status: int
    socket_errors: int
    raw: str

    @property
    def ok(self) -> bool:
        return self.bad_status == 0 and self.socket_errors == 0 and self.requests > 0


def wrk(
    url: str,
    *,
    headers: dict[str, str],
    duration: float,
    connections: int,
    threads: int,
    timeout: float = 10.0,
    script: str | None = None,
) -> WrkResult:
    command = [
        shutil.which("wrk") or "wrk",
        f"-t{threads}",
        f"-c{connections}",
        f"-d{max(1, round(duration))}s",
        f"--timeout={timeout:g}s",
        "--latency",
    ]
    if script is not None:
        command += ["-s", script]
    for name, value in headers.items():
        command += ["-H", f"{name}: {value}"]
    command.append(url)
    completed = subprocess.run(command, capture_output=True, text=True, check=True)  # noqa: S603
    return parse(completed.stdout)


def parse(output: str) -> WrkResult:
    percentiles = {int(p): float(v) * _UNITS[u] for p, v, u in _PERCENTILE_RE.findall(output)}
    rps = _RPS_RE.search(output)
    total = _TOTAL_RE.search(output)
    non_2xx = _NON_2XX_RE.search(output)
    errors = _ERRORS_RE.search(output)
    if rps is None or total is None or 50 not in percentiles or 99 not in percentiles:
        raise RuntimeError(f"could not parse wrk output:\n{output}")
    return WrkResult(
        requests=int(total.group(1)),
        seconds=float(total.group(2)) * _UNITS[total.group(3)],
        rps=float(rps.group(1)),
        p50=percentiles[50],
        p99=percentiles[99],
        bad_status=int(non_2xx.group(1)) if non_2xx else 0,
        socket_errors=sum(int(g) for g in errors.groups()) if errors else 0,
        raw=output,
    )
