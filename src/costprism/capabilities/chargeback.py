"""Chargeback: a statement per cost center and month, and the general-ledger export.

A **statement** lists what one value of the cost-center dimension (``cost_center`` by
default, any allocation dimension will do) was charged in one billing period, from the
allocated ledger (:func:`~costprism.engine.allocation.allocated_costs`) within the caller's
scope (:func:`~costprism.engine.query.restrict`):

* **direct lines**, the parts that rules placed on the cost center, one per
  (``ServiceName``, product, GL account, currency); the product is the ``product``
  dimension when the rule set has one, else the tag ``tag:product``;
* **shared lines**, the parts a shared step moved there (``x_Shared``), one per (step,
  GL account, currency), each naming the step and how it split the pool.

Amounts are ``EffectiveCost`` (amortized, the default) or ``BilledCost``, never summed
across currencies. Each line carries the GL account of the first row of the **GL mapping**
whose filter its rows match (a CSV file ``filter,gl_account,description``); rows no filter
matches get the mapping's ``*`` row, else the default account
(``COSTPRISM_GL_DEFAULT_ACCOUNT``, else ``(unmapped)``).

The **GL export** sums every cost center's rows in a month per (cost center, GL account,
currency): ``period, cost_center, gl_account, amount, currency, description``, amounts
rounded to cents in the CSV (exact in the rows).

The CLI, the API and the ``/chargeback`` page call these functions.
"""

from __future__ import annotations

import csv
import io
import os
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import ROUND_HALF_EVEN, Decimal
from pathlib import Path
from typing import Any, TextIO

import ibis
import ibis.expr.types as ir

from costprism.allocation.rules import UNALLOCATED, SharedStep, parse_rules
from costprism.engine.allocation import SHARED, allocated_costs
from costprism.engine.backends import LedgerView
from costprism.engine.filters import Filter, parse_filters
from costprism.engine.query import dimension, filter_expression, restrict
from costprism.engine.rollups import scoped_rows
from costprism.errors import InputError, QueryError
from costprism.ledger import Ledger

DEFAULT_DIMENSION = "cost_center"
BASES = {"effective": "EffectiveCost", "billed": "BilledCost"}
DEFAULT_ACCOUNT_ENV = "COSTPRISM_GL_DEFAULT_ACCOUNT"
UNMAPPED = "(unmapped)"
CATCH_ALL = "*"
MAPPING_COLUMNS = ("filter", "gl_account", "description")
GL_EXPORT_COLUMNS = ("period", "cost_center", "gl_account", "amount", "currency", "description")
STORED_MAPPING = Path("chargeback") / "gl-mapping.csv"
CENT = Decimal("0.01")
_MONTH = re.compile(r"^(\d{4})-(\d{2})$")
_PERIOD = "BillingPeriodStart"
_CURRENCY = "BillingCurrency"
_GL = "cb_gl_entry"


# --- the GL mapping ------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class GlEntry:
    """One row of a GL mapping: where ``filters`` all hold, book to ``account``."""

    filters: tuple[Filter, ...]  # empty for the catch-all ``*``
    text: str
    account: str
    description: str
    line: int
    column: int = 1  # the filter's column in the file


@dataclass(frozen=True, kw_only=True)
class GlMapping:
    """A parsed GL mapping: entries in file order (first match wins), then the default."""

    name: str
    entries: tuple[GlEntry, ...]
    default_account: str
    default_description: str
    text: str = ""

    def account(self, index: int) -> tuple[str, str]:
        """``(account, description)`` of entry ``index``; -1 is the default."""
        if 0 <= index < len(self.entries):
            entry = self.entries[index]
            return entry.account, entry.description
        return self.default_account, self.default_description

    def entry_index(self, rows: ir.Table) -> ir.IntegerValue:
        """The index of the first entry whose filter each row matches, else -1."""
        branches = []
        for i, entry in enumerate(self.entries):
            if not entry.filters:
                continue
            try:
                holds = ibis.and_(*(filter_expression(rows, f) for f in entry.filters))
            except QueryError as error:
                where = f"{self.name}:{entry.line}:{entry.column}"
                raise InputError(
                    f"{where}: filter {entry.text!r}: {error.message}",
                    code="chargeback.bad_mapping",
                ) from error
            branches.append((holds.fill_null(False), i))
        return ibis.cases(*branches, else_=-1) if branches else ibis.literal(-1)

    def record(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "entries": [
                {"line": e.line, "filter": e.text, "gl_account": e.account,
                 "description": e.description}
                for e in self.entries
            ],
            "default_account": self.default_account,
        }  # fmt: skip


