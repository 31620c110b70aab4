"""The allocation commands: ``rules apply|versions|show`` and ``explain ROW-ID``.

Added to :mod:`costprism.cli`'s app when that module imports this one (at its end), with its
conventions: heavy imports inside the commands, errors turned into exit codes by
:func:`costprism.cli.main` only.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from costprism.cli import HomeOption, _format, _render, app, out
from costprism.errors import InputError
from costprism.settings import resolve_home

rules_app = typer.Typer(help="Allocation rules: apply a rules file, list versions.")
app.add_typer(rules_app, name="rules")

RulesVersionOption = Annotated[
    int | None,
    typer.Option("--rules-version", help="A rule-set version (default: the newest)."),
]
OutputOption = Annotated[str, typer.Option("--format", help="table, csv or json.")]


@rules_app.command("apply")
def rules_apply(
    path: Annotated[Path, typer.Argument(help="The rules YAML file.")],
    from_period: Annotated[
        str | None,
        typer.Option(
            "--from",
            help="Recompute billing periods from this month (YYYY-MM) on; earlier ones keep "
            "the previous version's results.",
        ),
    ] = None,
    output: OutputOption = "table",
    home: HomeOption = None,
) -> None:
    """Allocate the whole ledger under a rules file, as a new rule-set version."""
    from costprism.allocation.rules import load_rules
    from costprism.capabilities.allocation import apply_rules, parse_month
    from costprism.ledger import Ledger

    rules = load_rules(path)
    ledger = Ledger.at_home(resolve_home(home))
    result = apply_rules(ledger, rules, from_period=parse_month(from_period))
    if _format(output) == "json":
        out.print_json(json.dumps(result.record(), default=str))
        return
    version = result.version
    since = f" from {version.recomputed_from}" if version.recomputed_from else ""
    out.print(
        f"rules version {version.version} ({rules.digest}): {len(rules.rules)} rules, "
        f"{len(rules.shared)} shared steps, {version.rows:,} allocation rows{since}",
        markup=False,
    )
    _render(_percentages(result.totals), _format(output), "EffectiveCost allocated")


@rules_app.command("versions")
def rules_versions(output: OutputOption = "table", home: HomeOption = None) -> None:
    """The rule-set versions applied so far, oldest first."""
    from costprism.capabilities.allocation import rule_versions
    from costprism.ledger import Ledger

    versions = rule_versions(Ledger.at_home(resolve_home(home)))
    _render([v.record() for v in versions], _format(output), "rules versions")


@rules_app.command("show")
def rules_show(rules_version: RulesVersionOption = None, home: HomeOption = None) -> None:
    """Print the rules text a version was computed from."""
    from costprism.capabilities.allocation import rule_versions
    from costprism.ledger import Ledger

    versions = rule_versions(Ledger.at_home(resolve_home(home)))
    chosen = [v for v in versions if rules_version in (None, v.version)]
    if not chosen:
        raise InputError(
            "no such rules version; see costprism rules versions", code="rules.unknown_version"
        )
    typer.echo(chosen[-1].rules_text, nl=False)


@app.command("explain")
def explain_command(
    row_id: Annotated[int, typer.Argument(help="A ledger row's x_RowId.")],
    rules_version: RulesVersionOption = None,
    output: OutputOption = "table",
    home: HomeOption = None,
) -> None:
    """Which allocation rule placed a ledger row, why the earlier ones did not match, and
    the row's allocated parts."""
    from costprism.capabilities.allocation import explain_row
    from costprism.ledger import Ledger

    found = explain_row(Ledger.at_home(resolve_home(home)), row_id, rules_version=rules_version)
    if _format(output) == "json":
        out.print_json(json.dumps(found.record(), default=str))
        return
    out.print(f"row {row_id}, rules version {found.rules_version}", markup=False)
    for verdict in found.verdicts:
        outcome = "matched" if verdict.matched else "did not match"
        out.print(f"  rule {verdict.name!r} (line {verdict.line}): {outcome}", markup=False)
        for condition in verdict.conditions:
            mark = "✓" if condition["holds"] else "✗"
            out.print(
                f"    {mark} {condition['condition']}  (row: {condition['value']!r})",
                markup=False,
            )
    if not any(v.matched for v in found.verdicts):
        out.print("  no rule matched: (unallocated) before shared steps", markup=False)
    _render(found.parts, _format(output), "allocated parts")


def _percentages(totals: list[dict[str, Any]]) -> list[dict[str, Any]]:
    rows = []
    for row in totals:
        total = row["total"] or 0
        share = (row["allocated"] or 0) / total * 100 if total else None
        rows.append({**row, "allocated_percent": None if share is None else round(share, 2)})
    return rows
