"""An import from files to the ledger: detect, read, check, write slices, commit once.

One call is the complete new content of every slice its files touch. Nothing is visible
until the single commit at the end; an import with any error (outside ``--quarantine``)
discards what it wrote and raises :class:`~costprism.errors.ValidationFailed`.
"""

from __future__ import annotations

import functools
import json
import shutil
import tempfile
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from costprism.errors import InputError, LedgerError, ValidationFailed
from costprism.focus import ROW_ORDINAL_BITS, clean_name
from costprism.ingest.checks import Check
from costprism.ingest.files import COMPRESSED, TEXT_LINES, discover, record_lines, verify_gzip
from costprism.ingest.findings import MAX_EXAMPLES, Finding, FindingReport
from costprism.ingest.reader import ReadPlan, group_plans, null_literals, plan_read
from costprism.ingest.scan import (
    FileCounts,
    GroupScan,
    count_group,
    finding_rows,
    scan_group,
    start_row_ids,
)
from costprism.ingest.slices import stage_slices
from costprism.ledger import EPOCH, Ledger, SliceId
from costprism.ledger.allocations import AllocationStore, AllocationVersion
from costprism.ledger.quarantine import QUARANTINE_SCHEMA
from costprism.ledger.rollups import RollupResult, refresh_rollup
from costprism.ledger.store import SLICE_COLUMN

Progress = Callable[[str, str], None]
COSTS_DATASET = "cost_and_usage"


@dataclass(frozen=True, kw_only=True)
class IngestOptions:
    source: str
    quarantine: bool = False
    force: bool = False
    memory_limit: str = "1GB"
    threads: int | None = None
    input_format: str | None = None  # "focus" or a native format; None: from each header


@dataclass(frozen=True, kw_only=True)
class SliceChange:
    slice: SliceId
    dataset: str
    rows: int
    previous_rows: int | None


@dataclass(frozen=True, kw_only=True)
class FileSummary:
    path: str
    dataset: str
    focus_version: str
    rows: int
    source_format: str = "focus"  # "focus" or the native format read
    rejected: int


@dataclass(frozen=True, kw_only=True)
class IngestResult:
    ingest_id: int | None
    versions: dict[str, int]
    files: tuple[FileSummary, ...]
    slices: tuple[SliceChange, ...]
    report: FindingReport
    rollup: RollupResult | None = None
    allocation: AllocationVersion | None = None  # the rules re-applied after the commit

    @property
    def rows(self) -> int:
        return sum(f.rows for f in self.files)

    @property
    def rejected(self) -> int:
        return sum(f.rejected for f in self.files)


def connect(options: IngestOptions, spill: Path | None = None) -> duckdb.DuckDBPyConnection:
    """A DuckDB connection for one import: UTC, bounded memory, spilling to ``spill``."""
    connection = duckdb.connect()
    connection.execute("SET TimeZone = 'UTC'")
    connection.execute(f"SET memory_limit = '{options.memory_limit}'")
    connection.execute("SET preserve_insertion_order = false")
    if spill is not None:
        connection.execute(f"SET temp_directory = '{spill}'")
    connection.execute("SET enable_progress_bar = false")
    if options.threads:
        connection.execute(f"SET threads = {int(options.threads)}")
    return connection


def validate(
    paths: Iterable[str | Path], options: IngestOptions, progress: Progress | None = None
) -> IngestResult:
    """A dry run: every finding of an import, nothing stored."""
    with tempfile.TemporaryDirectory(prefix="costprism-validate-") as spill:
        connection = connect(options, Path(spill))
        plans = [plan_read(f, connection, options.input_format) for f in discover(paths)]
        run = _Run(
            plans=plans, connection=connection, options=options, ingest_id=0, spill=Path(spill)
        )
        run.check(progress, write=False)
        connection.close()
    return run.result(versions={}, ingest_id=None)