def default_account() -> str:
    """The account for rows no mapping row matches: ``COSTPRISM_GL_DEFAULT_ACCOUNT``, else
    ``(unmapped)`` (read when asked, never at import time)."""
    return os.environ.get(DEFAULT_ACCOUNT_ENV, "").strip() or UNMAPPED


def empty_mapping() -> GlMapping:
    """No mapping: every line books to the default account."""
    return GlMapping(
        name="(no GL mapping)",
        entries=(),
        default_account=default_account(),
        default_description="",
    )


def parse_gl_mapping(text: str, name: str = "<gl mapping>") -> GlMapping:
    """Parse a GL mapping CSV (``name`` is used in messages, as ``name:line:column``)."""
    reader = csv.reader(io.StringIO(text.removeprefix("\ufeff"), newline=""))
    header = next(reader, None)
    if header is None or not any(cell.strip() for cell in header):
        raise _bad(
            name, 1, 1, "the file is empty; its first line is 'filter,gl_account,description'"
        )
    columns = [cell.strip().lower() for cell in header]
    for position, column in enumerate(columns, start=1):
        if column not in MAPPING_COLUMNS:
            raise _bad(
                name, 1, position,
                f"unknown column {header[position - 1]!r}; the columns are filter, "
                "gl_account and description (description may be left out)",
            )  # fmt: skip
        if column in columns[: position - 1]:
            raise _bad(name, 1, position, f"column {column!r} appears twice; keep one")
    for required in ("filter", "gl_account"):
        if required not in columns:
            raise _bad(
                name, 1, 1, f"the header lacks {required!r}; write 'filter,gl_account,description'"
            )
    entries: list[GlEntry] = []
    catch_all: GlEntry | None = None
    for cells in reader:
        line = reader.line_num
        if not any(cell.strip() for cell in cells):
            continue
        if len(cells) > len(columns):
            raise _bad(
                name, line, len(columns) + 1,
                f"{len(cells)} values for {len(columns)} columns; quote a value holding a comma "
                'with "…"',
            )  # fmt: skip
        row = dict(zip(columns, (c.strip() for c in cells), strict=False))
        filter_text, account = row.get("filter", ""), row.get("gl_account", "")
        if catch_all is not None:
            raise _bad(
                name, line, 1,
                f"this row comes after the catch-all '*' row (line {catch_all.line}) and can "
                "never match; move '*' to the end",
            )  # fmt: skip
        if not filter_text:
            raise _bad(
                name, line, columns.index("filter") + 1,
                "the filter is empty; write a condition like ServiceCategory=Compute, or * for "
                "every row no earlier line matches",
            )  # fmt: skip
        if not account:
            raise _bad(
                name, line, columns.index("gl_account") + 1,
                "gl_account is empty; give the general-ledger account code",
            )  # fmt: skip
        filters: tuple[Filter, ...] = ()
        if filter_text != CATCH_ALL:
            try:
                filters = parse_filters([filter_text])
            except QueryError as error:
                raise _bad(name, line, columns.index("filter") + 1, error.message) from error
        entry = GlEntry(
            filters=filters,
            text=filter_text,
            account=account,
            description=row.get("description", ""),
            line=line,
            column=columns.index("filter") + 1,
        )
        if filters:
            entries.append(entry)
        else:
            catch_all = entry
    return GlMapping(
        name=name,
        entries=tuple(entries),
        default_account=catch_all.account if catch_all else default_account(),
        default_description=catch_all.description if catch_all else "",
        text=text,
    )


