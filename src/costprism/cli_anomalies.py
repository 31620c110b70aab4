"""The anomaly commands: ``anomalies detect|list|show|kpis`` and the triage ones
(``ack``, ``resolve``, ``expected``, ``false-positive``, ``reopen``, ``comment``,
``assign``).

Added to :mod:`costprism.cli`'s app when that module imports this one (at its end), with
its conventions: heavy imports inside the commands, errors turned into exit codes by
:func:`costprism.cli.main` only. Triage changes are audited as ``cli:<OS user>``; the
metadata database is chosen as by ``costprism users`` (``--database-url``, else
``COSTPRISM_DATABASE_URL``, else ``metadata.db`` in the data folder).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from costprism.cli import HomeOption, _format, _render, app, out
from costprism.cli_database import DatabaseOption, cli_actor
from costprism.settings import resolve_home

if TYPE_CHECKING:
    from costprism.db import Database
    from costprism.engine.backends import LedgerView
    from costprism.engine.filters import Filter

anomalies_app = typer.Typer(
    help="Cost anomalies: detect, list, show, triage.", no_args_is_help=True
)
app.add_typer(anomalies_app, name="anomalies")

FormatOption = Annotated[str, typer.Option("--format", help="table, csv or json.")]
IdArgument = Annotated[int, typer.Argument(help="The anomaly's id (see 'anomalies list').")]
CommentOption = Annotated[str, typer.Option("--comment", help="Why (kept in the history).")]
ScopeOption = Annotated[
    list[str] | None,
    typer.Option(
        "--scope",
        help="Answer as a user with this scope would see it (a filter, repeatable, ANDed).",
    ),
]


@anomalies_app.command("detect")
def detect_command(
    by: Annotated[
        list[str] | None,
        typer.Option(
            "--by",
            help="A dimension to watch (repeatable): every combination of the values is a "
            "scope. FOCUS columns, tag:KEY or allocation dimensions. Default: SubAccountId "
            "and ServiceName.",
        ),
    ] = None,
    where: Annotated[
        list[str] | None, typer.Option("--where", help="Watch only rows matching (repeatable).")
    ] = None,
    start: Annotated[str | None, typer.Option("--from", help="First day read (ISO).")] = None,
    end: Annotated[str | None, typer.Option("--to", help="Day after the last read.")] = None,
    sensitivity: Annotated[
        float, typer.Option(help="1 is the default; 2 finds smaller changes, 0.5 larger only.")
    ] = 1.0,
    unfinished_days: Annotated[
        int, typer.Option(help="The newest days left out (providers still billing them).")
    ] = 2,
    min_impact: Annotated[
        float, typer.Option(help="Drop anomalies with a smaller impact (billing currency).")
    ] = 250.0,
    security: Annotated[
        bool, typer.Option("--security/--no-security", help="Run the security rules too.")
    ] = True,
    owners: Annotated[
        Path | None,
        typer.Option("--owners", help="An owners file (default: owners.yaml in the data folder)."),
    ] = None,
    output: FormatOption = "table",
    database_url: DatabaseOption = None,
    home: HomeOption = None,
) -> None:
    """Detect anomalies in every scope and record them (re-running updates, never
    duplicates)."""
    from costprism.anomalies.detection import DetectionSettings
    from costprism.capabilities.anomalies import DEFAULT_BY, detect_anomalies, owners_for
    from costprism.capabilities.cost_request import parse_day
    from costprism.engine.filters import parse_filters

    chosen = _format(output)
    settings = DetectionSettings(
        sensitivity=sensitivity, unfinished_days=unfinished_days, min_impact=min_impact
    )
    run = detect_anomalies(
        _view(home), _db(database_url, home), by=tuple(by or DEFAULT_BY), settings=settings,
        filters=parse_filters(where or ()), owners=owners_for(resolve_home(home), owners),
        start=parse_day(start, "--from"), end=parse_day(end, "--to"), security=security,
        actor=cli_actor(),
    )  # fmt: skip
    if chosen == "json":
        out.print_json(json.dumps(run.record()))
        return
    out.print(
        f"watched {' × '.join(run.dimensions)}: {run.found} anomalies found, "
        f"{len(run.recorded.new)} new ({len(run.recorded.suppressed)} similar to ones marked "
        f"expected), {len(run.recorded.updated)} updated",
        markup=False,
        highlight=False,
    )


@anomalies_app.command("list")
def list_command(
    state: Annotated[str | None, typer.Option(help="open, acknowledged, resolved, …")] = None,
    severity: Annotated[str | None, typer.Option(help="low, medium, high or critical.")] = None,
    kind: Annotated[str | None, typer.Option(help="cost or security.")] = None,
    scope: ScopeOption = None,
    output: FormatOption = "table",
    database_url: DatabaseOption = None,
    home: HomeOption = None,
) -> None:
    """The recorded anomalies, newest first."""
    from costprism.capabilities.anomalies import list_anomalies

    chosen = _format(output)
    records = list_anomalies(
        _view(home), _db(database_url, home), scope=_scope(scope), state=state,
        severity=severity, kind=kind,
    )  # fmt: skip
    if chosen == "table":
        records = [_row(r) for r in records]
    _render(records, chosen, "anomalies")


@anomalies_app.command("show")
def show_command(
    anomaly_id: IdArgument,
    scope: ScopeOption = None,
    output: FormatOption = "table",
    database_url: DatabaseOption = None,
    home: HomeOption = None,
) -> None:
    """One anomaly: its numbers, drivers, chart series and history."""
    from costprism.capabilities.anomalies import anomaly_detail

    chosen = _format(output)
    detail = anomaly_detail(_view(home), _db(database_url, home), anomaly_id, scope=_scope(scope))
    _show(detail, chosen)


@anomalies_app.command("kpis")
def kpis_command(
    scope: ScopeOption = None,
    output: FormatOption = "table",
    database_url: DatabaseOption = None,
    home: HomeOption = None,
) -> None:
    """Mean time to detect, acknowledge and resolve; anomaly cost %."""
    from costprism.capabilities.anomalies import anomaly_kpis, list_anomalies

    chosen = _format(output)
    view, filters = _view(home), _scope(scope)
    kpis = anomaly_kpis(view, list_anomalies(view, _db(database_url, home), scope=filters), filters)
    if chosen == "json":
        out.print_json(json.dumps(kpis))
        return
    rows = [
        {"kpi": k, "value": json.dumps(v) if isinstance(v, dict) else v} for k, v in kpis.items()
    ]
    _render(rows, chosen, "anomaly KPIs")


def _triage(to_state: str, summary: str) -> Any:
    def command(
        anomaly_id: IdArgument,
        comment: CommentOption = "",
        output: FormatOption = "table",
        database_url: DatabaseOption = None,
        home: HomeOption = None,
    ) -> None:
        from costprism.capabilities.anomalies import triage_anomaly

        chosen = _format(output)
        detail = triage_anomaly(
            _view(home), _db(database_url, home), anomaly_id, to_state, actor=cli_actor(),
            comment=comment,
        )  # fmt: skip
        _show(detail, chosen)

    command.__doc__ = summary
    return command


for _name, _state, _summary in (
    ("ack", "acknowledged", "Acknowledge an anomaly: someone is looking at it."),
    ("resolve", "resolved", "Resolve an anomaly: its cause is fixed."),
    ("expected", "expected", "Mark an anomaly expected; similar ones later are not alerted."),
    ("false-positive", "false_positive", "Mark an anomaly a false positive."),
    ("reopen", "open", "Open a closed or acknowledged anomaly again."),
):
    anomalies_app.command(_name)(_triage(_state, _summary))


@anomalies_app.command("comment")
def comment_command(
    anomaly_id: IdArgument,
    text: Annotated[str, typer.Argument(help="The comment.")],
    output: FormatOption = "table",
    database_url: DatabaseOption = None,
    home: HomeOption = None,
) -> None:
    """Add a comment to an anomaly's history."""
    from costprism.capabilities.anomalies import comment_anomaly

    chosen = _format(output)
    detail = comment_anomaly(
        _view(home), _db(database_url, home), anomaly_id, text, actor=cli_actor()
    )
    _show(detail, chosen)