def ingest(
    paths: Iterable[str | Path],
    ledger: Ledger,
    options: IngestOptions,
    progress: Progress | None = None,
) -> IngestResult:
    """Import files as the complete new content of the slices they touch, in one commit."""
    _check_source_name(options.source)
    files = discover(paths)
    with ledger.lock.hold() as ingest_id:
        spill = ledger.spill(ingest_id)
        connection = connect(options, spill)
        stagings: dict[str, Path] = {}
        try:
            plans = [plan_read(f, connection, options.input_format) for f in files]
            run = _Run(
                plans=plans,
                connection=connection,
                options=options,
                ingest_id=ingest_id,
                spill=spill,
            )
            run.check(progress, write=True)
            run.refuse_if_failed()
            for dataset in run.datasets:
                stagings[dataset] = ledger.table(dataset).staging(ingest_id)
            run.stage(stagings)
            changes = run.slice_changes(ledger, stagings)
            versions = _commit(ledger, run, stagings, changes)
            rollup = run.refresh_rollup(ledger, versions, changes, progress)
            allocated = run.reallocate(ledger, versions, changes, progress)
            run.store_quarantine(ledger, versions)
        finally:
            connection.close()
            shutil.rmtree(spill, ignore_errors=True)
            for staging in stagings.values():
                shutil.rmtree(staging, ignore_errors=True)
        return run.result(
            versions=versions, ingest_id=ingest_id, changes=changes, rollup=rollup,
            allocation=allocated,
        )  # fmt: skip


