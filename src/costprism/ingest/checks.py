"""Validation rules as SQL: each FOCUS column becomes a typed expression plus checks.

DuckDB evaluates every rule over whole vectors; no Python touches a row. A check is a
SQL condition that is true where a row has a finding. It reads the relation
:func:`with_typed` builds: the raw input columns plus each column's ledger value (named by
:func:`typed_name`), so a rule that needs the parsed value (an enumeration's spelling, a
period's order) reuses the value the ledger stores instead of parsing the text again. The
reader evaluates every check on every row while it writes the typed rows, and looks for
the failing lines only when a count is not zero.

Rules (stable ids, documented in ``docs/reference/validation.md``):

=====================  ========  ====================================================
rule                   severity  meaning
=====================  ========  ====================================================
not-null               error     a key column (cost, account, currency, periods) is empty
missing-value          warning   another column FOCUS requires is empty; stored as null
bad-decimal            error     a number that is not a plain decimal
bad-datetime           error     a date/time that is not ISO 8601
bad-enum               error     a value outside the column's allowed values
bad-json               error     Tags / JSON columns that are not a JSON object
bad-currency           error     a currency that is not an ISO 4217 code
period-order           error     a period whose start is not before its end
datetime-format        warning   a timestamp without ``T``/``Z``, read as UTC
enum-case              warning   an allowed value in the wrong case, normalized
currency-case          warning   a lower-case currency code, upper-cased
null-literal           warning   the text NULL stands for missing values (file level)
=====================  ========  ====================================================
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from costprism.focus import ENUMS, ColumnSpec
from costprism.ingest.currencies import ISO_4217
from costprism.ingest.findings import Severity

_STRICT_TS = r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?Z"
_LOOSE_TS = (
    r"\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?)? ?(Z|UTC|[+-]\d{2}(:?\d{2})?)?"
)
_FOCUS_TS_LIKE = "'____-__-__T__:__:__Z'"
_NO_SECONDS = r"^(\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2})(Z|[+-]\d{2}(:?\d{2})?)?$"
NULL_LITERALS = ("NULL", "null", "Null")
# The largest magnitude a decimal may have (DECIMAL(38, 12) holds up to 10^26), compared as a
# decimal: comparing a DECIMAL(38, 12) with the DOUBLE 1e25 costs a conversion per value.
_DECIMAL_LIMIT = "CAST('10000000000000000000000000' AS DECIMAL(38, 12))"
_SHORT_LIST = 10

# Without these a row can't be placed in a slice, a period or a currency: an error.
KEY_COLUMNS = frozenset(
    {
        "BilledCost",
        "BillingAccountId",
        "BillingCurrency",
        "BillingPeriodStart",
        "BillingPeriodEnd",
        "ChargeCategory",
        "ChargePeriodStart",
        "ChargePeriodEnd",
        "ContractId",
        "ContractCommitmentId",
    }
)


@dataclass(frozen=True, kw_only=True)
class Check:
    """A condition that is true on rows with a finding."""

    rule: str
    severity: Severity
    column: str | None
    condition: str
    message: str
    hint: str


@dataclass(frozen=True, kw_only=True)
class ColumnPlan:
    """How one ledger column is computed from one input column (``source`` is quoted SQL)."""

    spec: ColumnSpec
    source: str | None
    source_type: str = "VARCHAR"


def quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def typed_name(spec: ColumnSpec) -> str:
    """The quoted name of a column's ledger value in :func:`with_typed`'s relation."""
    return quote(f"typed:{spec.name}")


def with_typed(columns: Sequence[ColumnPlan], relation: str) -> str:
    """``relation`` (raw input columns) with each column's ledger value beside it, computed
    once per row: what check conditions and the typed output read."""
    typed = ", ".join(f"{typed_expression(c)} AS {typed_name(c.spec)}" for c in columns)
    return f"(SELECT *, {typed} FROM {relation})"


def cleaned(plan: ColumnPlan) -> str:
    """The input value (the reader has turned empty fields and NULL literals into nulls)."""
    assert plan.source is not None
    return plan.source


def typed_expression(plan: ColumnPlan) -> str:
    """SQL for the ledger value of one column (NULL where the input can't be read)."""
    spec = plan.spec
    if plan.source is None:
        return f"CAST(NULL AS {duck_type(spec)})"
    value = cleaned(plan)
    if spec.focus_type == "decimal":
        return _decimal(value, plan.source_type)
    if spec.focus_type == "datetime":
        return _timestamp(value, plan.source_type)
    if spec.focus_type == "key_value":
        return _key_value(value, plan.source_type)
    if spec.name in ENUMS:
        return _enum(value, ENUMS[spec.name])
    if spec.name == "BillingCurrency":
        return f"upper({value})"
    if plan.source_type != "VARCHAR":
        return f"CAST({value} AS VARCHAR)"
    return value


def checks_for(plan: ColumnPlan) -> list[Check]:
    """Every check on one column, errors first."""
    if plan.source is None:
        return []
    spec = plan.spec
    value = cleaned(plan)
    found = f"({value}) IS NOT NULL"
    checks = _type_checks(plan, found, typed_name(spec))
    if not spec.nullable:
        checks.insert(0, _not_null(spec, value))
    return checks


def period_checks(pairs: Sequence[tuple[ColumnPlan, ColumnPlan]]) -> list[Check]:
    """Start-before-end checks on the typed values of (start, end) column pairs."""
    return [
        Check(
            rule="period-order",
            severity="error",
            column=start.spec.name,
            condition=f"{typed_name(start.spec)} >= {typed_name(end.spec)}",
            message=f"{start.spec.name} is not before {end.spec.name}",
            hint=f"{end.spec.name} is exclusive and must be later than {start.spec.name}",
        )
        for start, end in pairs
    ]


def _not_null(spec: ColumnSpec, value: str) -> Check:
    """Empty key columns make a row unplaceable (error); other required columns warn."""
    key = spec.name in KEY_COLUMNS
    return Check(
        rule="not-null" if key else "missing-value",
        severity="error" if key else "warning",
        column=spec.name,
        condition=f"({value}) IS NULL",
        message=f"{spec.name} is empty, but FOCUS requires a value in every row"
        + ("" if key else "; stored as null"),
        hint=f"fill {spec.name} in the export, or fix the exporting tool",
    )


def duck_type(spec: ColumnSpec) -> str:
    return {
        "decimal": "DECIMAL(38, 12)",
        "datetime": "TIMESTAMPTZ",
        "key_value": "MAP(VARCHAR, VARCHAR)",
    }.get(spec.focus_type, "VARCHAR")


def _type_checks(plan: ColumnPlan, found: str, typed: str) -> list[Check]:
    spec = plan.spec
    name = spec.name
    if spec.focus_type == "decimal":
        valid = f"{typed} IS NOT NULL"
        if plan.source_type == "VARCHAR":
            valid = f"abs({typed}) < {_DECIMAL_LIMIT}"
        return [
            _error(
                "bad-decimal",
                name,
                f"{found} AND NOT coalesce({valid}, false)",
                f"{name} is not a number",
                "write plain decimals such as 12.5 or 1.2E-7: no currency signs, "
                "thousands separators or units",
            )
        ]
    if spec.focus_type == "datetime":
        return _datetime_checks(plan, found, typed)
    if spec.focus_type == "key_value" and not plan.source_type.startswith("MAP"):
        return [_json_check(plan, found, typed), _duplicate_key_check(plan, found, typed)]
    if spec.focus_type in ("key_value", "json"):
        return [_json_check(plan, found, typed)]
    if name in ENUMS:
        return _enum_checks(plan, found, typed)
    if name == "BillingCurrency":
        return _currency_checks(plan, found, typed)
    return []


def _datetime_checks(plan: ColumnPlan, found: str, typed: str) -> list[Check]:
    name = plan.spec.name
    checks = [
        _error(
            "bad-datetime",
            name,
            f"{found} AND {typed} IS NULL",
            f"{name} is not an ISO 8601 date/time",
            "write UTC times as 2024-09-01T00:00:00Z",
        )
    ]
    if plan.source_type == "VARCHAR":
        value = cleaned(plan)
        checks.append(
            Check(
                rule="datetime-format",
                severity="warning",
                column=name,
                # CASE, not OR: DuckDB evaluates both sides of an OR on every row
                condition=f"CASE WHEN {value} LIKE {_FOCUS_TS_LIKE} THEN false "
                f"ELSE {typed} IS NOT NULL AND NOT regexp_full_match({value}, "
                f"{literal(_STRICT_TS)}) END",
                message=f"{name} is not in FOCUS form (YYYY-MM-DDTHH:MM:SSZ); read as UTC",
                hint="export times as 2024-09-01T00:00:00Z",
            )
        )
    return checks


def _enum_checks(plan: ColumnPlan, found: str, typed: str) -> list[Check]:
    name = plan.spec.name
    allowed = ENUMS[name]
    value = cleaned(plan)
    return [
        _error(
            "bad-enum",
            name,
            f"{found} AND {typed} IS NULL",
            f"{name} holds a value FOCUS does not allow",
            f"use one of: {', '.join(allowed)}",
        ),
        Check(
            rule="enum-case",
            severity="warning",
            column=name,
            condition=f"{value} <> {typed}",
            message=f"{name} value in the wrong case; normalized to the FOCUS spelling",
            hint=f"write one of: {', '.join(allowed)}",
        ),
    ]


def _currency_checks(plan: ColumnPlan, found: str, typed: str) -> list[Check]:
    value = cleaned(plan)
    name = plan.spec.name
    return [
        _error(
            "bad-currency",
            name,
            f"{found} AND NOT {_one_of(typed, sorted(ISO_4217))}",
            f"{name} is not an ISO 4217 currency code",
            "use a three-letter code such as USD, EUR or JPY",
        ),
        Check(
            rule="currency-case",
            severity="warning",
            column=name,
            condition=f"{value} <> {typed}",
            message=f"{name} in lower case; upper-cased",
            hint="write currency codes in upper case",
        ),
    ]


def _json_check(plan: ColumnPlan, found: str, typed: str) -> Check:
    """Key-value columns are objects exactly where their parsed map is not null (one JSON
    parse per value, shared with the ledger value); other JSON columns are parsed here."""
    name = plan.spec.name
    value = cleaned(plan)
    if plan.source_type.startswith("MAP"):
        condition = "false"
    elif plan.spec.focus_type == "key_value":
        condition = f"{found} AND {typed} IS NULL AND NOT {_is_object(value)}"
    else:
        condition = f"{found} AND NOT {_is_object(value)}"
    return _error(
        "bad-json",
        name,
        condition,
        f"{name} is not a JSON object",
        'write a flat JSON object such as {"team": "payments"}',
    )


def _duplicate_key_check(plan: ColumnPlan, found: str, typed: str) -> Check:
    """Every JSON object becomes a map (nested values as their JSON text) except one that
    names a key twice: an object whose map is null is that one."""
    name = plan.spec.name
    return _error(
        "duplicate-key",
        name,
        f"{found} AND {typed} IS NULL AND {_is_object(cleaned(plan))}",
        f"{name} names a key twice",
        "keep one value per key",
    )


def _is_object(value: str) -> str:
    return f"coalesce(json_type(TRY_CAST({value} AS JSON)) = 'OBJECT', false)"


def _error(rule: str, column: str, condition: str, message: str, hint: str) -> Check:
    return Check(
        rule=rule, severity="error", column=column, condition=condition, message=message, hint=hint
    )


def parse_timestamp(value: str) -> str:
    """SQL reading any value as an ISO 8601 time (UTC unless it says otherwise), else null."""
    return _timestamp(f"CAST({value} AS VARCHAR)", "VARCHAR")


def parse_decimal(value: str) -> str:
    """SQL reading any value as a ledger decimal, else null."""
    return _decimal(f"CAST({value} AS VARCHAR)", "VARCHAR")


def _timestamp(value: str, source_type: str) -> str:
    if source_type.startswith("TIMESTAMP"):
        return f"CAST({value} AS TIMESTAMPTZ)"
    if source_type == "DATE":
        return f"CAST(CAST({value} AS TIMESTAMP) AS TIMESTAMPTZ)"
    text = f"CAST({value} AS VARCHAR)" if source_type != "VARCHAR" else value
    utc = rf"regexp_replace({text}, '\s*UTC$', 'Z')"
    seconds = rf"regexp_replace({utc}, {literal(_NO_SECONDS)}, '\1:00\2')"
    return (
        f"CASE WHEN {text} LIKE {_FOCUS_TS_LIKE} THEN TRY_CAST({text} AS TIMESTAMPTZ) "
        f"WHEN regexp_full_match({text}, {literal(_LOOSE_TS)}) "
        f"THEN TRY_CAST({seconds} AS TIMESTAMPTZ) END"
    )


def _decimal(value: str, source_type: str) -> str:
    """Text is parsed as DOUBLE first: DuckDB parses text into 128-bit decimals ~100x slower.

    Exact for values of up to 15 significant digits, far below a cent for any cost.
    """
    if source_type != "VARCHAR":
        return f"TRY_CAST({value} AS DECIMAL(38, 12))"
    return (
        f"CASE WHEN NOT contains({value}, '_') "
        f"THEN TRY_CAST(TRY_CAST({value} AS DOUBLE) AS DECIMAL(38, 12)) END"
    )


def _key_value(value: str, source_type: str) -> str:
    if source_type.startswith("MAP"):
        return f"CAST({value} AS MAP(VARCHAR, VARCHAR))"
    return json_map(value)


def json_map(text: str) -> str:
    """SQL reading JSON object text as a map; null for other text, and for an object that
    names a key twice (DuckDB refuses such a map even under TRY_CAST, failing the whole
    read; an import reports the row as ``duplicate-key`` instead)."""
    keys = f"json_keys(TRY_CAST({text} AS JSON))"
    return (
        f"CASE WHEN NOT coalesce(len({keys}) > len(list_distinct({keys})), false) "
        f"THEN TRY_CAST(TRY_CAST({text} AS JSON) AS MAP(VARCHAR, VARCHAR)) END"
    )


def _enum(value: str, allowed: Sequence[str]) -> str:
    folded = " ".join(f"WHEN {literal(v.lower())} THEN {literal(v)}" for v in allowed)
    return (
        f"CASE WHEN {_one_of(value, allowed)} THEN {value} "
        f"ELSE CASE lower({value}) {folded} END END"
    )


def _one_of(value: str, allowed: Sequence[str]) -> str:
    """SQL membership test. DuckDB joins a long ``IN (…)`` list against the row; ``= ANY``
    of a list literal is the same test and measured ~6× cheaper from about ten values on
    (82 service subcategories, 180 currencies); short lists stay ``IN``."""
    listed = ", ".join(literal(v) for v in allowed)
    if len(allowed) < _SHORT_LIST:
        return f"{value} IN ({listed})"
    return f"{value} = ANY([{listed}])"
