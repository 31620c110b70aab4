"""The budget commands: ``budgets apply|list|show|release-holdback|delete``.

Added to :mod:`costprism.cli`'s app when that module imports this one (at its end), with its
conventions: heavy imports inside the commands, errors turned into exit codes by
:func:`costprism.cli.main` only. Budgets live in the metadata database (``--database-url``,
else ``COSTPRISM_DATABASE_URL``, else ``metadata.db`` in the data folder); every change is
audited with the actor ``cli:<OS user>``. The CLI is the operator's: it sees every budget.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Annotated

import typer

from costprism.cli import HomeOption, _format, _render, app, out
from costprism.cli_database import DatabaseOption, cli_actor
from costprism.cli_database import open_database as _database
from costprism.settings import resolve_home

budgets_app = typer.Typer(
    help="Budgets: budget vs actual vs forecast per period, thresholds, holdback.",
    no_args_is_help=True,
)
app.add_typer(budgets_app, name="budgets")

MonthOption = Annotated[
    str | None,
    typer.Option(
        "--month",
        help="A month (YYYY-MM) of the period to show; default: the period in progress "
        "(holding the day after the ledger's last complete day).",
        show_default=False,
    ),
]
OutputOption = Annotated[str, typer.Option("--format", help="table, csv or json.")]


@budgets_app.command("apply")
def apply_command(
    path: Annotated[Path, typer.Argument(help="The budgets YAML file.")],
    prune: Annotated[
        bool, typer.Option("--prune", help="Delete stored budgets the file does not name.")
    ] = False,
    database_url: DatabaseOption = None,
    home: HomeOption = None,
) -> None:
    """Check a budgets file and create or update its budgets (each change audited)."""
    from costprism.budgets.spec import check_dimensions, load_budgets
    from costprism.capabilities.budget_store import apply_budgets
    from costprism.engine.backends import open_ledger
    from costprism.ledger import Ledger

    budgets = load_budgets(path)
    ledger = Ledger.at_home(resolve_home(home))
    dimensions = open_ledger(ledger).dimensions if ledger.costs.exists() else ()
    check_dimensions(budgets, dimensions)
    result = apply_budgets(_database(database_url, home), budgets, actor=cli_actor(), prune=prune)
    out.print(
        f"budgets from {path}: {len(result.created)} created, {len(result.updated)} updated, "
        f"{len(result.unchanged)} unchanged, {len(result.deleted)} deleted",
        markup=False,
        highlight=False,
    )


@budgets_app.command("list")
def list_command(
    month: MonthOption = None,
    output: OutputOption = "table",
    database_url: DatabaseOption = None,
    home: HomeOption = None,
) -> None:
    """Every budget in its period: available, actual, forecast, variance, burn, status."""
    from costprism.budgets.periods import parse_month
    from costprism.capabilities.budget_store import list_budgets
    from costprism.capabilities.budgets import budget_statuses, status_row
    from costprism.engine.backends import open_ledger
    from costprism.ledger import Ledger

    chosen = _format(output)
    asked = parse_month(month, "--month") if month else None
    budgets = list_budgets(_database(database_url, home))
    view = open_ledger(Ledger.at_home(resolve_home(home)))
    statuses = budget_statuses(view, budgets, month=asked)
    if chosen == "json":
        _render([s.record() for s in statuses], "json", "budgets")
        return
    _render([status_row(s) for s in statuses], chosen, "budgets")


@budgets_app.command("show")
def show_command(
    name: Annotated[str, typer.Argument(help="The budget's name.")],
    month: MonthOption = None,
    output: OutputOption = "table",
    database_url: DatabaseOption = None,
    home: HomeOption = None,
) -> None:
    """One budget: its definition, its period's figures and the periods before."""
    from costprism.budgets.periods import parse_month
    from costprism.capabilities.budget_store import get_budget
    from costprism.capabilities.budgets import budget_detail, status_row
    from costprism.engine.backends import open_ledger
    from costprism.ledger import Ledger

    chosen = _format(output)
    asked = parse_month(month, "--month") if month else None
    budget = get_budget(_database(database_url, home), name)
    view = open_ledger(Ledger.at_home(resolve_home(home)))
    detail = budget_detail(view, budget, month=asked)
    if chosen == "json":
        out.print_json(json.dumps(detail.record()))
        return
    history = [p.record() for p in detail.history]
    if chosen == "csv":
        _render(history, "csv", "history")
        return
    spec = budget.spec
    out.print(
        f"Budget {spec.name}: {spec.period}, {spec.amount} {spec.currency} "
        f"({spec.basis}), scope {' and '.join(str(f) for f in spec.scope) or 'everything'}, "
        f"holdback {spec.holdback}, owners {', '.join(spec.owners) or '—'}",
        markup=False,
        highlight=False,
    )
    _render([status_row(detail.status)], "table", f"{detail.status.period.label}")
    _render(history, "table", "periods")


@budgets_app.command("release-holdback")
def release_command(
    name: Annotated[str, typer.Argument(help="The budget's name.")],
    month: MonthOption = None,
    amount: Annotated[
        str | None,
        typer.Option("--amount", help="How much to release (default: all still held back)."),
    ] = None,
    database_url: DatabaseOption = None,
    home: HomeOption = None,
) -> None:
    """Release a budget's holdback in a period (audited as budgets.release-holdback)."""
    from costprism.budgets.periods import fiscal_year_start, parse_month, period_containing
    from costprism.capabilities.budget_store import get_budget, release_amount, release_holdback

    db = _database(database_url, home)
    budget = get_budget(db, name)
    day = parse_month(month, "--month") if month else _current_month(home)
    period = period_containing(budget.spec.period, day, fiscal_year_start())
    found = release_holdback(db, name, period, actor=cli_actor(), amount=release_amount(amount))
    out.print(
        f"budget {name}, {period.label}: released {found.released_in(period)} of holdback "
        f"{found.spec.holdback}; available {found.available(period)} {found.spec.currency}",
        markup=False,
        highlight=False,
    )


@budgets_app.command("delete")
def delete_command(
    name: Annotated[str, typer.Argument(help="The budget's name.")],
    database_url: DatabaseOption = None,
    home: HomeOption = None,
) -> None:
    """Delete a budget (audited as budgets.delete)."""
    from costprism.capabilities.budget_store import delete_budget

    delete_budget(_database(database_url, home), name, actor=cli_actor())
    out.print(f"budget {name} deleted", markup=False, highlight=False)


def _current_month(home: Path | None) -> date:
    from datetime import UTC, datetime

    from costprism.capabilities.budgets import day_in_progress
    from costprism.engine.backends import open_ledger
    from costprism.ledger import Ledger

    ledger = Ledger.at_home(resolve_home(home))
    if not ledger.costs.exists():
        return datetime.now(UTC).date()
    return day_in_progress(open_ledger(ledger))