@dataclass
class _Run:
    """The state of one import while its files are read, checked and written."""

    plans: Sequence[ReadPlan]
    connection: duckdb.DuckDBPyConnection
    options: IngestOptions
    ingest_id: int
    spill: Path
    report: FindingReport = field(default_factory=FindingReport)
    scans: list[GroupScan] = field(default_factory=list)
    summaries: list[FileSummary] = field(default_factory=list)
    slice_ids: dict[str, SliceId] = field(default_factory=dict)

    @functools.cached_property
    def groups(self) -> list[list[ReadPlan]]:
        return group_plans(self.plans)

    @property
    def datasets(self) -> list[str]:
        return sorted({plan.dataset for plan in self.plans})

    @property
    def failed(self) -> bool:
        return self.report.errors > 0 and not self.options.quarantine

    def check(self, progress: Progress | None, *, write: bool) -> None:
        """The one pass over every group: its rows typed and checked, and (``write``)
        written as ledger files into the spill folder; then counts per rule, and the first
        lines with findings."""
        self._header_findings()
        if write:
            start_row_ids(self.connection, self.ingest_id << ROW_ORDINAL_BITS)
        for index, group in enumerate(self.groups):
            if progress:
                progress("reading", _group_name(group))
            folder = self.spill / f"group-{index:04d}" if write else None
            self.scans.append(_scanned_verified(group, self, folder))
        counted = {name: n for scan in self.scans for name, n in scan.counts.items()}
        for plan in self.plans:
            self._summarize(plan, counted[plan.file.name])
        for severity in ("error", "warning"):
            for plan in self.plans:
                self._examples(plan, counted[plan.file.name].found, severity)

    def _summarize(self, plan: ReadPlan, counts: FileCounts) -> None:
        if counts.rows == 0:
            raise InputError(
                f"{plan.file.name}:2: the file has a header but no data rows; "
                "export a billing period with charges",
                code="input.no_rows",
            )
        self._null_literal_warning(plan)
        for check, count in zip(plan.checks, counts.found, strict=True):
            if count:
                self.report.count(check.severity, check.rule, count)
        self.summaries.append(
            FileSummary(
                path=plan.file.name,
                dataset=plan.dataset,
                focus_version=plan.detection.version,
                source_format=plan.native.name if plan.native else "focus",
                rows=counts.rows - counts.rejected,
                rejected=counts.rejected,
            )
        )

    def _examples(self, plan: ReadPlan, counts: Sequence[int], severity: str) -> None:
        room = MAX_EXAMPLES - len(self.report.examples)
        failing = [
            c for c, n in zip(plan.checks, counts, strict=True) if n and c.severity == severity
        ]
        if room <= 0 or not failing:
            return
        rows = finding_rows(plan, self.connection, failing, room)
        lines = _lines(plan, [ordinal for ordinal, _, _ in rows])
        for ordinal, hits, raw in rows:
            for check in hits[: MAX_EXAMPLES - len(self.report.examples)]:
                source = plan.source_of(check.column)
                self.report.examples.append(
                    Finding(
                        file=plan.file.name,
                        line=lines[ordinal],
                        column=check.column,
                        value=raw.get(source) if source else None,
                        rule=check.rule,
                        severity=check.severity,
                        message=check.message,
                        hint=check.hint,
                    )
                )

    def _null_literal_warning(self, plan: ReadPlan) -> None:
        columns = null_literals(plan)
        if columns:
            listed = ", ".join(f"{name} ({n})" for name, n in sorted(columns.items()))
            self._header_warning(
                plan,
                next(iter(sorted(columns))),
                "null-literal",
                f"missing values are written as the text NULL (in the first 10,000 rows: "
                f"{listed}); read as null",
                "leave missing values empty",
            )

    def _header_findings(self) -> None:
        for plan in self.plans:
            for name in plan.detection.unknown:
                self._header_warning(
                    plan,
                    name,
                    "unknown-column",
                    f"{name} is not a FOCUS column; kept as x_{name}",
                    f"rename it x_{name} in the export to mark it as custom",
                )
            for old, new in plan.detection.renamed.items():
                if clean_name(old) != new:
                    self._header_warning(
                        plan,
                        old,
                        "renamed-column",
                        f"{old} read as {new}",
                        f"name the column {new}",
                    )

    def _header_warning(
        self, plan: ReadPlan, column: str, rule: str, message: str, hint: str
    ) -> None:
        self.report.add(
            Finding(
                file=plan.file.name,
                line=1,
                column=column,
                value=None,
                rule=rule,
                severity="warning",
                message=message,
                hint=hint,
            )
        )

    def refuse_if_failed(self) -> None:
        if self.failed:
            counts = self.report.per_rule("error")
            raise ValidationFailed(
                f"the import has {self.report.errors} error(s) ({_rule_counts(counts)}); "
                "nothing was stored. Fix the files, or import the valid rows with --quarantine",
                findings=[f for f in self.report.examples if f.severity == "error"],
                counts=counts,
            )

    def stage(self, stagings: dict[str, Path]) -> None:
        """Every scanned group's valid files into the staging folder of its dataset."""
        for index, scan in enumerate(self.scans):
            self.slice_ids |= stage_slices(
                scan,
                self.connection,
                stagings[scan.plan.dataset],
                source=self.options.source,
                ingest_id=self.ingest_id,
                group_index=index,
            )

    def slice_changes(self, ledger: Ledger, stagings: dict[str, Path]) -> list[SliceChange]:
        changes = []
        for dataset, staging in stagings.items():
            table = ledger.table(dataset)
            previous = table.slice_rows()
            ids = self.slice_ids
            for key, rows in sorted(table.staged_rows(staging).items()):
                changes.append(
                    SliceChange(
                        slice=ids[key], dataset=dataset, rows=rows, previous_rows=previous.get(key)
                    )
                )
        if not any(c.rows for c in changes):
            raise InputError("no valid rows to import; see the findings", code="input.no_rows")
        self._refuse_shrink(changes)
        return changes

    def _refuse_shrink(self, changes: list[SliceChange]) -> None:
        shrunk = [c for c in changes if c.previous_rows and c.rows * 2 < c.previous_rows]
        if shrunk and not self.options.force:
            listed = "; ".join(
                f"{c.slice.source}/{c.slice.billing_account_id}/{c.slice.period[:7]}: "
                f"{c.previous_rows} → {c.rows} rows"
                for c in shrunk
            )
            raise LedgerError(
                f"the import would shrink {len(shrunk)} slice(s) by more than half ({listed}); "
                "a truncated export must not replace a full one — check the files, or pass "
                "--force to replace them anyway",
                code="ledger.shrink",
            )

    def refresh_rollup(
        self,
        ledger: Ledger,
        versions: dict[str, int],
        changes: Sequence[SliceChange],
        progress: Progress | None,
    ) -> RollupResult | None:
        """Rebuild the daily rollup of the cost slices just committed. A failure leaves the
        ``costs`` commit standing (readers then use the raw ledger) and becomes a warning."""
        if COSTS_DATASET not in versions:
            return None
        if progress:
            progress("summing", "the daily rollup")
        keys = [c.slice.key for c in changes if c.dataset == COSTS_DATASET]
        try:
            return refresh_rollup(
                ledger, versions[COSTS_DATASET], keys, self.connection, self.ingest_id
            )
        except Exception as error:  # the import is committed; the rollup is only a cache
            self.report.add(_rollup_failed(ledger, error))
            return None

    def reallocate(
        self,
        ledger: Ledger,
        versions: dict[str, int],
        changes: Sequence[SliceChange],
        progress: Progress | None,
    ) -> AllocationVersion | None:
        """Re-apply the allocation rules in force from the first billing period just
        committed. A failure leaves the import standing (its new rows read as unallocated
        until the rules are applied again) and becomes a warning."""
        if COSTS_DATASET not in versions:
            return None
        periods = [
            c.slice.billing_period_start.date() for c in changes if c.dataset == COSTS_DATASET
        ]
        try:
            if AllocationStore(ledger.root).latest() is None:
                return None  # no rules applied yet (and no import of Ibis for nothing)
            if progress:
                progress("allocating", "the rules in force")
            from costprism.allocation.apply import reallocate  # ibis: imported when needed

            return reallocate(ledger, periods)
        except Exception as error:  # the import is committed; allocation can be redone
            self.report.add(_allocation_failed(ledger, error))
            return None

    def store_quarantine(self, ledger: Ledger, versions: dict[str, int]) -> None:
        """Keep the rejected rows, raw, with their findings (``--quarantine`` only)."""
        if not (self.options.quarantine and self.report.errors):
            return
        table = ledger.quarantine
        staging = table.staging(self.ingest_id)
        now = datetime.now(UTC)
        for plan in self.plans:
            rejected = finding_rows(plan, self.connection, plan.errors, None)
            if rejected:
                key = SliceId(
                    source=self.options.source,
                    billing_account_id=plan.file.name,
                    billing_period_start=EPOCH,
                ).key
                folder = staging / f"{SLICE_COLUMN}={key}"
                folder.mkdir(parents=True, exist_ok=True)
                pq.write_table(
                    _quarantine_table(plan, rejected, self.options.source, self.ingest_id, now),
                    folder / f"part-{self.ingest_id:08d}.parquet",
                )
        versions["quarantine"] = table.commit_staged(
            staging, {"ingest_id": self.ingest_id, "source": self.options.source}, []
        )

    def result(
        self,
        *,
        versions: dict[str, int],
        ingest_id: int | None,
        changes: Sequence[SliceChange] = (),
        rollup: RollupResult | None = None,
        allocation: AllocationVersion | None = None,
    ) -> IngestResult:
        return IngestResult(
            ingest_id=ingest_id,
            versions=versions,
            files=tuple(self.summaries),
            slices=tuple(changes),
            report=self.report,
            rollup=rollup,
            allocation=allocation,
        )


