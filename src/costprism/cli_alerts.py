"""The alert commands: ``alerts run|test|deliveries``.

Added to :mod:`costprism.cli`'s app when that module imports this one (at its end), with
its conventions: heavy imports inside the commands, errors turned into exit codes by
:func:`costprism.cli.main` only. The configuration is ``alerts.yaml`` in the data folder
(or ``--config``), the owners file ``owners.yaml`` there (or ``--owners``); the metadata
database is chosen as by ``costprism users``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from costprism.cli import HomeOption, _format, _render, app, out
from costprism.cli_database import DatabaseOption, cli_actor
from costprism.cli_database import open_database as _database
from costprism.errors import UserError
from costprism.settings import resolve_home

alerts_app = typer.Typer(
    help="Alerts: budget thresholds, anomalies and digests to e-mail, Slack, Teams, webhooks.",
    no_args_is_help=True,
)
app.add_typer(alerts_app, name="alerts")

FormatOption = Annotated[str, typer.Option("--format", help="table, csv or json.")]
ConfigOption = Annotated[
    Path | None,
    typer.Option("--config", help="The alerts configuration (default: alerts.yaml in the data "
                 "folder)."),
]  # fmt: skip


@alerts_app.command("run")
def run_command(
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Show what is due; send and record nothing.")
    ] = False,
    detect: Annotated[
        bool, typer.Option("--detect", help="Detect anomalies first (as 'anomalies detect').")
    ] = False,
    config: ConfigOption = None,
    owners: Annotated[
        Path | None,
        typer.Option("--owners", help="An owners file (default: owners.yaml in the data folder)."),
    ] = None,
    output: FormatOption = "table",
    database_url: DatabaseOption = None,
    home: HomeOption = None,
) -> None:
    """Evaluate budgets, anomalies and digests and send what is due (idempotent: what was
    sent is not sent again; what failed is tried again)."""
    from costprism.capabilities.alerts import config_for, run_alerts
    from costprism.capabilities.anomalies import owners_for
    from costprism.engine.backends import open_ledger
    from costprism.ledger import Ledger

    chosen = _format(output)
    folder = resolve_home(home)
    settings = config_for(folder, config)
    run = run_alerts(
        open_ledger(Ledger.at_home(folder)), _database(database_url, home), settings,
        owners=owners_for(folder, owners), dry_run=dry_run, detect=detect, actor=cli_actor(),
    )  # fmt: skip
    record = run.record()
    if chosen == "json":
        out.print_json(json.dumps(record))
    else:
        rows = [_row(d) for d in record["deliveries"]]
        _render(rows, chosen, "alerts (dry run)" if dry_run else "alerts")
        if chosen == "table":
            out.print(
                f"{record['sent']} sent, {record['failed']} failed, {record['already_sent']} "
                f"already sent" + (f", {record['would_send']} due" if dry_run else ""),
                markup=False,
                highlight=False,
            )
            for problem in record["problems"]:
                out.print(f"routing: {problem}", markup=False, highlight=False)
    if record["failed"]:
        raise UserError(
            f"{record['failed']} deliveries failed (see the error column); they are tried "
            "again on the next run",
            code="alerts.send_failed",
        )


@alerts_app.command("test")
def send_test_command(
    channel: Annotated[str, typer.Argument(help="A channel name from alerts.yaml, or email.")],
    to: Annotated[
        str | None, typer.Option("--to", help="The address (for the email channel).")
    ] = None,
    config: ConfigOption = None,
    home: HomeOption = None,
) -> None:
    """Send a test message on a channel (errors name the HTTP status or SMTP reply)."""
    from costprism.capabilities.alerts import config_for, send_test

    found = send_test(config_for(resolve_home(home), config), channel, to=to)
    where = f" to {found['to']}" if found["to"] else ""
    out.print(f"test message sent on {channel}{where}", markup=False, highlight=False)


@alerts_app.command("deliveries")
def deliveries_command(
    status: Annotated[str | None, typer.Option(help="sent or failed.")] = None,
    limit: Annotated[int, typer.Option(help="How many, newest first.", min=1, max=10_000)] = 50,
    output: FormatOption = "table",
    database_url: DatabaseOption = None,
    home: HomeOption = None,
) -> None:
    """What was sent to whom on which channel (and what failed, with the error)."""
    from costprism.capabilities.alerts import list_deliveries

    chosen = _format(output)
    records = list_deliveries(_database(database_url, home), limit=limit, status=status)
    _render(records, chosen, "alert deliveries")


def _row(record: dict[str, Any]) -> dict[str, Any]:
    return {k: record[k] for k in ("kind", "recipient", "channel", "to", "status", "subject",
                                   "error")}  # fmt: skip
