"""What the ledger holds: slices, their versions, and the import history behind them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from costprism.engine.backends import LedgerView
from costprism.engine.filters import Filter
from costprism.engine.rollups import row_count, scoped_rows
from costprism.ledger import CommitInfo, Ledger, SliceId


@dataclass(frozen=True, kw_only=True)
class SliceSummary:
    """One slice in the current (or as-of) version, with its totals per currency."""

    source: str
    billing_account_id: str
    billing_period_start: datetime
    billing_currency: str
    rows: int
    billed_cost: Decimal
    effective_cost: Decimal
    version: int | None
    imported_at: datetime | None

    def record(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "BillingAccountId": self.billing_account_id,
            "BillingPeriodStart": self.billing_period_start.date().isoformat(),
            "BillingCurrency": self.billing_currency,
            "rows": self.rows,
            "BilledCost": float(self.billed_cost),
            "EffectiveCost": float(self.effective_cost),
            "version": self.version,
            "imported_at": self.imported_at.isoformat() if self.imported_at else None,
        }


@dataclass(frozen=True, kw_only=True)
class SliceVersion:
    """One commit that wrote a slice."""

    version: int
    committed_at: datetime
    ingest_id: int | None
    source: str
    billing_account_id: str
    billing_period_start: str
    rows: int
    previous_rows: int | None
    files: tuple[str, ...]
    current: bool

    def record(self) -> dict[str, Any]:
        return {
            "version": self.version,
            "committed_at": self.committed_at.isoformat(),
            "ingest_id": self.ingest_id,
            "source": self.source,
            "BillingAccountId": self.billing_account_id,
            "BillingPeriodStart": self.billing_period_start,
            "rows": self.rows,
            "previous_rows": self.previous_rows,
            "files": list(self.files),
            "current": self.current,
        }


def list_slices(
    ledger: Ledger, view: LedgerView, scope: Sequence[Filter] = ()
) -> list[SliceSummary]:
    """Every slice of the viewed version: rows and totals per currency, when it was written."""
    costs = scoped_rows(view, scope)
    keys = ["x_SourceId", "BillingAccountId", "BillingPeriodStart", "BillingCurrency"]
    grouped = (
        costs.group_by(keys)
        .aggregate(
            rows=row_count(costs),
            billed=costs.BilledCost.sum(),
            effective=costs.EffectiveCost.sum(),
        )
        .order_by(keys)
    )
    written = _last_writes(ledger.costs.history(), view.version)
    summaries = []
    for row in grouped.to_pyarrow().to_pylist():
        key = SliceId(
            source=row["x_SourceId"],
            billing_account_id=row["BillingAccountId"],
            billing_period_start=row["BillingPeriodStart"],
        ).key
        commit = written.get(key)
        summaries.append(
            SliceSummary(
                source=row["x_SourceId"],
                billing_account_id=row["BillingAccountId"],
                billing_period_start=row["BillingPeriodStart"],
                billing_currency=row["BillingCurrency"],
                rows=int(row["rows"]),
                billed_cost=row["billed"] or Decimal(0),
                effective_cost=row["effective"] or Decimal(0),
                version=commit.version if commit else None,
                imported_at=commit.timestamp if commit else None,
            )
        )
    return summaries


def visible_slices(view: LedgerView, scope: Sequence[Filter]) -> frozenset[str] | None:
    """Keys of the slices holding rows within ``scope`` (``None``: no scope, all slices).

    Slice metadata (history, import findings) names accounts and row counts, so a scoped
    caller sees it only for slices where the engine finds rows of theirs."""
    if not scope:
        return None
    costs = scoped_rows(view, scope)
    keys = ["x_SourceId", "BillingAccountId", "BillingPeriodStart"]
    return frozenset(
        SliceId(
            source=row["x_SourceId"],
            billing_account_id=row["BillingAccountId"],
            billing_period_start=row["BillingPeriodStart"],
        ).key
        for row in costs.select(keys).distinct().to_pyarrow().to_pylist()
    )


def slice_history(
    ledger: Ledger,
    *,
    source: str | None = None,
    period: str | None = None,
    visible: frozenset[str] | None = None,
) -> list[SliceVersion]:
    """Every commit that wrote a slice of ``source`` in billing period ``period`` (YYYY-MM),
    among the ``visible`` slices (see :func:`visible_slices`)."""
    commits = ledger.costs.history()
    current = _last_writes(commits, None)
    found = []
    for commit in sorted(commits, key=lambda c: c.version):
        for written in commit.metadata.get("slices", []):
            if visible is not None and written["key"] not in visible:
                continue
            if source and written["source"] != source:
                continue
            if period and not written["billing_period_start"].startswith(period):
                continue
            latest = current.get(written["key"])
            found.append(
                SliceVersion(
                    version=commit.version,
                    committed_at=commit.timestamp,
                    ingest_id=commit.metadata.get("ingest_id"),
                    source=written["source"],
                    billing_account_id=written["billing_account_id"],
                    billing_period_start=written["billing_period_start"],
                    rows=int(written["rows"]),
                    previous_rows=written.get("previous_rows"),
                    files=tuple(commit.metadata.get("files", [])),
                    current=latest is not None and latest.version == commit.version,
                )
            )
    return found


def _last_writes(commits: Sequence[CommitInfo], as_of: int | None) -> dict[str, CommitInfo]:
    """Slice key → the newest commit (up to ``as_of``) that wrote it."""
    latest: dict[str, CommitInfo] = {}
    for commit in sorted(commits, key=lambda c: c.version):
        if as_of is not None and commit.version > as_of:
            break
        for written in commit.metadata.get("slices", []):
            latest[written["key"]] = commit
    return latest


@dataclass(frozen=True, kw_only=True)
class ImportFindings:
    """What one import recorded with its commit: its files, rows, rejected rows and the
    number of warnings per validation rule (errors never commit, unless quarantined)."""

    version: int
    committed_at: datetime
    ingest_id: int | None
    source: str
    files: tuple[str, ...]
    rows: int
    rejected: int
    warnings: dict[str, int]

    @property
    def warning_count(self) -> int:
        return sum(self.warnings.values())

    def record(self) -> dict[str, Any]:
        return {
            "version": self.version,
            "committed_at": self.committed_at.isoformat(),
            "ingest_id": self.ingest_id,
            "source": self.source,
            "files": list(self.files),
            "rows": self.rows,
            "rejected": self.rejected,
            "warnings": dict(self.warnings),
            "warning_count": self.warning_count,
        }


@dataclass(frozen=True, kw_only=True)
class SourceFreshness:
    """How fresh one source is: its newest import and the newest charge it holds."""

    source: str
    last_import_at: datetime | None
    age: timedelta | None
    newest_charge_period_start: datetime | None

    def record(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "last_import_at": _iso(self.last_import_at),
            "age_hours": round(self.age.total_seconds() / 3600, 1) if self.age else None,
            "newest_ChargePeriodStart": _iso(self.newest_charge_period_start),
        }


def import_findings(
    ledger: Ledger, *, source: str | None = None, visible: frozenset[str] | None = None
) -> list[ImportFindings]:
    """The findings each import into ``costs`` recorded with its commit, newest first (for a
    scoped caller, the imports that wrote one of the ``visible`` slices)."""
    found = [
        _import_findings(c)
        for c in ledger.costs.history()
        if "slices" in c.metadata and _touches(c, visible)
    ]
    chosen = [f for f in found if source is None or f.source == source]
    return sorted(chosen, key=lambda f: f.version, reverse=True)


def source_freshness(
    ledger: Ledger, view: LedgerView, scope: Sequence[Filter] = (), *, now: datetime | None = None
) -> list[SourceFreshness]:
    """Per source the scope sees: its newest import (up to the viewed version), how long
    ago that was, and the newest ``ChargePeriodStart`` within the scope (to the day when the
    daily rollup answers, which it does whenever the scope's columns are in it)."""
    costs = scoped_rows(view, scope)
    newest = (
        costs.group_by("x_SourceId")
        .aggregate(newest=costs.ChargePeriodStart.max())
        .order_by("x_SourceId")
    )
    imported = _newest_import_per_source(ledger.costs.history(), view.version)
    moment = now or datetime.now(UTC)
    return [
        SourceFreshness(
            source=row["x_SourceId"],
            last_import_at=imported.get(row["x_SourceId"]),
            age=moment - imported[row["x_SourceId"]] if row["x_SourceId"] in imported else None,
            newest_charge_period_start=row["newest"],
        )
        for row in newest.to_pyarrow().to_pylist()
    ]


def _touches(commit: CommitInfo, visible: frozenset[str] | None) -> bool:
    if visible is None:
        return True
    return any(w["key"] in visible for w in commit.metadata.get("slices", []))


def _import_findings(commit: CommitInfo) -> ImportFindings:
    metadata = commit.metadata
    return ImportFindings(
        version=commit.version,
        committed_at=commit.timestamp,
        ingest_id=metadata.get("ingest_id"),
        source=str(metadata.get("source", "")),
        files=tuple(metadata.get("files", [])),
        rows=int(metadata.get("rows", 0)),
        rejected=int(metadata.get("rejected", 0)),
        warnings={str(rule): int(n) for rule, n in metadata.get("warnings", {}).items()},
    )


def _newest_import_per_source(
    commits: Sequence[CommitInfo], as_of: int | None
) -> dict[str, datetime]:
    """Source → when the newest commit (up to ``as_of``) that wrote one of its slices ran."""
    newest: dict[str, datetime] = {}
    for commit in _last_writes(commits, as_of).values():
        for written in commit.metadata.get("slices", []):
            source = written["source"]
            if source not in newest or commit.timestamp > newest[source]:
                newest[source] = commit.timestamp
    return newest


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None
