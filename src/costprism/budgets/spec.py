"""The budgets file: YAML users keep in git, parsed and checked (``costprism budgets apply``).

::

    currency: USD                     # the default for the budgets below (optional)
    budgets:
      - name: payments-monthly        # letters, digits, . _ - (unique)
        scope: team=payments          # a filter, or a list of them (ANDed); none: everything
        period: month                 # month, quarter or fiscal-year
        amount: 42000                 # per period, in the billing currency
        currency: USD                 # needed when there is no default above
        basis: effective              # effective (amortized, the default) or billed
        thresholds:
          actual: [80, 100]           # % of the available budget (default [80, 100])
          forecast: [100]             # % of it the forecast to period end may reach ([100])
        owners: [pat, payments-lead@northwind.example]
        holdback: 2000                # kept in reserve by finance (default 0)

``scope`` uses the one filter language (:mod:`costprism.engine.filters`): a column is a
FOCUS column, ``tag:KEY`` or an allocation dimension (``team``); the dimension names are
checked against the rules in force when the budgets are applied. The **available** budget
is ``amount - holdback + released``: what the owners may spend; releasing holdback is a
separate, audited change (:func:`costprism.capabilities.budgets.release_holdback`).

Every error names the file, line and column of the offending YAML node (the rules file's
reader, :mod:`costprism.allocation.rules`) and how to fix it. The web form checks its fields
with the same functions (:func:`budget_from_fields`), naming the field instead.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, Literal, cast

import yaml

from costprism.allocation.rules import YamlParser, compose, read_text
from costprism.budgets.periods import PERIOD_KINDS, PeriodKind
from costprism.engine.filters import Filter, parse_filter
from costprism.errors import InputError, QueryError
from costprism.focus import LEDGER_SCHEMA

Basis = Literal["effective", "billed"]
BASES: dict[Basis, str] = {"effective": "EffectiveCost", "billed": "BilledCost"}
DEFAULT_ACTUAL = (Decimal(80), Decimal(100))
DEFAULT_FORECAST = (Decimal(100),)
NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")
_CURRENCY = re.compile(r"^[A-Z]{3}$")
_DIMENSION = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
_FOCUS = frozenset(LEDGER_SCHEMA.names)
_FIELDS = ("name", "scope", "period", "amount", "currency", "basis", "thresholds", "owners",
           "holdback")  # fmt: skip
_MAX_AMOUNT = Decimal("1e15")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


class FieldError(ValueError):
    """A value that fails a check; the parser adds where it is, the form which field."""

    def __init__(self, message: str, field: str) -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True, kw_only=True)
class BudgetSpec:
    """One budget as defined (in a file or the web form)."""

    name: str
    scope: tuple[Filter, ...]
    period: PeriodKind
    amount: Decimal
    currency: str
    basis: Basis = "effective"
    actual_thresholds: tuple[Decimal, ...] = DEFAULT_ACTUAL
    forecast_thresholds: tuple[Decimal, ...] = DEFAULT_FORECAST
    owners: tuple[str, ...] = ()
    holdback: Decimal = Decimal(0)
    line: int = 0  # where it is defined in its file (0: not from a file)
    scope_at: str = ""  # line:column of its scope in the file

    @property
    def measure(self) -> str:
        return BASES[self.basis]

    def record(self) -> dict[str, Any]:
        """JSON-ready: amounts as numbers, the scope as filter strings."""
        return {
            "name": self.name,
            "scope": [str(f) for f in self.scope],
            "period": self.period,
            "amount": float(self.amount),
            "currency": self.currency,
            "basis": self.basis,
            "thresholds": {
                "actual": [float(t) for t in self.actual_thresholds],
                "forecast": [float(t) for t in self.forecast_thresholds],
            },
            "owners": list(self.owners),
            "holdback": float(self.holdback),
        }


@dataclass(frozen=True, kw_only=True)
class BudgetFile:
    name: str
    budgets: tuple[BudgetSpec, ...]
    text: str


def load_budgets(path: Path) -> BudgetFile:
    """Read and check a budgets file; an :class:`InputError` names file, line and fix."""
    return parse_budgets(read_text(path, "budgets file", "budgets.bad_file"), str(path))


def parse_budgets(text: str, name: str = "<budgets>") -> BudgetFile:
    """Parse budgets YAML (``name`` is used in messages as ``name:line:column``)."""
    budgets = _BudgetParser(name).budgets(compose(text, name, "budgets.bad_yaml"))
    return BudgetFile(name=name, budgets=budgets, text=text)


def check_dimensions(budgets: BudgetFile, dimensions: Sequence[str]) -> None:
    """Refuse a scope naming a column that is neither a FOCUS column, ``tag:KEY`` nor one
    of ``dimensions`` (the allocation dimensions in force)."""
    for budget in budgets.budgets:
        check_columns(budget, dimensions, f"{budgets.name}:{budget.scope_at}")


def check_columns(budget: BudgetSpec, dimensions: Sequence[str], where: str = "scope") -> None:
    """Refuse a scope column that is not a FOCUS column, ``tag:KEY`` or a dimension."""
    for condition in budget.scope:
        if not known_column(condition.column, dimensions):
            known = ", ".join(dimensions) or "none: no allocation rules are applied"
            raise InputError(
                f"{where}: budget {budget.name!r}: scope column {condition.column!r} is not a "
                f"FOCUS column, tag:KEY or an allocation dimension (dimensions: {known})",
                code="budgets.invalid",
            )


def known_column(column: str, dimensions: Sequence[str]) -> bool:
    if column.startswith("tag:"):
        return len(column) > 4
    return column in _FOCUS or column in dimensions or column.removeprefix("x_") in dimensions


def budget_from_fields(fields: Mapping[str, str]) -> BudgetSpec:
    """A budget from the web form's fields (scope: one condition per line; thresholds and
    owners: comma-separated); an :class:`InputError` names the field."""
    try:
        return BudgetSpec(
            name=check_name(fields.get("name", "")),
            scope=check_scope([s for s in fields.get("scope", "").splitlines() if s.strip()]),
            period=check_period(fields.get("period", "")),
            amount=check_amount(fields.get("amount", ""), "amount"),
            currency=check_currency(fields.get("currency", "")),
            basis=check_basis(fields.get("basis", "") or "effective"),
            actual_thresholds=check_thresholds(_split(fields.get("actual_thresholds", ""))),
            forecast_thresholds=check_thresholds(_split(fields.get("forecast_thresholds", ""))),
            owners=check_owners(_split(fields.get("owners", ""))),
            holdback=check_holdback(
                fields.get("holdback", "") or "0", fields.get("amount", "") or "0"
            ),
        )
    except FieldError as error:
        raise InputError(f"{error.field}: {error}", code="budgets.invalid") from None


# --- the value checks (shared by the file and the form) ---------------------------------


def check_name(text: str) -> str:
    if not NAME.match(text.strip()):
        raise FieldError(
            f"name {text!r} must be letters, digits, '.', '_' or '-' (starting with a letter "
            "or digit, at most 100 characters)",
            "name",
        )
    return text.strip()


def check_scope(texts: Sequence[str]) -> tuple[Filter, ...]:
    found = []
    for text in texts:
        if _CONTROL.search(text) or len(text) > 1000:
            raise FieldError(
                f"scope condition {text[:60]!r} has a control character or is over 1000 characters",
                "scope",
            )
        try:
            found.append(parse_filter(text))
        except QueryError as error:
            raise FieldError(error.message, "scope") from None
    return tuple(found)


def check_owners(texts: Sequence[str]) -> tuple[str, ...]:
    for text in texts:
        if _CONTROL.search(text) or not 0 < len(text.strip()) <= 200:
            raise FieldError(
                f"owner {text[:60]!r} must be a user name or e-mail address (1-200 printable "
                "characters)",
                "owners",
            )
    return tuple(t.strip() for t in texts)


def check_period(text: str) -> PeriodKind:
    if text not in PERIOD_KINDS:
        raise FieldError(f"period {text!r} is not one of {', '.join(PERIOD_KINDS)}", "period")
    return text


def check_amount(text: str, what: str) -> Decimal:
    try:
        amount = Decimal(str(text).strip().replace("_", ""))
    except InvalidOperation:
        raise FieldError(f"{what} {text!r} is not a number; write e.g. 12000.50", what) from None
    if not amount.is_finite() or amount <= 0 or amount >= _MAX_AMOUNT:
        raise FieldError(f"{what} {text!r} must be a positive amount", what)
    return amount


def check_currency(text: str) -> str:
    if not _CURRENCY.match(text.strip()):
        raise FieldError(
            f"currency {text!r} is not an ISO 4217 code; write e.g. USD or EUR (the budget's "
            "amount is in this billing currency)",
            "currency",
        )
    return text.strip()


def check_basis(text: str) -> Basis:
    if text not in BASES:
        raise FieldError(
            f"basis {text!r} is not effective (amortized) or billed (invoiced)", "basis"
        )
    return text


def check_thresholds(texts: Sequence[str]) -> tuple[Decimal, ...]:
    found = []
    for text in texts:
        try:
            value = Decimal(str(text).strip().removesuffix("%"))
        except InvalidOperation:
            value = Decimal(-1)
        if not value.is_finite() or not 0 < value <= 1000:
            raise FieldError(
                f"threshold {text!r} must be a percentage of the budget above 0 and at most "
                "1000, e.g. 80",
                "thresholds",
            )
        found.append(value)
    return tuple(sorted(set(found)))


def check_holdback(text: str, amount_text: str) -> Decimal:
    try:
        holdback = Decimal(str(text).strip())
    except InvalidOperation:
        holdback = Decimal(-1)
    if not holdback.is_finite() or holdback < 0:
        raise FieldError(f"holdback {text!r} must be an amount of 0 or more", "holdback")
    try:
        amount = Decimal(str(amount_text).strip())
    except InvalidOperation:
        amount = Decimal(0)
    if amount.is_finite() and holdback > amount:
        raise FieldError(
            f"holdback {text} is more than the amount {amount_text}; keep back part of it",
            "holdback",
        )
    return holdback


def _split(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


# --- the file ---------------------------------------------------------------------------


class _BudgetParser(YamlParser):
    """The rules parser's YAML helpers (mapping, scalars), budget codes and checks."""

    code = "budgets.invalid"

    def budgets(self, root: yaml.Node | None) -> tuple[BudgetSpec, ...]:
        if root is None:
            raise self.fail(None, "the budgets file is empty; it needs budgets: (a list)")
        top = self.mapping(root, "the budgets file")
        self.only(top, {"currency", "budgets"}, "the budgets file")
        if "budgets" not in top:
            raise self.fail(root, "budgets: is missing; list the budgets under it")
        currency = None
        if "currency" in top:
            currency = self.checked(top["currency"], check_currency, "currency")
        items = top["budgets"]
        if not isinstance(items, yaml.SequenceNode) or not items.value:
            raise self.fail(items, "budgets: must be a list of budgets (- name: …)")
        found = tuple(self.budget(item, currency) for item in items.value)
        self.unique([b.name for b in found], items, "budget")
        return found

    def budget(self, node: yaml.Node, default_currency: str | None) -> BudgetSpec:
        entry = self.mapping(node, "a budget")
        self.only(entry, set(_FIELDS), "a budget")
        for required in ("name", "period", "amount"):
            if required not in entry:
                raise self.fail(node, f"a budget needs {required}: (see the how-to)")
        name = self.checked(entry["name"], check_name, "name")
        what = f"budget {name!r}"
        if "currency" in entry:
            currency = self.checked(entry["currency"], check_currency, what)
        elif default_currency is None:
            raise self.fail(node, f"{what} needs currency: (or a currency: at the top)")
        else:
            currency = default_currency
        scope_node = entry.get("scope")
        return BudgetSpec(
            name=name,
            scope=self.scope(scope_node, what),
            period=self.checked(entry["period"], check_period, what),
            amount=self.checked(entry["amount"], lambda t: check_amount(t, "amount"), what),
            currency=currency,
            basis=self.checked(entry["basis"], check_basis, what) if "basis" in entry else (
                "effective"),
            **self.thresholds(entry.get("thresholds"), what),
            owners=self.owners(entry.get("owners"), what),
            holdback=self.holdback(entry, what),
            line=node.start_mark.line + 1,
            scope_at=_mark(scope_node or node),
        )  # fmt: skip

    def checked(self, node: yaml.Node, check: Any, what: str) -> Any:
        text = self.scalar(node, what)
        try:
            return check(text)
        except FieldError as error:
            raise self.fail(node, f"{what}: {error}") from None

    def scope(self, node: yaml.Node | None, what: str) -> tuple[Filter, ...]:
        if node is None:
            return ()
        if isinstance(node, yaml.ScalarNode) and node.value == "":
            return ()
        items = list(node.value) if isinstance(node, yaml.SequenceNode) else [node]
        found: list[Filter] = []
        for item in items:
            text = self.scalar(item, f"a scope condition of {what}")
            (condition,) = self.checked(item, lambda t: check_scope([t]), f"{what} scope")
            if not known_column(condition.column, ()) and not _DIMENSION.match(condition.column):
                raise self.fail(
                    item,
                    f"{what} scope {text!r}: {condition.column!r} is not a FOCUS column, "
                    "tag:KEY or an allocation dimension (lower case, like team)",
                )
            found.append(condition)
        return tuple(found)

    def owners(self, node: yaml.Node | None, what: str) -> tuple[str, ...]:
        if node is None:
            return ()
        for item in list(node.value) if isinstance(node, yaml.SequenceNode) else [node]:
            self.checked(item, lambda t: check_owners([t]), what)
        return check_owners(self.scalars(node, "an owner"))

    def thresholds(self, node: yaml.Node | None, what: str) -> dict[str, tuple[Decimal, ...]]:
        if node is None:
            return {}
        form = self.mapping(node, f"thresholds of {what}")
        self.only(form, {"actual", "forecast"}, f"thresholds of {what}")
        found: dict[str, tuple[Decimal, ...]] = {}
        for key, value in form.items():
            items = list(value.value) if isinstance(value, yaml.SequenceNode) else [value]
            if isinstance(value, yaml.SequenceNode) and not value.value:
                found[f"{key}_thresholds"] = ()
                continue
            for item in items:
                self.checked(item, lambda t: check_thresholds([t]), f"{what} {key} threshold")
            found[f"{key}_thresholds"] = check_thresholds(self.scalars(value, "a threshold"))
        return found

    def holdback(self, entry: dict[str, yaml.Node], what: str) -> Decimal:
        if "holdback" not in entry:
            return Decimal(0)
        amount = self.scalar(entry["amount"], what)
        return cast(
            Decimal,
            self.checked(entry["holdback"], lambda t: check_holdback(t, amount), what),
        )


def _mark(node: yaml.Node) -> str:
    return f"{node.start_mark.line + 1}:{node.start_mark.column + 1}"