def load_gl_mapping(path: Path) -> GlMapping:
    """Read and parse a GL mapping file; an :class:`InputError` names file, line and fix."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise InputError(
            f"{path}: can't read the GL mapping ({error}); give a UTF-8 CSV file",
            code="chargeback.bad_mapping",
        ) from error
    return parse_gl_mapping(text, str(path))


def stored_mapping_path(ledger: Ledger) -> Path:
    """Where the server's GL mapping lives: ``<ledger>/chargeback/gl-mapping.csv``."""
    return ledger.root / STORED_MAPPING


def stored_gl_mapping(ledger: Ledger) -> GlMapping | None:
    """The GL mapping stored with :func:`store_gl_mapping`, or None (named in messages and
    statements by its place in the ledger, not by the server's path)."""
    path = stored_mapping_path(ledger)
    if not path.exists():
        return None
    return parse_gl_mapping(path.read_text(encoding="utf-8"), f"<ledger>/{STORED_MAPPING}")


def store_gl_mapping(ledger: Ledger, path: Path, view: LedgerView | None = None) -> GlMapping:
    """Check a GL mapping file (its filters against ``view``'s columns when given) and keep
    a copy in the ledger, replacing the one before, for the server and later commands."""
    mapping = load_gl_mapping(path)
    if view is not None:
        _check_columns(mapping, view)
    target = stored_mapping_path(ledger)
    target.parent.mkdir(parents=True, exist_ok=True)
    scratch = target.with_suffix(".csv.tmp")
    scratch.write_text(mapping.text, encoding="utf-8")
    os.replace(scratch, target)
    return mapping


def gl_mapping_for(ledger: Ledger, path: Path | None = None) -> GlMapping | None:
    """The mapping a command uses: ``path`` if given, else the stored one, else None."""
    return load_gl_mapping(path) if path is not None else stored_gl_mapping(ledger)


def _check_columns(mapping: GlMapping, view: LedgerView) -> None:
    mapping.entry_index(allocated_costs(view))  # names the first unknown column


def _bad(name: str, line: int, column: int, message: str) -> InputError:
    return InputError(f"{name}:{line}:{column}: {message}", code="chargeback.bad_mapping")


# --- statements ----------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class StatementLine:
    kind: str  # "direct" or "shared"
    service: str | None
    product: str | None
    shared_step: str | None
    rule: str | None  # how the shared step split its pool
    gl_account: str
    gl_description: str
    currency: str
    amount: Decimal
    rows: int

    def record(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "service": self.service,
            "product": self.product,
            "shared_step": self.shared_step,
            "rule": self.rule,
            "gl_account": self.gl_account,
            "gl_description": self.gl_description,
            "currency": self.currency,
            "amount": float(self.amount),
            "rows": self.rows,
        }


@dataclass(frozen=True, kw_only=True)
class StatementTotal:
    currency: str
    direct: Decimal
    shared: Decimal

    @property
    def total(self) -> Decimal:
        return self.direct + self.shared

    def record(self) -> dict[str, Any]:
        return {
            "currency": self.currency,
            "direct": float(self.direct),
            "shared": float(self.shared),
            "total": float(self.total),
        }


@dataclass(frozen=True, kw_only=True)
class Statement:
    dimension: str
    cost_center: str
    month: str
    basis: str
    measure: str
    product_column: str
    lines: tuple[StatementLine, ...]
    totals: tuple[StatementTotal, ...]
    rules_version: int
    ledger_version: int | None
    gl_mapping: str
    shared_steps: tuple[dict[str, Any], ...] = field(default=())

    @property
    def direct(self) -> tuple[StatementLine, ...]:
        return tuple(line for line in self.lines if line.kind == "direct")

    @property
    def shared(self) -> tuple[StatementLine, ...]:
        return tuple(line for line in self.lines if line.kind == "shared")

    def record(self) -> dict[str, Any]:
        return {
            "dimension": self.dimension,
            "cost_center": self.cost_center,
            "month": self.month,
            "basis": self.basis,
            "measure": self.measure,
            "product_column": self.product_column,
            "rules_version": self.rules_version,
            "ledger_version": self.ledger_version,
            "gl_mapping": self.gl_mapping,
            "lines": [line.record() for line in self.lines],
            "totals": [total.record() for total in self.totals],
            "shared_steps": list(self.shared_steps),
        }


