"""The chargeback commands: ``chargeback statement``, ``chargeback gl-export`` and
``chargeback gl-mapping apply|show``.

Added to :mod:`costprism.cli`'s app when that module imports this one (at its end), with its
conventions: heavy imports inside the commands, errors turned into exit codes by
:func:`costprism.cli.main` only. Showback needs no command of its own: ``costprism cost
--by team`` (any dimension, any period) is showback.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from costprism.cli import HomeOption, _format, _render, app, out
from costprism.errors import InputError
from costprism.settings import resolve_home

chargeback_app = typer.Typer(
    help="Chargeback: statements per cost center and month, the GL export.",
    no_args_is_help=True,
)
app.add_typer(chargeback_app, name="chargeback")
mapping_app = typer.Typer(
    help="The GL mapping the server and later commands use.", no_args_is_help=True
)
chargeback_app.add_typer(mapping_app, name="gl-mapping")

MonthOption = Annotated[
    str, typer.Option("--month", help="The billing period, YYYY-MM.", show_default=False)
]
DimensionOption = Annotated[
    str, typer.Option("--dimension", help="The allocation dimension holding cost centers.")
]
BasisOption = Annotated[
    str, typer.Option("--basis", help="effective (amortized) or billed.", show_default=True)
]
MappingOption = Annotated[
    Path | None,
    typer.Option(
        "--gl-mapping",
        help="A GL mapping CSV (filter,gl_account,description); default: the one stored "
        "with 'chargeback gl-mapping apply'.",
    ),
]
OutputOption = Annotated[str, typer.Option("--format", help="table, csv or json.")]


@chargeback_app.command("statement")
def statement_command(
    cost_center: Annotated[
        str, typer.Option("--cost-center", help="A value of the dimension, e.g. CC-100.")
    ],
    month: MonthOption,
    basis: BasisOption = "effective",
    gl_mapping: MappingOption = None,
    dimension: DimensionOption = "cost_center",
    product: Annotated[
        str | None,
        typer.Option(
            "--product", help="The column naming products (default: product, else tag:product)."
        ),
    ] = None,
    output: OutputOption = "table",
    home: HomeOption = None,
) -> None:
    """One cost center's chargeback statement for a month: direct lines by service and
    product, shared-cost lines by the step that split them, GL accounts, totals."""
    from costprism.capabilities.chargeback import gl_mapping_for, statement, statement_csv
    from costprism.engine.backends import open_ledger
    from costprism.ledger import Ledger

    chosen = _format(output)
    ledger = Ledger.at_home(resolve_home(home))
    mapping = gl_mapping_for(ledger, gl_mapping)
    found = statement(
        open_ledger(ledger), cost_center, month, dimension_name=dimension, basis=basis,
        gl_mapping=mapping, product=product,
    )  # fmt: skip
    if chosen == "json":
        out.print_json(json.dumps(found.record()))
        return
    if chosen == "csv":
        sys.stdout.write(statement_csv(found))
        return
    out.print(
        f"Chargeback statement: {found.dimension} {found.cost_center}, {found.month}, "
        f"{found.measure} ({found.basis}); rules version {found.rules_version}, ledger "
        f"version {found.ledger_version}, GL mapping {found.gl_mapping}",
        markup=False,
        highlight=False,
    )
    direct = [
        {"service": line.service, "product": line.product, "gl_account": line.gl_account,
         "currency": line.currency, "amount": float(line.amount)}
        for line in found.direct
    ]  # fmt: skip
    _render(direct, "table", f"direct charges (product = {found.product_column})")
    shared = [
        {"shared_step": line.shared_step, "rule": line.rule, "gl_account": line.gl_account,
         "currency": line.currency, "amount": float(line.amount)}
        for line in found.shared
    ]  # fmt: skip
    _render(shared, "table", "shared costs")
    _render([t.record() for t in found.totals], "table", "totals")


@chargeback_app.command("gl-export")
def gl_export_command(
    month: MonthOption,
    gl_mapping: MappingOption = None,
    out_file: Annotated[
        Path | None, typer.Option("--out", help="Write the CSV here (default: standard output).")
    ] = None,
    basis: BasisOption = "effective",
    dimension: DimensionOption = "cost_center",
    force: Annotated[bool, typer.Option("--force", help="Replace --out if it exists.")] = False,
    home: HomeOption = None,
) -> None:
    """The month's charges for the general ledger, one CSV row per (cost center, GL
    account, currency): period, cost_center, gl_account, amount, currency, description."""
    from costprism.capabilities.chargeback import gl_export, gl_mapping_for, write_gl_csv
    from costprism.engine.backends import open_ledger
    from costprism.ledger import Ledger

    ledger = Ledger.at_home(resolve_home(home))
    mapping = gl_mapping_for(ledger, gl_mapping)
    if mapping is None:
        raise InputError(
            "no GL mapping: give --gl-mapping FILE, or store one with "
            "costprism chargeback gl-mapping apply FILE",
            code="chargeback.no_mapping",
        )
    if out_file is not None and out_file.exists() and not force:
        raise InputError(
            f"{out_file} exists; give another --out or add --force to replace it",
            code="export.exists",
        )
    rows = gl_export(
        open_ledger(ledger), month, gl_mapping=mapping, dimension_name=dimension, basis=basis
    )
    if out_file is None:
        write_gl_csv(rows, sys.stdout)
        return
    try:
        with out_file.open("w", encoding="utf-8", newline="") as target:
            write_gl_csv(rows, target)
    except OSError as error:
        raise InputError(
            f"{out_file}: can't write the GL export ({error}); check the folder exists",
            code="export.bad_path",
        ) from error
    out.print(f"wrote {len(rows):,} GL rows for {month} to {out_file}", markup=False)


@mapping_app.command("apply")
def mapping_apply(
    path: Annotated[Path, typer.Argument(help="The GL mapping CSV file.")],
    home: HomeOption = None,
) -> None:
    """Check a GL mapping file and store it in the ledger, replacing the one before (the
    server's statements and GL exports use it)."""
    from costprism.capabilities.chargeback import store_gl_mapping, stored_mapping_path
    from costprism.engine.backends import open_ledger
    from costprism.ledger import Ledger

    ledger = Ledger.at_home(resolve_home(home))
    view = open_ledger(ledger) if ledger.costs.exists() else None
    mapping = store_gl_mapping(ledger, path, view)
    out.print(
        f"GL mapping stored at {stored_mapping_path(ledger)}: {len(mapping.entries)} rows, "
        f"default account {mapping.default_account}",
        markup=False,
        highlight=False,
    )


@mapping_app.command("show")
def mapping_show(home: HomeOption = None) -> None:
    """Print the stored GL mapping."""
    from costprism.capabilities.chargeback import stored_gl_mapping
    from costprism.ledger import Ledger

    mapping = stored_gl_mapping(Ledger.at_home(resolve_home(home)))
    if mapping is None:
        raise InputError(
            "no GL mapping is stored; run costprism chargeback gl-mapping apply FILE",
            code="chargeback.no_mapping",
        )
    typer.echo(mapping.text, nl=False)
