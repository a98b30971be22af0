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
        header = ("#", "figure", "value", "baseline (same run)", "ratio", "target", "verdict")
        lines = [
            (row.benchmark, row.figure, row.value, row.baseline, row.ratio, row.target, row.verdict)
            for row in self.rows
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
            *(f"- {note}" for note in self.notes),
        ]
        return "\n".join(out)


def verdict(ok: bool) -> str:
    return "met" if ok else "MISSED"


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms"