def statement(
    view: LedgerView,
    cost_center: str,
    month: str,
    *,
    dimension_name: str = DEFAULT_DIMENSION,
    basis: str = "effective",
    gl_mapping: GlMapping | None = None,
    product: str | None = None,
    scope: Sequence[Filter] = (),
) -> Statement:
    """The chargeback statement of ``cost_center`` (a value of ``dimension_name``) for the
    billing period ``month`` (``YYYY-MM``), within ``scope``."""
    measure = _measure(basis)
    rules_version = _applied(view, dimension_name)
    mapping = gl_mapping or empty_mapping()
    product_column = product or ("product" if "product" in view.dimensions else "tag:product")
    rows = _month_rows(view, month, scope)
    rows = rows.filter(dimension(rows, dimension_name) == cost_center)
    shared = rows[SHARED].notnull()
    keyed = rows.mutate(
        cb_kind=ibis.ifelse(shared, "shared", "direct"),
        cb_service=ibis.ifelse(shared, ibis.null("string"), rows["ServiceName"]),
        cb_product=ibis.ifelse(shared, ibis.null("string"), _text(rows, product_column)),
        cb_step=rows[SHARED],
        **{_GL: mapping.entry_index(rows)},
    )
    keys = ["cb_kind", "cb_service", "cb_product", "cb_step", _GL, _CURRENCY]
    sums = keyed.group_by(keys).aggregate(amount=keyed[measure].sum(), rows=keyed.count())
    found = sums.to_pyarrow().to_pylist()
    steps = _shared_steps(view)
    merged: dict[tuple[Any, ...], tuple[Decimal, int]] = {}
    for item in found:
        account, description = mapping.account(int(item[_GL]))
        grouped = (item["cb_kind"], item["cb_service"], item["cb_product"], item["cb_step"])
        key: tuple[Any, ...] = (*grouped, account, description, item[_CURRENCY])
        amount, count = merged.get(key, (Decimal(0), 0))
        merged[key] = (amount + (item["amount"] or Decimal(0)), count + int(item["rows"]))
    lines = [_line(key, amount, count, steps) for key, (amount, count) in merged.items()]
    order = {name: position for position, name in enumerate(steps)}
    lines.sort(key=lambda line: _line_order(line, order))
    used = {line.shared_step for line in lines if line.shared_step}
    return Statement(
        dimension=dimension_name,
        cost_center=cost_center,
        month=_month_text(month),
        basis=basis,
        measure=measure,
        product_column=product_column,
        lines=tuple(lines),
        totals=_totals(lines),
        rules_version=rules_version,
        ledger_version=view.version,
        gl_mapping=mapping.name,
        shared_steps=tuple(_step_record(step) for name, step in steps.items() if name in used),
    )


def cost_centers(
    view: LedgerView,
    month: str | None = None,
    *,
    dimension_name: str = DEFAULT_DIMENSION,
    scope: Sequence[Filter] = (),
) -> list[str]:
    """The values of ``dimension_name`` with rows in ``month`` (all months if None) within
    ``scope``, ``(unallocated)`` last."""
    _applied(view, dimension_name)
    rows = _month_rows(view, month, scope) if month else restrict(allocated_costs(view), scope)
    values = rows.select(value=dimension(rows, dimension_name)).distinct()
    found = [v for v in values.to_pyarrow().column("value").to_pylist() if v is not None]
    return sorted(found, key=lambda v: (v == UNALLOCATED, v))


def statement_months(view: LedgerView, scope: Sequence[Filter] = ()) -> list[str]:
    """The billing periods (``YYYY-MM``) with rows within ``scope``, newest first."""
    rows = scoped_rows(view, scope)
    periods = rows.select(period=rows[_PERIOD]).distinct().order_by(ibis.desc("period"))
    return [p.strftime("%Y-%m") for p in periods.to_pyarrow().column("period").to_pylist() if p]


