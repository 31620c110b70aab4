"""Allocation rules as code: the YAML file users keep in git, parsed and checked.

A rule set names its **dimensions** (``team``, ``cost_center`` …), lists **rules** in
precedence order (the first whose ``match`` holds sets the row's dimension values; what no
rule matches is ``(unallocated)``) and **shared** steps applied after the rules, in order
(a waterfall): each takes the rows its ``match`` selects and spreads them over the values of
one dimension, ``even``-ly, ``proportional``-ly to the targets' own cost (or, with
``usage: {file: F, metric: M}``, to a usage metric per billing month read from a CSV file
beside the rules), or by ``fixed`` weights. ``match`` maps use the one filter language: a
key is a FOCUS column, ``tag:KEY`` or a dimension; a list of values is ORed, the keys of one
map are ANDed, ``{like: P}``, ``{not: [..]}`` and ``{is: null}`` / ``{is: not null}`` are
the other forms. Tag values are compared trimmed and without regard to case, and
``aliases`` make several spellings one.

Every error names the file, line and column of the offending YAML node and how to fix it.
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from types import MappingProxyType
from typing import Literal

import yaml

from costprism.engine.filters import Filter
from costprism.errors import InputError
from costprism.focus import LEDGER_SCHEMA

UNALLOCATED = "(unallocated)"
Split = Literal["even", "proportional", "fixed"]
SPLITS: tuple[Split, ...] = ("even", "proportional", "fixed")
_DIMENSION = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
_FOCUS = frozenset(LEDGER_SCHEMA.names)


@dataclass(frozen=True, kw_only=True)
class Rule:
    """Where ``match`` holds (and no earlier rule did), set these dimension values."""

    name: str
    match: tuple[Filter, ...]
    values: Mapping[str, str]
    line: int


@dataclass(frozen=True, kw_only=True)
class SharedStep:
    """Spread the rows ``match`` selects over ``targets``, values of dimension ``to``."""

    name: str
    match: tuple[Filter, ...]
    split: Split
    to: str
    targets: tuple[str, ...]
    weights: Mapping[str, Decimal]  # fixed: target -> weight, normalized to sum to 1
    line: int
    within: str | None = None  # proportional: weigh among rows sharing this column's value
    usage: Usage | None = None  # proportional: weigh by this metric instead of cost


@dataclass(frozen=True, kw_only=True)
class Usage:
    """A usage metric per billing month and target, from a CSV file beside the rules."""

    file: str  # as written in the rules, relative to the rules file's folder
    metric: str
    weights: Mapping[tuple[str, str], Decimal]  # (YYYY-MM, target) -> quantity


@dataclass(frozen=True, kw_only=True)
class RuleSet:
    """A parsed, checked rule set and the text it came from."""

    dimensions: tuple[str, ...]
    rules: tuple[Rule, ...]
    shared: tuple[SharedStep, ...]
    aliases: Mapping[str, tuple[str, ...]] = field(default_factory=lambda: MappingProxyType({}))
    text: str = ""
    files: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    """The side files the rules read (usage metrics): name as written -> text."""

    @property
    def digest(self) -> str:
        """A short fingerprint of the rule set's text and side files (the same text and
        files, the same digest)."""
        found = hashlib.sha256(self.text.encode())
        for name in sorted(self.files):
            found.update(f"\0{name}\0{self.files[name]}".encode())
        return found.hexdigest()[:12]

    def column(self, dimension: str) -> str:
        """The ledger-view column of a dimension."""
        return dimension_column(dimension)

    def values_of(self, dimension: str) -> tuple[str, ...]:
        """Every value the rules (and the shared steps before) can give a dimension."""
        found = [rule.values[dimension] for rule in self.rules if dimension in rule.values]
        found += [t for step in self.shared if step.to == dimension for t in step.targets]
        return tuple(dict.fromkeys(v for v in found if v != UNALLOCATED))

    def spellings(self, value: str) -> tuple[str, ...]:
        """``value`` and its aliases, lower-cased: what a tag value is compared with."""
        folded = value.strip().casefold()
        return (folded, *(a.strip().casefold() for a in self.aliases.get(folded, ())))


def dimension_column(dimension: str) -> str:
    return f"x_{dimension}"


def load_rules(path: Path) -> RuleSet:
    """Read and check a rules file (and the usage files it names, beside it); an
    :class:`InputError` names file, line and fix."""
    text = read_text(path, "rules file", "rules.bad_file")
    return parse_rules(text, str(path), folder=path.parent)


def parse_rules(text: str, name: str = "<rules>", *, folder: Path | None = None) -> RuleSet:
    """Parse rules YAML (``name`` is used in messages); ``usage:`` files are read from
    ``folder`` (the rules file's folder, or a stored version's)."""
    return YamlParser(name, folder).rule_set(compose(text, name, "rules.bad_yaml"), text)


def read_text(path: Path, what: str, code: str) -> str:
    """A UTF-8 file's text; an :class:`InputError` with ``code`` if it can't be read."""
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise InputError(f"{path}: can't read the {what} ({error})", code=code) from error


def compose(text: str, name: str, code: str) -> yaml.Node | None:
    """YAML's node tree (with line and column marks); an :class:`InputError` with ``code``
    naming ``name``:line:column where it is not valid YAML."""
    try:
        return yaml.compose(text)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f"{name}:{mark.line + 1}:{mark.column + 1}" if mark else name
        problem = getattr(error, "problem", None) or str(error)
        raise InputError(
            f"{where}: not valid YAML ({problem}); check indentation and quoting", code=code
        ) from error


class YamlParser:
    """Reads a YAML node tree into checked values; every error names ``name``:line:column
    of the offending node, with :attr:`code`. The rules, tag policy, budgets and owners
    files share it."""

    code = "rules.invalid"

    def __init__(self, name: str, folder: Path | None = None) -> None:
        self.name = name
        self.folder = folder
        self.files: dict[str, str] = {}

    def fail(self, node: yaml.Node | None, message: str) -> InputError:
        where = self.name
        if node is not None:
            where += f":{node.start_mark.line + 1}:{node.start_mark.column + 1}"
        return InputError(f"{where}: {message}", code=self.code)

    def mapping(self, node: yaml.Node | None, what: str) -> dict[str, yaml.Node]:
        if not isinstance(node, yaml.MappingNode):
            raise self.fail(node, f"{what} must be a mapping (key: value lines)")
        found: dict[str, yaml.Node] = {}
        for key, value in node.value:
            name = self.scalar(key, f"a key of {what}")
            if name in found:
                raise self.fail(key, f"{what} repeats the key {name!r}; keep one")
            found[name] = value
        return found

    def scalar(self, node: yaml.Node | None, what: str) -> str:
        if not isinstance(node, yaml.ScalarNode) or node.value == "":
            raise self.fail(node, f"{what} must be a single value")
        return str(node.value)

    def scalars(self, node: yaml.Node, what: str) -> tuple[str, ...]:
        if isinstance(node, yaml.ScalarNode):
            return (self.scalar(node, what),)
        if not isinstance(node, yaml.SequenceNode) or not node.value:
            raise self.fail(node, f"{what} must be a value or a non-empty list of values")
        return tuple(self.scalar(item, what) for item in node.value)

    def rule_set(self, root: yaml.Node | None, text: str) -> RuleSet:
        if root is None:
            raise self.fail(None, "the rules file is empty; it needs dimensions: and rules:")
        top = self.mapping(root, "the rules file")
        unknown = set(top) - {"dimensions", "rules", "shared", "aliases"}
        if unknown:
            key = sorted(unknown)[0]
            raise self.fail(
                top[key], f"unknown section {key!r}; use dimensions, rules, shared and aliases"
            )
        if "dimensions" not in top:
            raise self.fail(root, "dimensions: is missing; list the dimensions, e.g. [team]")
        dimensions = self.dimensions(top["dimensions"])
        aliases = self.aliases(top["aliases"]) if "aliases" in top else {}
        rules = self.rules(top.get("rules"), dimensions)
        shared = self.shared_steps(top.get("shared"), dimensions, rules)
        return RuleSet(
            dimensions=dimensions,
            rules=rules,
            shared=shared,
            aliases=MappingProxyType(aliases),
            text=text,
            files=MappingProxyType(dict(self.files)),
        )

    def dimensions(self, node: yaml.Node) -> tuple[str, ...]:
        names = self.scalars(node, "a dimension")
        for item, name in zip(_items(node), names, strict=True):
            if not _DIMENSION.match(name):
                raise self.fail(
                    item,
                    f"dimension {name!r} must be lower case letters, digits and _ "
                    "(starting with a letter, at most 40 characters)",
                )
            if name in _FOCUS or f"x_{name}" in _FOCUS:
                raise self.fail(item, f"dimension {name!r} is a ledger column; rename it")
        if len(set(names)) != len(names):
            raise self.fail(node, "a dimension is listed twice; list each once")
        return names

    def aliases(self, node: yaml.Node) -> dict[str, tuple[str, ...]]:
        found = {}
        for key, value in self.mapping(node, "aliases").items():
            found[key.strip().casefold()] = self.scalars(value, f"the aliases of {key!r}")
        return found

    def rules(self, node: yaml.Node | None, dimensions: Sequence[str]) -> tuple[Rule, ...]:
        if node is None:
            return ()
        if not isinstance(node, yaml.SequenceNode):
            raise self.fail(node, "rules: must be a list of rules (- name: …)")
        rules = []
        for item in node.value:
            entry = self.mapping(item, "a rule")
            self.only(entry, {"name", "match", "set"}, "a rule")
            name = self.scalar(entry.get("name"), "a rule's name") if "name" in entry else ""
            if not name:
                raise self.fail(item, "a rule needs a name: (shown by explain and statements)")
            values = self.mapping(entry.get("set"), f"set: of rule {name!r}")
            assigned = {}
            for dimension, value in values.items():
                if dimension not in dimensions:
                    raise self.fail(
                        value,
                        f"rule {name!r} sets {dimension!r}, which is not a dimension; "
                        f"dimensions are {', '.join(dimensions)}",
                    )
                assigned[dimension] = self.scalar(value, f"the {dimension} of rule {name!r}")
            # rules decide the dimensions, so they match ledger columns and tags only
            match = self.match(entry.get("match"), f"rule {name!r}", (), item)
            rules.append(
                Rule(
                    name=name,
                    match=match,
                    values=MappingProxyType(assigned),
                    line=item.start_mark.line + 1,
                )
            )
        self.unique([r.name for r in rules], node, "rule")
        return tuple(rules)

    def shared_steps(
        self, node: yaml.Node | None, dimensions: Sequence[str], rules: Sequence[Rule]
    ) -> tuple[SharedStep, ...]:
        if node is None:
            return ()
        if not isinstance(node, yaml.SequenceNode):
            raise self.fail(node, "shared: must be a list of steps (- name: …)")
        steps: list[SharedStep] = []
        for item in node.value:
            entry = self.mapping(item, "a shared step")
            self.only(
                entry,
                {"name", "match", "split", "to", "targets", "weights", "within", "usage"},
                "a step",
            )
            name = self.scalar(entry.get("name"), "a shared step's name")
            what = f"shared step {name!r}"
            split = self.scalar(entry.get("split"), f"split: of {what}")
            if split not in SPLITS:
                raise self.fail(
                    entry["split"], f"split: of {what} must be even, proportional or fixed"
                )
            to = self.scalar(entry.get("to"), f"to: of {what}")
            if to not in dimensions:
                raise self.fail(
                    entry["to"], f"{what} spreads over {to!r}, which is not a dimension"
                )
            weights = self.weights(entry, what) if split == "fixed" else {}
            if split != "fixed" and "weights" in entry:
                raise self.fail(entry["weights"], f"weights: only go with split: fixed ({what})")
            within = self.within(entry, split, what)
            listed = self.scalars(entry["targets"], "a target") if "targets" in entry else ()
            targets = tuple(weights) or listed or _targets(to, rules, steps)
            if not targets:
                raise self.fail(
                    item, f"{what} has no targets: no rule sets {to}; list them in targets:"
                )
            usage = self.usage(entry, split, within, to, targets, what)
            steps.append(
                SharedStep(
                    name=name,
                    match=self.match(entry.get("match"), what, dimensions, item),
                    split=split,  # checked against SPLITS above
                    to=to,
                    targets=targets,
                    weights=MappingProxyType(weights),
                    line=item.start_mark.line + 1,
                    within=within,
                    usage=usage,
                )
            )
        self.unique([s.name for s in steps], node, "shared step")
        return tuple(steps)

    def within(self, entry: dict[str, yaml.Node], split: str, what: str) -> str | None:
        """``within: COLUMN``: proportional weights among the rows that share the pool row's
        value of a ledger column (a commitment's purchase over the usage it covered)."""
        if "within" not in entry:
            return None
        column = self.scalar(entry["within"], f"within: of {what}")
        if split != "proportional":
            raise self.fail(entry["within"], f"within: only goes with split: proportional ({what})")
        if column not in _FOCUS:
            raise self.fail(entry["within"], f"within: of {what} must be a ledger column")
        return column

    def usage(
        self,
        entry: dict[str, yaml.Node],
        split: str,
        within: str | None,
        to: str,
        targets: Sequence[str],
        what: str,
    ) -> Usage | None:
        """``usage: {file: F, metric: M}``: proportional weights from a usage metric per
        billing month (a CSV beside the rules with columns ``month``, the dimension ``to``
        and ``M``)."""
        if "usage" not in entry:
            return None
        node = entry["usage"]
        if split != "proportional" or within:
            raise self.fail(
                node, f"usage: only goes with split: proportional and no within: ({what})"
            )
        form = self.mapping(node, f"usage: of {what}")
        self.only(form, {"file", "metric"}, f"usage: of {what}")
        if "file" not in form or "metric" not in form:
            raise self.fail(node, f"usage: of {what} needs file: (a CSV) and metric: (a column)")
        file = self.scalar(form["file"], f"file: of {what}'s usage")
        metric = self.scalar(form["metric"], f"metric: of {what}'s usage")
        relative = Path(file)
        if relative.is_absolute() or ".." in relative.parts:
            raise self.fail(
                form["file"],
                f"usage file {file!r} must be a path inside the rules file's folder "
                "(no absolute path, no ..); put it beside the rules",
            )
        if self.folder is None or not (self.folder / relative).is_file():
            where = f" in {self.folder}" if self.folder is not None else ""
            raise self.fail(
                form["file"],
                f"usage file {file!r} not found{where}; rules that read usage files are "
                "applied from a file beside them (costprism rules apply RULES.yaml)",
            )
        text = read_text(self.folder / relative, "usage file", "rules.bad_file")
        self.files[file] = text
        weights = read_usage(text, str(self.folder / relative), metric, to, targets)
        return Usage(file=file, metric=metric, weights=MappingProxyType(weights))

    def weights(self, entry: dict[str, yaml.Node], what: str) -> dict[str, Decimal]:
        if "weights" not in entry:
            raise self.fail(
                entry.get("split"), f"{what} splits fixed: give weights: {{target: percent}}"
            )
        raw = self.mapping(entry["weights"], f"weights: of {what}")
        weights = {}
        for target, node in raw.items():
            text = self.scalar(node, f"the weight of {target!r}")
            try:
                weights[target] = Decimal(text)
            except InvalidOperation:
                raise self.fail(node, f"the weight of {target!r} must be a number") from None
            if weights[target] < 0:
                raise self.fail(node, f"the weight of {target!r} must not be negative")
        total = sum(weights.values())
        if total <= 0:
            raise self.fail(entry["weights"], f"the weights of {what} must sum to more than 0")
        return {target: weight / total for target, weight in weights.items()}

    def match(
        self, node: yaml.Node | None, what: str, dimensions: Sequence[str], owner: yaml.Node
    ) -> tuple[Filter, ...]:
        if node is None:
            raise self.fail(owner, f"{what} needs a match: (conditions on columns or tags)")
        filters = []
        for column, value in self.mapping(node, f"match: of {what}").items():
            self.known_column(column, dimensions, node, what)
            filters.append(self.condition(column, value, what))
        return tuple(filters)

    def known_column(
        self, column: str, dimensions: Sequence[str], node: yaml.Node, what: str
    ) -> None:
        if column.startswith("tag:") and len(column) > 4:
            return
        if column in _FOCUS or column in dimensions:
            return
        raise self.fail(
            node,
            f"{what} matches on {column!r}, which is not a FOCUS column, tag:KEY or "
            f"a dimension ({', '.join(dimensions)})",
        )

    def condition(self, column: str, node: yaml.Node, what: str) -> Filter:
        if isinstance(node, yaml.MappingNode):
            form = self.mapping(node, f"the condition on {column} in {what}")
            if len(form) != 1:
                raise self.fail(node, "a condition map holds one of like:, not: or is:")
            ((kind, value),) = form.items()
            if kind == "like":
                return Filter(column=column, op="like", values=(self.scalar(value, "like"),))
            if kind == "not":
                return Filter(column=column, op="not in", values=self.scalars(value, "not"))
            if kind == "is":
                text = self.scalar(value, "is") if isinstance(value, yaml.ScalarNode) else ""
                if value.tag.endswith(":null") or text in ("null", "~"):
                    return Filter(column=column, op="is null")
                if text == "not null":
                    return Filter(column=column, op="is not null")
            raise self.fail(
                node, f"the condition on {column} must be like:, not: or is: null / not null"
            )
        return Filter(column=column, op="in", values=self.scalars(node, f"a value of {column}"))

    def only(self, entry: dict[str, yaml.Node], allowed: set[str], what: str) -> None:
        for key, node in entry.items():
            if key not in allowed:
                raise self.fail(
                    node, f"{what} has an unknown key {key!r}; use {', '.join(sorted(allowed))}"
                )

    def unique(self, names: Sequence[str], node: yaml.Node, what: str) -> None:
        seen = set()
        for name in names:
            if name in seen:
                raise self.fail(node, f"two {what}s are named {name!r}; names must be unique")
            seen.add(name)


def read_usage(
    text: str, name: str, metric: str, to: str, targets: Sequence[str]
) -> dict[tuple[str, str], Decimal]:
    """A usage file's quantities by (billing month ``YYYY-MM``, target); an
    :class:`InputError` names the file, line, column and value of anything wrong."""
    rows = csv.reader(io.StringIO(text))
    header = next(rows, None)
    if header is None:
        raise InputError(f"{name}: the usage file is empty; it needs a header", code="rules.usage")
    columns = {h.strip(): i for i, h in enumerate(header)}
    for needed in ("month", to, metric):
        if needed not in columns:
            raise InputError(
                f"{name}:1: the usage file has no column {needed!r} (columns: "
                f"{', '.join(columns)}); it needs month, {to} and {metric}",
                code="rules.usage",
            )
    found: dict[tuple[str, str], Decimal] = {}
    for line, row in enumerate(rows, start=2):
        if not any(cell.strip() for cell in row):
            continue
        cells = {c: (row[i].strip() if i < len(row) else "") for c, i in columns.items()}

        def fail(
            column: str, problem: str, line: int = line, cells: dict[str, str] = cells
        ) -> InputError:
            return InputError(
                f"{name}:{line}:{columns[column] + 1}: {column} {cells[column]!r} {problem}",
                code="rules.usage",
            )

        if not re.fullmatch(r"\d{4}-(0[1-9]|1[0-2])", cells["month"]):
            raise fail("month", "is not a billing month; write it as YYYY-MM, e.g. 2026-05")
        if cells[to] not in targets:
            raise fail(to, f"is not a target of the step; targets are {', '.join(targets)}")
        try:
            quantity = Decimal(cells[metric])
        except InvalidOperation:
            raise fail(metric, "is not a number; write the quantity, e.g. 1250.5") from None
        if not quantity.is_finite() or quantity < 0:
            raise fail(metric, "must be a number of zero or more")
        key = (cells["month"], cells[to])
        if key in found:
            raise fail(to, f"appears twice for {cells['month']}; keep one line per month")
        found[key] = quantity
    return found


def _items(node: yaml.Node) -> list[yaml.Node]:
    return list(node.value) if isinstance(node, yaml.SequenceNode) else [node]


def _targets(to: str, rules: Sequence[Rule], steps: Sequence[SharedStep]) -> tuple[str, ...]:
    found = [rule.values[to] for rule in rules if to in rule.values]
    found += [t for step in steps if step.to == to for t in step.targets]
    return tuple(dict.fromkeys(v for v in found if v != UNALLOCATED))
