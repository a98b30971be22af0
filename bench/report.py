"""One table of figures, each beside the baseline measured in the same run."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True)
class Row:
    benchmark: str
    figure: str
    value: str
    baseline: str = "—"
    ratio: str = "—"
    target: str = "—"
    verdict: str = ""  # "met", "MISSED", "not built yet", "" (information only)
    key: str = ""  # the issue 19 target this row decides (ISSUE_TARGETS), or "" for none


# Every target of issue 19, by key: (benchmark, what, target). A target no row of the run decides
# is printed as "not measured", so the table always lists all of them.
ISSUE_TARGETS: dict[str, tuple[str, str, str]] = {
    "2.miss": ("1", "dashboard miss path against the one-row baseline", ">= 0.50"),
    "2.mixed": ("1", "dashboard mixed traffic (Zipf over customers) against the baseline", ">= 0.80"),
    "2.miss_queries": ("1", "dashboard SQL queries on a cache miss", "<= 5"),
    "2.hit_queries": ("1", "dashboard SQL queries on a cache hit", "0"),
    "2.counts": ("1", "dashboard counts: cost with 10,000 against 10 unread notifications", "0.8-1.2"),
    "3.pages": ("N", "notifications: page 500 against page 1 (10,000 notifications)", "<= 1.2"),
    "3.unread": ("N", "notifications: unread count cost, 10,000 against 10 unread", "0.8-1.2"),
    "4.hit": ("C", "catalog cache hit, 5,000 products", "<= 20 ms"),
    "5.rate": ("4", "cleanup rows/s against one unpaced bare DELETE of the same rows", ">= 1.0"),
    "5.statement": ("4", "cleanup: longest statement", "<= 1,000 ms"),
    "5.p99": ("4", "cleanup: worst window dashboard p99 against the worst window without it", "<= 2.0"),
    "5.first_query": ("4", "first query after removing 5M rows", "<= 50 ms"),
    "6.limit": (
        "3",
        "events through the subscriber against the database's limit for the same work",
        ">= 0.2",
    ),
    "6.rate": ("3", "events/s through the subscriber", ">= 2,000/s"),
    "6.exactly_once": (
        "3",
        "events exactly once per event (20% repeated customers, SIGKILL mid-batch and replay)",
        "exactly 1 per event",
    ),
    "7.time": ("-", "whole bench run", "< 600 s"),
}


@dataclass
class Report:
    started_at: datetime
    cores: int
    machine: str
    rows: list[Row] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    total_seconds: float = 0.0

    def extend(self, rows: list[Row]) -> None:
        self.rows.extend(rows)

    def note(self, text: str) -> None:
        self.notes.append(text)

    def render(self) -> str:
        decided = {row.key for row in self.rows if row.key}
        missing = [
            Row(bench, what, "not measured in this run", target=target, verdict="not measured", key=key)
            for key, (bench, what, target) in ISSUE_TARGETS.items()
            if key not in decided and key != "7.time"
        ]
        total = Row(
            "-",
            "whole bench run (start to table)",
            f"{self.total_seconds:.0f} s",
            target="< 600 s",
            verdict=verdict(self.total_seconds < 600),
            key="7.time",
        )
        rows = [*self.rows, *missing, total]
        met = sum(1 for row in rows if row.key and row.verdict == "met")
        header = ("#", "figure", "value", "baseline (same run)", "ratio", "target", "verdict")
        lines = [
            (row.benchmark, row.figure, row.value, row.baseline, row.ratio, row.target, row.verdict)
            for row in rows
        ]
        widths = [max(len(str(cell)) for cell in column) for column in zip(header, *lines, strict=False)]

        def fmt(cells: tuple[str, ...]) -> str:
            return "| " + " | ".join(str(c).ljust(w) for c, w in zip(cells, widths, strict=True)) + " |"

        out = [
            f"Portal benchmarks, {self.started_at:%Y-%m-%d %H:%M} UTC, {self.cores} cores (nproc), "
            f"{self.machine}; whole run {self.total_seconds:.0f} s",
            "",
            fmt(header),
            "|" + "|".join("-" * (w + 2) for w in widths) + "|",
            *(fmt(line) for line in lines),
            "",
            f"Issue 19 targets: {met} of {len(ISSUE_TARGETS)} met in this run "
            f"({', '.join(f'{row.key} {row.verdict}' for row in rows if row.key)}).",
            "",
            *(f"- {note}" for note in self.notes),
        ]
        return "\n".join(out)


def verdict(ok: bool) -> str:
    return "met" if ok else "MISSED"


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms"