# --- the GL export -------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class GlRow:
    period: str
    cost_center: str
    gl_account: str
    amount: Decimal  # exact; the CSV rounds to cents
    currency: str
    description: str

    def record(self) -> dict[str, Any]:
        return {
            "period": self.period,
            "cost_center": self.cost_center,
            "gl_account": self.gl_account,
            "amount": _cents(self.amount),
            "currency": self.currency,
            "description": self.description,
        }


def gl_export(
    view: LedgerView,
    month: str,
    *,
    gl_mapping: GlMapping | None = None,
    dimension_name: str = DEFAULT_DIMENSION,
    basis: str = "effective",
    scope: Sequence[Filter] = (),
) -> list[GlRow]:
    """Every cost center's charges in ``month`` within ``scope``, summed per (cost center,
    GL account, currency), ``(unallocated)`` included so that the export adds up to the
    bill; ordered by cost center, account and currency."""
    measure = _measure(basis)
    _applied(view, dimension_name)
    mapping = gl_mapping or empty_mapping()
    rows = _month_rows(view, month, scope)
    keyed = rows.mutate(
        cb_center=dimension(rows, dimension_name), **{_GL: mapping.entry_index(rows)}
    )
    sums = keyed.group_by(["cb_center", _GL, _CURRENCY]).aggregate(amount=keyed[measure].sum())
    merged: dict[tuple[str, str, str], tuple[Decimal, str]] = {}
    for item in sums.to_pyarrow().to_pylist():
        account, description = mapping.account(int(item[_GL]))
        key = (item["cb_center"], account, item[_CURRENCY])
        amount, first = merged.get(key, (Decimal(0), ""))
        merged[key] = (amount + (item["amount"] or Decimal(0)), first or description)
    period = _month_text(month)
    ordered = sorted(merged.items(), key=lambda item: (item[0][0] == UNALLOCATED, *item[0]))
    return [
        GlRow(
            period=period,
            cost_center=center,
            gl_account=account,
            amount=amount,
            currency=currency,
            description=description,
        )
        for (center, account, currency), (amount, description) in ordered
    ]


def write_gl_csv(rows: Iterable[GlRow], out: TextIO) -> None:
    """The GL export as CSV; text a spreadsheet would run as a formula gets a leading '."""
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(GL_EXPORT_COLUMNS)
    for row in rows:
        record = row.record()
        writer.writerow([_cell(record[c], c == "amount") for c in GL_EXPORT_COLUMNS])


def gl_csv(rows: Iterable[GlRow]) -> str:
    buffer = io.StringIO()
    write_gl_csv(rows, buffer)
    return buffer.getvalue()


