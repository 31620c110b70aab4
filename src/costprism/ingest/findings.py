"""Validation findings: what is wrong (or was normalized) where, and how to fix it."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Literal

Severity = Literal["error", "warning"]

MAX_EXAMPLES = 20


@dataclass(frozen=True, kw_only=True)
class Finding:
    """One problem in one place: ``file``, ``line`` (1-based, the header is line 1), ``column``."""

    file: str
    line: int | None
    column: str | None
    value: str | None
    rule: str
    severity: Severity
    message: str
    hint: str

    def __str__(self) -> str:
        where = self.file if self.line is None else f"{self.file}:{self.line}"
        column = f" column {self.column}" if self.column else ""
        value = "" if self.value is None else f" value {_shorten(self.value)!r}"
        what = f"{self.severity} [{self.rule}] {self.message}"
        return f"{where}{column}{value}: {what}; fix: {self.hint}"


@dataclass(kw_only=True)
class FindingReport:
    """Counts per (severity, rule) over a whole import, with the first examples kept."""

    counts: Counter[tuple[Severity, str]] = field(default_factory=Counter)
    examples: list[Finding] = field(default_factory=list)

    def add(self, finding: Finding, count: int = 1) -> None:
        self.counts[(finding.severity, finding.rule)] += count
        if len(self.examples) < MAX_EXAMPLES:
            self.examples.append(finding)

    def count(self, severity: Severity, rule: str, count: int) -> None:
        self.counts[(severity, rule)] += count

    @property
    def errors(self) -> int:
        return sum(n for (severity, _), n in self.counts.items() if severity == "error")

    @property
    def warnings(self) -> int:
        return sum(n for (severity, _), n in self.counts.items() if severity == "warning")

    def per_rule(self, severity: Severity) -> dict[str, int]:
        return {rule: n for (sev, rule), n in sorted(self.counts.items()) if sev == severity}

    def merge(self, other: FindingReport) -> None:
        self.counts.update(other.counts)
        room = MAX_EXAMPLES - len(self.examples)
        self.examples.extend(other.examples[: max(room, 0)])


def _shorten(value: str, limit: int = 80) -> str:
    return value if len(value) <= limit else f"{value[:limit]}… ({len(value)} characters)"