def _scanned_verified(group: Sequence[ReadPlan], run: _Run, folder: Path | None) -> GroupScan:
    """Scan a group (write it into ``folder``, or only count it), with gzip files read to
    their end beside it (DuckDB misses a lost trailer)."""

    def scan() -> GroupScan:
        if folder is None:
            return count_group(group, run.connection)
        return scan_group(
            group, run.connection, folder, source=run.options.source, ingest_id=run.ingest_id
        )

    compressed = [p.file.path for p in group if p.file.format in COMPRESSED]
    if not compressed:
        return scan()
    with ThreadPoolExecutor(max_workers=1) as pool:
        verified = pool.submit(_verify_all, compressed)
        try:
            scanned = scan()
        finally:
            verified.result()
    return scanned


def _verify_all(paths: list[Path]) -> None:
    for path in paths:
        verify_gzip(path)


def _group_name(group: Sequence[ReadPlan]) -> str:
    name = Path(group[0].file.name).name
    return name if len(group) == 1 else f"{name} and {len(group) - 1} more"


def _lines(plan: ReadPlan, ordinals: list[int]) -> dict[int, int]:
    """File lines of data records; records can span lines inside quoted fields."""
    if plan.file.format not in TEXT_LINES:
        return {o: plan.line_of(o) for o in ordinals}
    found = record_lines(plan.file.path, plan.file.format, ordinals)
    return {o: found.get(o, plan.line_of(o)) for o in ordinals}