def statement_csv(found: Statement) -> str:
    """The statement's lines as CSV (amounts exact), for ``--format csv``."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    columns = ("kind", "service", "product", "shared_step", "rule", "gl_account",
               "gl_description", "currency", "amount", "rows")  # fmt: skip
    writer.writerow(columns)
    for line in found.lines:
        values = {**line.record(), "amount": format(line.amount, "f")}
        writer.writerow([_cell(values[c], c in ("amount", "rows")) for c in columns])
    return buffer.getvalue()


# --- helpers -------------------------------------------------------------------------------


def parse_month(month: str) -> datetime:
    """``YYYY-MM`` as the first instant of that billing period (UTC)."""
    match = _MONTH.match(month.strip())
    if match is None or not 1 <= int(match[2]) <= 12:
        raise InputError(
            f"month {month!r} is not a billing period; write YYYY-MM, e.g. 2026-05",
            code="chargeback.bad_month",
        )
    return datetime(int(match[1]), int(match[2]), 1, tzinfo=UTC)


def _month_text(month: str) -> str:
    return parse_month(month).strftime("%Y-%m")


def _month_rows(view: LedgerView, month: str, scope: Sequence[Filter]) -> ir.Table:
    start = parse_month(month)
    rows = restrict(allocated_costs(view), scope)
    return rows.filter(rows[_PERIOD] == start)


def _measure(basis: str) -> str:
    if basis not in BASES:
        raise InputError(
            f"basis {basis!r} is not one of: {', '.join(BASES)} (effective is amortized cost)",
            code="chargeback.bad_basis",
        )
    return BASES[basis]


def _applied(view: LedgerView, dimension_name: str) -> int:
    """The rule-set version in force; refuse a view without one or without the dimension."""
    if view.allocation is None:
        raise InputError(
            "no allocation rules have been applied; run costprism rules apply FILE",
            code="rules.none",
        )
    if dimension_name not in view.dimensions:
        raise QueryError(
            f"{dimension_name!r} is not a dimension of rules version {view.allocation.version}; "
            f"the dimensions are {', '.join(view.dimensions)} (pass one with --dimension)",
            code="chargeback.unknown_dimension",
        )
    return view.allocation.version


def _text(rows: ir.Table, name: str) -> ir.StringValue:
    value: ir.StringValue = dimension(rows, name).cast("string")
    return value


def _shared_steps(view: LedgerView) -> dict[str, SharedStep]:
    if view.allocation is None:
        return {}
    rules = parse_rules(
        view.allocation.rules_text,
        f"rules version {view.allocation.version}",
        folder=view.allocation.path,
    )
    return {step.name: step for step in rules.shared}


def _rule_text(step: SharedStep | None) -> str | None:
    """How a shared step split its pool, in words."""
    if step is None:
        return None
    targets = ", ".join(step.targets)
    if step.split == "even":
        how = f"split evenly over {step.to} {targets}"
    elif step.split == "fixed":
        weights = ", ".join(f"{t} {_percent(w)}%" for t, w in step.weights.items())
        how = f"split over {step.to} by fixed weights {weights}"
    else:
        how = f"split over {step.to} {targets} in proportion to their EffectiveCost"
        if step.within:
            how += f" within each {step.within}"
    return f"{how} (rules line {step.line})"


def _step_record(step: SharedStep) -> dict[str, Any]:
    return {
        "name": step.name,
        "split": step.split,
        "to": step.to,
        "targets": list(step.targets),
        "weights": {t: float(w) for t, w in step.weights.items()},
        "within": step.within,
        "match": [str(f) for f in step.match],
        "line": step.line,
        "rule": _rule_text(step),
    }


def _percent(weight: Decimal) -> str:
    text = format((weight * 100).quantize(CENT), "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def _line_order(line: StatementLine, steps: dict[str, int]) -> tuple[Any, ...]:
    """Direct lines first, then shared ones in the waterfall's order; by currency, the
    largest amount first."""
    return (
        line.kind != "direct",
        steps.get(line.shared_step or "", len(steps)),
        line.currency,
        -line.amount,
        line.service or line.shared_step or "",
        line.product or "",
        line.gl_account,
    )


def _totals(lines: Sequence[StatementLine]) -> tuple[StatementTotal, ...]:
    sums: dict[str, list[Decimal]] = {}
    for line in lines:
        held = sums.setdefault(line.currency, [Decimal(0), Decimal(0)])
        held[0 if line.kind == "direct" else 1] += line.amount
    return tuple(
        StatementTotal(currency=c, direct=d, shared=s) for c, (d, s) in sorted(sums.items())
    )


def _cents(amount: Decimal) -> str:
    return format(amount.quantize(CENT, rounding=ROUND_HALF_EVEN), "f")


def _line(
    key: tuple[Any, ...], amount: Decimal, count: int, steps: dict[str, SharedStep]
) -> StatementLine:
    kind, service, product, step, account, description, currency = key
    return StatementLine(
        kind=kind,
        service=service,
        product=product,
        shared_step=step,
        rule=_rule_text(steps.get(step)) if step else None,
        gl_account=account,
        gl_description=description,
        currency=currency,
        amount=amount,
        rows=count,
    )


def _cell(value: Any, number: bool) -> str:
    """A CSV value: empty for None; text a spreadsheet would run as a formula gets a '."""
    if value is None:
        return ""
    return str(value) if number else _safe(str(value))


def _safe(text: str) -> str:
    return "'" + text if text.startswith(("=", "+", "-", "@", "\t", "\r")) else text
