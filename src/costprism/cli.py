"""The ``costprism`` command: parse arguments, call a capability, render the answer.

Errors become exit codes here and only here: 0 success, 1 user error (bad input, bad
arguments), 2 internal error. A user never sees a traceback unless ``COSTPRISM_DEBUG=1``.
"""

from __future__ import annotations

import csv
import io
import json
import os
import sys
from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table
from typer._click.exceptions import ClickException

from costprism.errors import CostPrismError, InputError
from costprism.settings import resolve_home

if TYPE_CHECKING:
    from costprism.ingest.findings import FindingReport
    from costprism.ingest.pipeline import IngestResult

# Heavy modules (DuckDB, Ibis, Delta) are imported inside the commands that use them, so
# that `costprism --help` and argument errors answer at once.
GRANULARITIES = ("day", "week", "month", "quarter", "year", "total", "billing-period")

app = typer.Typer(
    name="costprism",
    help="CostPrism: every provider's bill in one FOCUS ledger.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
demo_app = typer.Typer(help="The demo company.", no_args_is_help=True)
app.add_typer(demo_app, name="demo")
rollup_app = typer.Typer(help="The daily rollup the reports read.", no_args_is_help=True)
app.add_typer(rollup_app, name="rollup")

out = Console(width=None if sys.stdout.isatty() else 240)
err = Console(stderr=True, width=None if sys.stderr.isatty() else 240)

OutputFormat = Literal["table", "csv", "json"]
HomeOption = Annotated[
    Path | None,
    typer.Option(
        "--home",
        envvar="COSTPRISM_HOME",
        help="Data folder (ledger, metadata); default ~/.costprism.",
        show_default=False,
    ),
]
FormatOption = Annotated[
    str, typer.Option("--format", help="table, csv or json.", show_default=True)
]
InputFormatOption = Annotated[
    str | None,
    typer.Option(
        "--format",
        help="Read every file as this format: focus, or a native one (see docs/reference/"
        "native-formats.md). Default: detected from each file's header.",
    ),
]
AsOfOption = Annotated[
    str | None,
    typer.Option("--as-of", help="A ledger version (see 'history') or an ISO timestamp."),
]


def main() -> None:
    """Entry point: run the app and turn errors into exit codes."""
    try:
        result = app(standalone_mode=False)
    except typer.Exit as done:
        sys.exit(done.exit_code)
    except typer.Abort:
        err.print("aborted")
        sys.exit(1)
    except ClickException as error:
        error.show()
        sys.exit(1)
    except CostPrismError as error:
        err.print(f"error [{error.code}]: {error.message}", markup=False, highlight=False)
        _print_findings(getattr(error, "findings", []), getattr(error, "counts", {}))
        sys.exit(error.exit_code)
    except Exception as error:  # the last line of defence: no traceback for users
        if os.environ.get("COSTPRISM_DEBUG"):
            raise
        err.print(
            f"internal error: {type(error).__name__}: {error}\n"
            "This is a bug; run again with COSTPRISM_DEBUG=1 for details and report it.",
            markup=False,
        )
        sys.exit(2)
    sys.exit(result if isinstance(result, int) else 0)


@app.command("ingest")
def ingest_command(
    paths: Annotated[list[str], typer.Argument(help="Files, directories or globs.")],
    source: Annotated[str, typer.Option("--source", help="Name of this data source.")],
    quarantine: Annotated[
        bool, typer.Option("--quarantine", help="Store valid rows; keep rejected rows aside.")
    ] = False,
    force: Annotated[
        bool, typer.Option("--force", help="Allow a slice to shrink by more than half.")
    ] = False,
    memory_limit: Annotated[str, typer.Option(help="DuckDB memory limit.")] = "1GB",
    threads: Annotated[int | None, typer.Option(help="DuckDB threads (default: all).")] = None,
    input_format: InputFormatOption = None,
    home: HomeOption = None,
) -> None:
    """Import FOCUS or native billing exports (CSV, CSV.gz, Parquet, JSON lines) as the new
    content of their slices."""
    from costprism.ingest.pipeline import IngestOptions, ingest
    from costprism.ledger import Ledger

    ledger = Ledger.at_home(resolve_home(home))
    options = IngestOptions(
        source=source, quarantine=quarantine, force=force, memory_limit=memory_limit,
        threads=threads, input_format=input_format,
    )  # fmt: skip
    with _IngestProgress() as step:
        result = ingest(paths, ledger, options, progress=step)
    _print_findings(result.report.examples, result.report.per_rule("error"), result.report)
    _print_ingest(result)


@app.command("validate")
def validate_command(
    paths: Annotated[list[str], typer.Argument(help="Files, directories or globs.")],
    input_format: InputFormatOption = None,
    home: HomeOption = None,
) -> None:
    """Check files as an import would, storing nothing; exit 1 if there are errors."""
    from costprism.ingest.pipeline import IngestOptions, validate

    options = IngestOptions(source="validate", input_format=input_format)
    with _IngestProgress() as step:
        result = validate(paths, options, progress=step)
    _print_findings(result.report.examples, result.report.per_rule("error"), result.report)
    for file in result.files:
        native = "" if file.source_format == "focus" else f"{file.source_format} read as "
        out.print(
            f"{file.path}: {native}FOCUS {file.focus_version} {file.dataset.replace('_', ' ')}, "
            f"{file.rows + file.rejected} rows, {file.rejected} with errors",
            markup=False,
        )
    if result.report.errors:
        raise typer.Exit(1)


@app.command("sources")
def sources_command(
    as_of: AsOfOption = None, output: FormatOption = "table", home: HomeOption = None
) -> None:
    """The slices in the ledger: rows and totals per currency, version, import time."""
    from costprism.capabilities.datasources import list_slices
    from costprism.engine.backends import open_ledger
    from costprism.ledger import Ledger

    ledger = Ledger.at_home(resolve_home(home))
    view = open_ledger(ledger, as_of=_as_of(as_of))
    records = [s.record() for s in list_slices(ledger, view)]
    _render(records, _format(output), title=f"ledger version {view.version}")


@app.command("cost")
def cost_command(
    by: Annotated[
        list[str] | None, typer.Option("--by", help="Group by a column or tag:KEY.")
    ] = None,
    granularity: Annotated[str, typer.Option(help=" | ".join(GRANULARITIES))] = "month",
    start: Annotated[str | None, typer.Option("--from", help="First day (inclusive).")] = None,
    end: Annotated[str | None, typer.Option("--to", help="Last day (exclusive).")] = None,
    where: Annotated[
        list[str] | None, typer.Option("--where", help="A filter (repeatable).")
    ] = None,
    basis: Annotated[
        str, typer.Option(help="billed | effective | list | contracted")
    ] = "effective",
    top: Annotated[int | None, typer.Option(help="Keep the N largest groups.")] = None,
    as_of: AsOfOption = None,
    engine: Annotated[str, typer.Option(help="duckdb or spark.")] = "duckdb",
    rules_version: Annotated[
        int | None,
        typer.Option("--rules-version", help="Allocation rule-set version (default: newest)."),
    ] = None,
    output: FormatOption = "table",
    home: HomeOption = None,
) -> None:
    """Cost by any columns, tags and allocation dimensions over time, in each billing
    currency."""
    from costprism.capabilities.cost_request import parse_cost_query
    from costprism.capabilities.reporting import cost_report
    from costprism.engine.backends import EngineName, open_ledger
    from costprism.ledger import Ledger

    query = parse_cost_query(
        by=by or (),
        where=where or (),
        start=start,
        end=end,
        granularity=granularity,
        basis=basis,
        top=top,
        prefix="--",
    )
    chosen: EngineName = _choice(engine, ("duckdb", "spark"), "--engine")
    view = open_ledger(
        Ledger.at_home(resolve_home(home)), as_of=_as_of(as_of), engine=chosen,
        rules_version=rules_version,
    )  # fmt: skip
    report = cost_report(view, query)
    _render(report.records(), _format(output), title=f"ledger version {report.version}")


@app.command("export")
def export_command(
    out_file: Annotated[Path, typer.Argument(metavar="OUT", help="The file to write.")],
    focus_version: Annotated[
        str, typer.Option("--focus-version", help="The FOCUS version to write (1.2).")
    ] = "1.2",
    file_format: Annotated[
        str | None,
        typer.Option("--format", help="csv or parquet (default: from OUT's suffix)."),
    ] = None,
    start: Annotated[str | None, typer.Option("--from", help="First day (inclusive).")] = None,
    end: Annotated[str | None, typer.Option("--to", help="Last day (exclusive).")] = None,
    where: Annotated[
        list[str] | None, typer.Option("--where", help="A filter (repeatable).")
    ] = None,
    ledger_ids: Annotated[
        bool, typer.Option("--ledger-ids", help="Add x_SourceId, x_IngestId and x_RowId.")
    ] = False,
    force: Annotated[bool, typer.Option("--force", help="Replace OUT if it exists.")] = False,
    as_of: AsOfOption = None,
    home: HomeOption = None,
) -> None:
    """Write the ledger's cost and usage rows as one FOCUS file (CSV or Parquet)."""
    from costprism.capabilities.export import export_focus, parse_export_request
    from costprism.engine.backends import open_ledger
    from costprism.ledger import Ledger

    request = parse_export_request(
        out=out_file, focus_version=focus_version, file_format=file_format, where=where or (),
        start=start, end=end, ledger_ids=ledger_ids, force=force, prefix="--",
    )  # fmt: skip
    view = open_ledger(Ledger.at_home(resolve_home(home)), as_of=_as_of(as_of))
    with _PercentProgress("exporting") as progress:
        result = export_focus(view, out_file, request, progress=progress)
    version = "an empty ledger" if result.version is None else f"ledger version {result.version}"
    out.print(
        f"wrote {result.rows:,} rows, FOCUS {request.focus_version} {request.file_format}, "
        f"{len(result.columns)} columns, to {result.path} (from {version})",
        markup=False,
        highlight=False,
    )


@app.command("history")
def history_command(
    source: Annotated[str | None, typer.Option(help="Only this source.")] = None,
    period: Annotated[str | None, typer.Option(help="Only this billing period (YYYY-MM).")] = None,
    output: FormatOption = "table",
    home: HomeOption = None,
) -> None:
    """Every version of the slices of a source and billing period."""
    from costprism.capabilities.datasources import slice_history
    from costprism.ledger import Ledger

    ledger = Ledger.at_home(resolve_home(home))
    records = [v.record() for v in slice_history(ledger, source=source, period=period)]
    if _format(output) != "json":
        for record in records:
            record["files"] = len(record["files"])
    _render(records, _format(output), title="slice versions (use --as-of VERSION to read one)")


@app.command("quarantine")
def quarantine_command(
    source: Annotated[str | None, typer.Option(help="Only this source.")] = None,
    limit: Annotated[int, typer.Option(help="At most this many rows.")] = 100,
    output: FormatOption = "table",
    home: HomeOption = None,
) -> None:
    """Rows an import rejected (with --quarantine), with their findings."""
    from costprism.capabilities.quarantine import quarantined_rows
    from costprism.ledger import Ledger

    ledger = Ledger.at_home(resolve_home(home))
    _render(
        quarantined_rows(ledger, source=source, limit=limit), _format(output), title="quarantine"
    )


@app.command("vacuum")
def vacuum_command(home: HomeOption = None) -> None:
    """Delete files no longer in the newest version (old versions become unreadable) and
    what killed imports left behind."""
    from costprism.ledger import Ledger

    ledger = Ledger.at_home(resolve_home(home))
    with ledger.lock.hold():
        removed = sum(len(t.vacuum()) for t in ledger.tables) + ledger.clear_spill()
    out.print(f"removed {removed} file(s); only the newest version remains readable")


@rollup_app.command("rebuild")
def rollup_rebuild_command(
    memory_limit: Annotated[str, typer.Option(help="DuckDB memory limit.")] = "1GB",
    home: HomeOption = None,
) -> None:
    """Rebuild the daily rollup from the newest ledger version (e.g. for older ledgers)."""
    from costprism.ledger import Ledger
    from costprism.ledger.rollups import rebuild

    ledger = Ledger.at_home(resolve_home(home))
    result = rebuild(ledger, memory_limit=memory_limit)
    if result is None:
        out.print("the ledger is empty; nothing to roll up")
        return
    rows = sum(ledger.costs.slice_rows().values())
    out.print(
        f"costs_daily version {result.version}: {result.rows:,} rows summing {rows:,} rows "
        f"of {len(result.slices)} slice(s), costs version {result.costs_version}",
        markup=False,
    )


@demo_app.command("generate")
def demo_generate(
    out_dir: Annotated[Path, typer.Option("--out", help="Folder to write.")] = Path("demo-data"),
    months: Annotated[int, typer.Option(help="Months of history.")] = 13,
    seed: Annotated[int, typer.Option(help="Random seed (same seed, same files).")] = 7,
    rows_per_month: Annotated[int, typer.Option(help="Approximate rows a month.")] = 50_000,
    file_format: Annotated[
        str, typer.Option("--file-format", help="csv, csv.gz or parquet.")
    ] = "csv",
) -> None:
    """Write the demo company's FOCUS exports and ground truth."""
    from costprism.demo import DemoSpec, generate

    if months < 1 or rows_per_month < 1000:
        raise InputError(
            "--months must be ≥ 1 and --rows-per-month ≥ 1000", code="input.bad_option"
        )
    spec = DemoSpec(
        seed=seed, months=months, rows_per_month=rows_per_month,
        file_format=_choice(file_format, ("csv", "csv.gz", "parquet"), "--file-format"),
    )  # fmt: skip
    with Progress(
        TextColumn("generating"), BarColumn(), TextColumn("{task.completed:,.0f} rows"),
        TimeElapsedColumn(), console=err, transient=True,
    ) as bar:  # fmt: skip
        task = bar.add_task("rows", total=None)
        result = generate(
            out_dir,
            spec,
            progress=lambda done, total: bar.update(task, completed=done, total=total),
        )
    out.print(f"wrote {result.rows:,} rows in {len(result.files)} files to {result.out}")


@demo_app.command("cur")
def demo_cur(
    out_file: Annotated[Path, typer.Option("--out", help="CSV file to write.")] = Path(
        "demo-data/aws-cur.csv"
    ),
    rows: Annotated[int, typer.Option(help="About this many CUR lines (±10%).")] = 100_000,
    months: Annotated[int, typer.Option(help="Months of history.")] = 1,
    seed: Annotated[int, typer.Option(help="Random seed (same seed, same file).")] = 7,
) -> None:
    """Write the demo company's AWS bill as a legacy AWS Cost and Usage Report (CSV)."""
    from costprism.demo.cur import CurSpec, generate_cur

    if months < 1 or rows < 1:
        raise InputError("--months and --rows must be ≥ 1", code="input.bad_option")
    with Progress(
        SpinnerColumn(), TextColumn("writing the CUR"), TimeElapsedColumn(), console=err,
        transient=True,
    ) as bar:  # fmt: skip
        bar.add_task("cur", total=None)
        result = generate_cur(out_file, CurSpec(rows=rows, months=months, seed=seed))
    out.print(
        f"wrote {result.rows:,} CUR lines ({len(result.columns)} columns, "
        f"{len(result.tag_keys)} tag keys) to {result.path}",
        markup=False,
    )


class _IngestProgress:
    """A progress display for the two passes over each file."""

    def __enter__(self) -> Callable[[str, str], None]:
        self._bar = Progress(
            SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(),
            console=err, transient=True,
        )  # fmt: skip
        self._bar.__enter__()
        self._task = self._bar.add_task("reading", total=None)
        return self._step

    def _step(self, stage: str, file: str) -> None:
        self._bar.update(self._task, description=f"{stage} {Path(file).name}")

    def __exit__(self, *exc: object) -> None:
        self._bar.__exit__(None, None, None)


class _PercentProgress:
    """A percentage bar on stderr, shown from the first report on (so that an error raised
    before any progress prints alone)."""

    def __init__(self, label: str) -> None:
        self._label = label
        self._bar: Progress | None = None

    def __enter__(self) -> Callable[[float], None]:
        return self._update

    def _update(self, percent: float) -> None:
        if self._bar is None:
            self._bar = Progress(
                TextColumn(self._label), BarColumn(), TextColumn("{task.percentage:>3.0f}%"),
                TimeElapsedColumn(), console=err, transient=True,
            )  # fmt: skip
            self._bar.__enter__()
            self._bar.add_task(self._label, total=100)
        self._bar.update(self._bar.task_ids[0], completed=percent)

    def __exit__(self, *exc: object) -> None:
        if self._bar is not None:
            self._bar.__exit__(None, None, None)


def _print_ingest(result: IngestResult) -> None:
    out.print(
        f"ingest {result.ingest_id}: {result.rows:,} rows from {len(result.files)} file(s)"
        + (f", {result.rejected:,} rejected to quarantine" if result.rejected else ""),
        markup=False,
    )
    for change in result.slices:
        was = "new" if change.previous_rows is None else f"replaces {change.previous_rows:,} rows"
        out.print(
            f"  {change.dataset} {change.slice.source}/{change.slice.billing_account_id}/"
            f"{change.slice.period[:7]}: {change.rows:,} rows ({was})",
            markup=False,
        )
    for dataset, version in sorted(result.versions.items()):
        out.print(f"  {dataset} table now at version {version}", markup=False)
    if result.rollup:
        out.print(
            f"  costs_daily (the daily rollup) now at version {result.rollup.version}: "
            f"{result.rollup.rows:,} rows for {len(result.rollup.slices)} slice(s)",
            markup=False,
        )


def _print_findings(
    findings: Sequence[Any], errors: dict[str, int], report: FindingReport | None = None
) -> None:
    for finding in findings:
        err.print(str(finding), markup=False, highlight=False)
    counts = dict(report.counts) if report else {("error", r): n for r, n in errors.items()}
    for (severity, rule), count in sorted(counts.items()):
        err.print(f"{severity} {rule}: {count:,}", markup=False)


def _render(records: list[dict[str, Any]], output: OutputFormat, title: str) -> None:
    if output == "json":
        sys.stdout.write(json.dumps(records, indent=None, default=str) + "\n")
        return
    columns = list(records[0]) if records else []
    if output == "csv":
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=columns, lineterminator="\n")
        writer.writeheader()
        writer.writerows(records)
        sys.stdout.write(buffer.getvalue())
        return
    table = Table(title=title, title_justify="left")
    for column in columns:
        numeric = bool(records) and isinstance(records[0][column], float)
        table.add_column(column, justify="right" if numeric else "left")
    for record in records:
        table.add_row(*(_cell(record[c]) for c in columns))
    out.print(table if records else f"{title}: no rows")


def _cell(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:,.2f}"
    return str(value)


def _format(value: str) -> OutputFormat:
    chosen: OutputFormat = _choice(value, ("table", "csv", "json"), "--format")
    return chosen


def _choice(value: str, allowed: Sequence[str], option: str) -> Any:
    from costprism.capabilities.cost_request import choice

    return choice(value, allowed, option)


def _as_of(value: str | None) -> int | datetime | None:
    from costprism.capabilities.cost_request import parse_as_of

    return parse_as_of(value)


# The server and access commands (serve, users, tokens, demo users) are defined in
# cli_access, the allocation ones (rules, explain) in cli_allocation, the chargeback ones in
# cli_chargeback, the tag governance ones in cli_tags; each adds them to this app when
# imported and imports from here, hence last.
from costprism import (  # noqa: E402, F401
    cli_access,
    cli_alerts,
    cli_allocation,
    cli_anomalies,
    cli_budgets,
    cli_chargeback,
    cli_forecast,
    cli_tags,
)
