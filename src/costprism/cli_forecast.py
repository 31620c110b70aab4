"""The forecast commands: ``forecast`` and ``forecast-versions list|accuracy|drift``.

``forecast`` stays one plain command (``costprism forecast --by team --horizon 90d``), as
issue 6 writes it, so the saved versions have their own group, ``forecast-versions``,
rather than subcommands of ``forecast`` (a typer group can't also run as a command with
options). ``forecast --save`` keeps the forecast it prints as the next version.

Added to :mod:`costprism.cli`'s app when that module imports this one (at its end), with its
conventions: heavy imports inside the commands, errors turned into exit codes by
:func:`costprism.cli.main` only.
"""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer

from costprism.cli import FormatOption, HomeOption, _format, _render, app, err, out
from costprism.settings import resolve_home

versions_app = typer.Typer(
    help="Saved forecast versions: list them, their accuracy, the drift between two.",
    no_args_is_help=True,
)
app.add_typer(versions_app, name="forecast-versions")

GranularityOption = Annotated[
    str, typer.Option("--granularity", help="day | month | quarter | year (calendar periods).")
]


@app.command("forecast")
def forecast_command(
    by: Annotated[
        list[str] | None,
        typer.Option("--by", help="Group by a column, tag:KEY or allocation dimension."),
    ] = None,
    horizon: Annotated[
        str, typer.Option("--horizon", help="Days ahead: 90d, 12w, 3m, 1y.")
    ] = "90d",
    granularity: GranularityOption = "day",
    where: Annotated[
        list[str] | None, typer.Option("--where", help="A filter (repeatable).")
    ] = None,
    basis: Annotated[str, typer.Option("--basis", help="effective or billed.")] = "effective",
    top: Annotated[
        int | None, typer.Option("--top", help="Forecast the N largest groups, the rest as one.")
    ] = None,
    save: Annotated[
        bool, typer.Option("--save", help="Keep this forecast as the next saved version.")
    ] = False,
    output: FormatOption = "table",
    home: HomeOption = None,
) -> None:
    """Forecast daily cost per group with 80% and 95% prediction intervals (MSTL, with a
    seasonal-naive baseline), from the day after the last complete day in the ledger; with
    --granularity month|quarter|year each period's total is its actual so far plus the
    forecast of its remaining days."""
    from costprism.capabilities.forecast import forecast
    from costprism.capabilities.forecast_versions import save_forecast
    from costprism.engine.backends import open_ledger
    from costprism.engine.filters import parse_filters
    from costprism.ledger import Ledger

    chosen = _format(output)
    ledger = Ledger.at_home(resolve_home(home))
    found = forecast(
        open_ledger(ledger), group_by=tuple(by or ()), horizon=horizon, granularity=granularity,
        filters=parse_filters(w for w in (where or ()) if w.strip()), basis=basis, top=top,
    )  # fmt: skip
    if save:
        saved = save_forecast(ledger, found)
        err.print(f"saved as forecast version {saved.version}", markup=False, highlight=False)
    records = found.records()
    if chosen == "json":
        out.print_json(json.dumps(records))
        return
    title = (
        f"forecast from {found.start} (last complete day {found.last_complete_day}) to "
        f"{found.end}, ledger version {found.version}; models {found.models}"
    )
    if chosen == "table" and found.granularity != "day":
        title += f"; {found.summary()['note']}"
    _render(records, chosen, title)


@versions_app.command("list")
def versions_list(output: FormatOption = "table", home: HomeOption = None) -> None:
    """The saved forecast versions, oldest first."""
    from costprism.capabilities.forecast_versions import forecast_versions
    from costprism.ledger import Ledger

    chosen = _format(output)
    versions = forecast_versions(Ledger.at_home(resolve_home(home)))
    records = [_listed(v.record()) for v in versions]
    if chosen == "json":
        out.print_json(json.dumps(records))
        return
    _render(records, chosen, "saved forecast versions")


@versions_app.command("accuracy")
def versions_accuracy(
    version: Annotated[int, typer.Argument(help="A saved version (see forecast-versions list).")],
    granularity: GranularityOption = "month",
    output: FormatOption = "table",
    home: HomeOption = None,
) -> None:
    """Forecast accuracy of a saved version: (forecast − actual) / forecast per group and
    period, over its days that are complete in the ledger now."""
    from costprism.capabilities.forecast_versions import forecast_accuracy
    from costprism.engine.backends import open_ledger
    from costprism.ledger import Ledger

    ledger = Ledger.at_home(resolve_home(home))
    found = forecast_accuracy(open_ledger(ledger), ledger, version, granularity=granularity)
    _comparison(found.record(), _format(output), f"accuracy of forecast version {version}")


@versions_app.command("drift")
def versions_drift(
    previous: Annotated[int, typer.Argument(help="The earlier version.")],
    new: Annotated[int, typer.Argument(help="The later version.")],
    granularity: GranularityOption = "month",
    output: FormatOption = "table",
    home: HomeOption = None,
) -> None:
    """Forecast drift between two saved versions: (new − previous) / previous per group and
    period, over the days both forecast."""
    from costprism.capabilities.forecast_versions import forecast_drift
    from costprism.ledger import Ledger

    ledger = Ledger.at_home(resolve_home(home))
    found = forecast_drift(ledger, previous, new, granularity=granularity)
    _comparison(found.record(), _format(output), f"drift from version {previous} to {new}")


def _comparison(record: dict[str, Any], chosen: str, title: str) -> None:
    if chosen == "json":
        out.print_json(json.dumps(record))
        return
    if record["first_day"] is None:
        out.print(f"{title}: no day to compare yet", markup=False, highlight=False)
        return
    span = f"{title}, days {record['first_day']} to {record['last_day']}"
    _render(record["rows"], chosen, span)  # type: ignore[arg-type]
    if chosen == "table":
        _render(record["totals"], "table", "totals per currency")


def _listed(meta: dict[str, Any]) -> dict[str, Any]:
    return {
        "version": meta["version"],
        "created_at": meta["created_at"],
        "ledger_version": meta["ledger_version"],
        "group_by": ", ".join(meta["group_by"]),
        "filters": "; ".join(meta["filters"]),
        "scope": "; ".join(meta["scope"]),
        "start": meta["start"],
        "end": meta["end"],
        "horizon_days": meta["horizon_days"],
        "models": ", ".join(f"{m} {n}" for m, n in meta["models"].items()),
    }