@anomalies_app.command("assign")
def assign_command(
    anomaly_id: IdArgument,
    owner: Annotated[str, typer.Argument(help="Who owns it (a user, an address).")],
    output: FormatOption = "table",
    database_url: DatabaseOption = None,
    home: HomeOption = None,
) -> None:
    """Set an anomaly's owner."""
    from costprism.capabilities.anomalies import assign_anomaly

    chosen = _format(output)
    detail = assign_anomaly(
        _view(home), _db(database_url, home), anomaly_id, owner, actor=cli_actor()
    )
    _show(detail, chosen)


def _show(detail: dict[str, Any], chosen: str) -> None:
    if chosen == "json":
        out.print_json(json.dumps(detail))
        return
    fields = {k: v for k, v in detail.items() if k not in ("drivers", "series", "history")}
    fields["scope"] = _scope_text(detail["scope"])
    _render([{"field": k, "value": v} for k, v in fields.items()], "table", "anomaly")
    _render(list(detail["drivers"]), "table", "drivers")
    _render(list(detail["history"]), "table", "history")


def _row(record: dict[str, Any]) -> dict[str, Any]:
    top = record["drivers"][0] if record["drivers"] else None
    return {
        "id": record["id"],
        "rule": record["rule"],
        "scope": _scope_text(record["scope"]),
        "start": record["start"],
        "end": record["end"],
        "currency": record["BillingCurrency"],
        "impact": record["impact"],
        "severity": record["severity"],
        "state": record["state"],
        "owner": record["owner"],
        "top driver": f"{top['dimension']}={top['value']} ({top['share']:.0%})" if top else None,
    }


def _scope_text(scope: dict[str, str]) -> str:
    return ", ".join(f"{k}={v}" for k, v in scope.items())


def _scope(texts: list[str] | None) -> tuple[Filter, ...]:
    from costprism.engine.filters import parse_filters

    return parse_filters(texts or ())


def _view(home: Path | None) -> LedgerView:
    from costprism.engine.backends import open_ledger
    from costprism.ledger import Ledger

    return open_ledger(Ledger.at_home(resolve_home(home)))


def _db(url: str | None, home: Path | None) -> Database:
    from costprism.cli_database import open_database as _database

    return _database(url, home)
