"""The tag governance commands: ``tags policy apply|show``, ``tags report`` and ``tags resources``.

Added to :mod:`costprism.cli`'s app when that module imports this one (at its end), with its
conventions: heavy imports inside the commands, errors turned into exit codes by
:func:`costprism.cli.main` only.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from costprism.cli import AsOfOption, FormatOption, HomeOption, _as_of, _format, _render, app, out
from costprism.settings import resolve_home

if TYPE_CHECKING:
    from costprism.capabilities.tag_governance import TagReport

tags_app = typer.Typer(help="Tag governance: the tag policy and compliance with it.")
app.add_typer(tags_app, name="tags")
policy_app = typer.Typer(help="The ledger's tag policy.")
tags_app.add_typer(policy_app, name="policy")

MonthOption = Annotated[
    str | None,
    typer.Option(
        "--month", help="The month (YYYY-MM) of the KPIs and resources (default: the newest)."
    ),
]
MonthsOption = Annotated[int, typer.Option("--months", help="Months in the trend, up to --month.")]
TopOption = Annotated[
    int, typer.Option("--top", help="Non-compliant resources per currency (0: none).")
]
WhereOption = Annotated[
    list[str] | None,
    typer.Option("--where", help="Only rows matching this filter, as a scope (repeatable)."),
]


@policy_app.command("apply")
def policy_apply(
    path: Annotated[Path, typer.Argument(help="The tag policy YAML file.")],
    home: HomeOption = None,
) -> None:
    """Check a tag policy file and make it the ledger's active policy."""
    from costprism.allocation.tag_policy import load_policy
    from costprism.capabilities.tag_governance import apply_policy
    from costprism.ledger import Ledger

    policy = load_policy(path)
    stored = apply_policy(Ledger.at_home(resolve_home(home)), policy)
    keys = ", ".join(policy.keys)
    out.print(
        f"tag policy {policy.digest} in force ({len(policy.required)} required entries; "
        f"keys {keys}; owner tag {policy.owner}), kept at {stored}",
        markup=False,
        highlight=False,
    )


@policy_app.command("show")
def policy_show(home: HomeOption = None) -> None:
    """Print the active tag policy's text."""
    from costprism.capabilities.tag_governance import require_policy
    from costprism.ledger import Ledger

    typer.echo(require_policy(Ledger.at_home(resolve_home(home))).text, nl=False)


@tags_app.command("report")
def tags_report(
    month: MonthOption = None,
    months: MonthsOption = 13,
    top: TopOption = 20,
    where: WhereOption = None,
    as_of: AsOfOption = None,
    output: FormatOption = "table",
    home: HomeOption = None,
) -> None:
    """% untagged and % tag-policy compliant of taggable cost per month and currency, and
    the non-compliant resources with the most cost (json: the whole report; csv: the months)."""
    report = _report(month, months, top, where, as_of, home)
    chosen = _format(output)
    if chosen == "json":
        out.print_json(json.dumps(report.record(), default=str))
        return
    _render([m.record() for m in report.trend], chosen, _title(report))
    if chosen == "table":
        _render(_resource_rows(report), chosen, f"non-compliant resources, {_month(report)}")


@tags_app.command("resources")
def tags_resources(
    month: MonthOption = None,
    top: TopOption = 20,
    where: WhereOption = None,
    as_of: AsOfOption = None,
    output: FormatOption = "table",
    home: HomeOption = None,
) -> None:
    """The non-compliant resources with the most taggable cost in a month, per currency,
    with their owner and the keys they miss or hold invalid values of."""
    report = _report(month, 1, top, where, as_of, home)
    chosen = _format(output)
    if chosen == "json":
        out.print_json(json.dumps([r.record() for r in report.resources], default=str))
        return
    _render(_resource_rows(report), chosen, f"non-compliant resources, {_month(report)}")


def _report(
    month: str | None,
    months: int,
    top: int,
    where: list[str] | None,
    as_of: str | None,
    home: Path | None,
) -> TagReport:
    from costprism.capabilities.allocation import parse_month
    from costprism.capabilities.tag_governance import require_policy, tag_report
    from costprism.engine.backends import open_ledger
    from costprism.engine.filters import parse_filters
    from costprism.ledger import Ledger

    chosen = parse_month(month, "--month")
    scope = parse_filters(where or ())
    ledger = Ledger.at_home(resolve_home(home))
    policy = require_policy(ledger)
    view = open_ledger(ledger, as_of=_as_of(as_of))
    return tag_report(view, policy, scope, month=chosen, months=months, top=top)


def _title(report: TagReport) -> str:
    return (
        f"tag policy {report.policy.digest}: % of taggable EffectiveCost untagged and "
        f"compliant, ledger version {report.version}"
    )


def _month(report: TagReport) -> str:
    return report.month.strftime("%Y-%m") if report.month else "no charges"


def _resource_rows(report: TagReport) -> list[dict[str, Any]]:
    return [
        {**r.record(), "missing": ", ".join(r.missing), "invalid": ", ".join(r.invalid)}
        for r in report.resources
    ]
