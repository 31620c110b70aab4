"""A native billing export's mapping to FOCUS 1.2, as SQL DuckDB runs over the whole file.

A :class:`NativeFormat` is data: the columns that identify the export, the source columns
read as numbers or times, and one :class:`Rule` per FOCUS column — a SQL template over the
source columns with a one-line explanation. Templates name source columns in backticks
(```lineItem/UnblendedCost```); a name the file lacks reads as null, so one format serves
exports with and without optional columns. Names are matched without regard to case.

:func:`native_relation` turns a format and a file header into two nested ``SELECT``s over
the file's ``read_csv``/``read_json`` relation:

1. *source*: each referenced column under its template name, parsed where the format says
   it is a number or a time; every header column again as text (``raw:<name>``, what a
   finding quotes); a ``bad:<name>`` flag where a number or time can't be parsed.
2. *FOCUS*: every FOCUS 1.2 Cost and Usage column from its rule (null without one), every
   source column no rule reads as ``x_<name>`` (nothing is dropped), and the ``raw:`` and
   ``bad:`` columns passed through.

The reader then types and checks the FOCUS columns exactly as it does a FOCUS file's, so a
native file is read in the same single streaming pass (decision 0006). :func:`mapping_table`
is the documentation of a format, generated from the same rules.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType

from costprism.focus import SERVICE_SUBCATEGORY_PARENT, columns_for
from costprism.ingest.checks import literal, parse_decimal, parse_timestamp, quote

FOCUS_VERSION = "1.2"
_REFERENCE = re.compile(r"`([^`]+)`")
_UNSAFE = re.compile(r"[^\w]+")  # Unicode letters and digits stay (财务单元)


@dataclass(frozen=True, kw_only=True)
class Rule:
    """How one FOCUS column is computed: SQL over backticked source columns.

    ``build`` replaces ``sql`` where the expression depends on the header (one tag column
    per tag key, say): it receives the header names that start with ``prefix``, which the
    rule then reads and which are therefore not kept as ``x_`` columns.
    """

    column: str
    sql: str = ""
    explain: str
    build: Callable[[Sequence[str]], str] | None = None
    prefix: str | None = None

    def sources(self) -> tuple[str, ...]:
        """The source columns the template names, in order of first mention."""
        return tuple(dict.fromkeys(_REFERENCE.findall(self.sql)))


@dataclass(frozen=True, kw_only=True, eq=False)
class NativeFormat:
    """One native export layout and its mapping to FOCUS 1.2 (equal only to itself)."""

    name: str
    provider: str
    title: str
    required: tuple[str, ...]
    rules: tuple[Rule, ...]
    numbers: frozenset[str] = frozenset()
    times: Mapping[str, tuple[str, ...]] = field(default_factory=lambda: MappingProxyType({}))
    notes: tuple[str, ...] = ()
    keep: frozenset[str] = frozenset()  # source columns kept as x_ although a rule reads them

    def __post_init__(self) -> None:
        known = {spec.name for spec in columns_for(FOCUS_VERSION)}
        for rule in self.rules:
            if rule.column not in known:
                raise ValueError(f"{self.name}: {rule.column} is not a FOCUS 1.2 column")
        mapped = [rule.column for rule in self.rules]
        if len(mapped) != len(set(mapped)):
            raise ValueError(f"{self.name}: a FOCUS column has two rules")

    def missing(self, header: Sequence[str]) -> tuple[str, ...]:
        """Required columns the header lacks (compared without regard to case)."""
        present = {name.casefold() for name in header}
        return tuple(name for name in self.required if name.casefold() not in present)

    def referenced(self) -> tuple[str, ...]:
        """Every source column a static rule reads."""
        names = [name for rule in self.rules for name in rule.sources()]
        return tuple(dict.fromkeys(names))


@dataclass(frozen=True, kw_only=True)
class NativeRelation:
    """The SQL of a native file read as FOCUS, and what it is made of."""

    sql: str
    focus_columns: tuple[str, ...]
    extras: tuple[tuple[str, str], ...]  # (x_ name, source header name)
    number_columns: tuple[str, ...]  # header names parsed as numbers
    time_columns: tuple[str, ...]  # header names parsed as times
    sources: Mapping[str, tuple[str, ...]]  # FOCUS column -> header names its rule reads

    @property
    def columns(self) -> tuple[str, ...]:
        """The FOCUS and ``x_`` column names the relation has, in order."""
        return self.focus_columns + tuple(name for name, _ in self.extras)


def raw_name(header_name: str) -> str:
    return f"raw:{header_name}"


def bad_name(header_name: str) -> str:
    return f"bad:{header_name}"


def extension_name(header_name: str) -> str:
    """The ``x_`` column a source column is kept as: non-alphanumerics become ``_``."""
    return "x_" + _UNSAFE.sub("_", header_name).strip("_")


def native_relation(
    native: NativeFormat,
    header: Sequence[str],
    relation: str,
    *,
    filename: bool = False,
    types: Sequence[str] = (),
) -> NativeRelation:
    """``relation`` (the file as read, columns named as ``header``) as FOCUS 1.2 columns.
    ``types`` (DuckDB types per header column, for JSON lines) makes nested values read
    as JSON text where they are kept or quoted."""
    nested = {h for h, t in zip(header, types, strict=False) if _is_nested(t)}
    by_fold = {name.casefold(): name for name in header}
    prefixed = {
        rule.column: [h for h in header if rule.prefix and h.startswith(rule.prefix)]
        for rule in native.rules
    }
    referenced = native.referenced()
    actual = {name: by_fold.get(name.casefold()) for name in referenced}
    source_select = [_source_column(native, name, actual[name], by_fold) for name in referenced]
    already = {h for h in actual.values() if h}
    source_select += [quote(h) for hs in prefixed.values() for h in hs if h not in already]
    source_select += [
        f"CAST({'to_json(' + quote(h) + ')' if h in nested else quote(h)} AS VARCHAR) "
        f"AS {quote(raw_name(h))}"
        for h in header
    ]
    numbers = [actual[n] for n in referenced if n in native.numbers and actual[n]]
    times = [actual[n] for n in referenced if n in native.times and actual[n]]
    rules = {rule.column: rule for rule in native.rules}
    focus_columns = tuple(spec.name for spec in columns_for(FOCUS_VERSION))
    focus_select = [
        f"{_rule_sql(rules.get(name), prefixed.get(name, []))} AS {quote(name)}"
        for name in focus_columns
    ]
    read = {h for name in referenced if (h := actual[name])}
    read |= {h for names in prefixed.values() for h in names}
    kept = {name.casefold() for name in native.keep}
    unread = [h for h in header if h not in read or h.casefold() in kept]
    extras = _extras(unread, set(focus_columns))
    passed = [quote(raw_name(h)) for h in header]
    passed += [
        f"({quote(raw_name(h))} IS NOT NULL AND {quote(_canonical(h, actual))} IS NULL) "
        f"AS {quote(bad_name(h))}"
        for h in (*numbers, *times)
        if h is not None
    ]
    tail = ", filename" if filename else ""
    inner = f"SELECT {', '.join(source_select)}{tail} FROM {relation}"
    outer = ", ".join(
        focus_select
        + [f"{quote(raw_name(source))} AS {quote(name)}" for name, source in extras]
        + passed
    )
    sources = {
        rule.column: tuple(h for n in rule.sources() if (h := actual[n]))
        + tuple(prefixed[rule.column])
        for rule in native.rules
    }
    return NativeRelation(
        sql=f"(SELECT {outer}{tail} FROM ({inner}))",
        focus_columns=focus_columns,
        extras=tuple(extras),
        number_columns=tuple(h for h in numbers if h is not None),
        time_columns=tuple(h for h in times if h is not None),
        sources=MappingProxyType(sources),
    )


def _is_nested(kind: str) -> bool:
    return kind.startswith(("STRUCT", "MAP")) or kind.endswith("]")


def _canonical(header_name: str, actual: Mapping[str, str | None]) -> str:
    return next(name for name, h in actual.items() if h == header_name)


def _source_column(
    native: NativeFormat, name: str, header_name: str | None, by_fold: Mapping[str, str]
) -> str:
    if header_name is None:
        kind = (
            "DECIMAL(38, 12)"
            if name in native.numbers
            else "TIMESTAMPTZ"
            if name in native.times
            else "VARCHAR"
        )
        return f"CAST(NULL AS {kind}) AS {quote(name)}"
    source = quote(header_name)
    if name in native.numbers:
        return f"{parse_decimal(source)} AS {quote(name)}"
    if name in native.times:
        return f"{_parse_time(source, native.times[name])} AS {quote(name)}"
    return f"{source} AS {quote(name)}"


def _parse_time(source: str, formats: tuple[str, ...]) -> str:
    """A time column: ISO 8601 (read as UTC) unless ``formats`` lists strptime formats."""
    if not formats:
        return parse_timestamp(source)
    listed = ", ".join(literal(f) for f in formats)
    return f"CAST(try_strptime(CAST({source} AS VARCHAR), [{listed}]) AS TIMESTAMPTZ)"


def _rule_sql(rule: Rule | None, prefixed: Sequence[str]) -> str:
    if rule is None:
        return "NULL"
    if rule.build is not None:
        return rule.build(prefixed)
    return _REFERENCE.sub(lambda m: quote(m.group(1)), rule.sql)


def _extras(unread: Sequence[str], taken: set[str]) -> list[tuple[str, str]]:
    """``x_`` names for the source columns no rule reads, unique among themselves."""
    kept: list[tuple[str, str]] = []
    used = {name.casefold() for name in taken}
    for header_name in unread:
        name = extension_name(header_name)
        candidate, n = name, 2
        while candidate.casefold() in used:
            candidate, n = f"{name}_{n}", n + 1
        used.add(candidate.casefold())
        kept.append((candidate, header_name))
    return kept


def mapping_table(native: NativeFormat) -> str:
    """The format's mapping as a Markdown table: FOCUS column, source columns, rule."""
    lines = [
        "| FOCUS column | Source column(s) | Rule |",
        "|---|---|---|",
    ]
    for rule in native.rules:
        sources = ", ".join(f"`{name}`" for name in rule.sources())
        if rule.prefix:
            sources = ", ".join(filter(None, [sources, f"`{rule.prefix}*`"]))
        lines.append(f"| {rule.column} | {sources or '—'} | {_cell(rule.explain)} |")
    unmapped = sorted(
        {spec.name for spec in columns_for(FOCUS_VERSION)} - {r.column for r in native.rules}
    )
    lines.append(
        f"| {', '.join(unmapped)} | — | null: the export has no such information |"
        if unmapped
        else ""
    )
    lines.append(
        "| `x_<name>` | every other column | kept as text; characters other than letters "
        "(any script), digits and `_` become `_` |"
    )
    return "\n".join(line for line in lines if line)


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def lookup(expression: str, table: Mapping[str, str], default: str) -> str:
    """SQL mapping the values of ``expression`` through ``table`` (``default`` otherwise)."""
    if not table:
        return literal(default)
    cases = " ".join(f"WHEN {literal(k)} THEN {literal(v)}" for k, v in table.items())
    return f"CASE {expression} {cases} ELSE {literal(default)} END"


def service_rules(code: str, subcategories: Mapping[str, str], explain: str) -> tuple[Rule, Rule]:
    """ServiceCategory and ServiceSubcategory from a provider's service code (a backticked
    template expression) through a code → FOCUS subcategory table; unknown codes are Other."""
    categories = {k: SERVICE_SUBCATEGORY_PARENT[v] for k, v in subcategories.items()}
    return (
        Rule(
            column="ServiceCategory",
            sql=lookup(code, categories, "Other"),
            explain=f"{explain}: the FOCUS category of the service (Other when unknown)",
        ),
        Rule(
            column="ServiceSubcategory",
            sql=lookup(code, subcategories, "Other (Other)"),
            explain=f"{explain}: the FOCUS subcategory of the service",
        ),
    )