def _commit(
    ledger: Ledger, run: _Run, stagings: dict[str, Path], changes: Sequence[SliceChange]
) -> dict[str, int]:
    versions = {}
    for dataset, staging in stagings.items():
        mine = [c for c in changes if c.dataset == dataset]
        if not mine:
            continue
        extras: dict[str, pa.Field] = {}
        for plan in run.plans:
            if plan.dataset == dataset:
                extras.update({f.name: f for f in plan.extra_fields})
        versions[dataset] = ledger.table(dataset).commit_staged(
            staging, _commit_metadata(run, mine), list(extras.values())
        )
    return versions


def _commit_metadata(run: _Run, changes: Sequence[SliceChange]) -> dict[str, Any]:
    return {
        "ingest_id": run.ingest_id,
        "source": run.options.source,
        "files": [f.path for f in run.summaries],
        "rows": sum(c.rows for c in changes),
        "warnings": run.report.per_rule("warning"),
        "rejected": sum(f.rejected for f in run.summaries),
        "slices": [
            {
                "key": c.slice.key,
                "source": c.slice.source,
                "billing_account_id": c.slice.billing_account_id,
                "billing_period_start": c.slice.period,
                "rows": c.rows,
                "previous_rows": c.previous_rows,
            }
            for c in changes
        ],
    }


def _quarantine_table(
    plan: ReadPlan,
    rejected: list[tuple[int, list[Check], dict[str, str | None]]],
    source: str,
    ingest_id: int,
    now: datetime,
) -> pa.Table:
    findings = [
        json.dumps(
            [
                {
                    "rule": c.rule,
                    "column": c.column,
                    "value": raw.get(plan.source_of(c.column) or ""),
                    "message": c.message,
                    "hint": c.hint,
                }
                for c in hits
            ]
        )
        for _, hits, raw in rejected
    ]
    n = len(rejected)
    return pa.table(
        {
            "x_SourceId": [source] * n,
            "x_IngestId": [ingest_id] * n,
            "file": [plan.file.name] * n,
            "line": [plan.line_of(ordinal) for ordinal, _, _ in rejected],
            "row": [list(raw.items()) for _, _, raw in rejected],
            "findings": findings,
            "quarantined_at": [now] * n,
        },
        schema=QUARANTINE_SCHEMA,
    )


def _rollup_failed(ledger: Ledger, error: Exception) -> Finding:
    return Finding(
        file=str(ledger.costs_daily.path),
        line=None,
        column=None,
        value=None,
        rule="rollup-failed",
        severity="warning",
        message=f"the import is stored, but the daily rollup was not updated "
        f"({type(error).__name__}: {error}); reports read the raw ledger until it is",
        hint="run 'costprism rollup rebuild' (the next import also rebuilds it)",
    )


def _allocation_failed(ledger: Ledger, error: Exception) -> Finding:
    return Finding(
        file=str(ledger.root / "allocations"),
        line=None,
        column=None,
        value=None,
        rule="allocation-failed",
        severity="warning",
        message=f"the import is stored, but the allocation rules were not re-applied "
        f"({type(error).__name__}: {error}); its rows read as (unallocated) until they are",
        hint="run 'costprism rules apply FILE' again",
    )


def _rule_counts(counts: dict[str, int]) -> str:
    return ", ".join(f"{rule}: {n}" for rule, n in counts.items())


def _check_source_name(source: str) -> None:
    if not source or not all(c.isalnum() or c in "-_." for c in source):
        raise InputError(
            f"source name {source!r} is not allowed; use letters, digits, '-', '_' or '.'",
            code="input.bad_source",
        )
