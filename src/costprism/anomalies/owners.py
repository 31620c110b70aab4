"""The owners file: who owns which scope, for anomaly triage and alert routing.

YAML, a list of entries under ``owners:``; the first entry whose ``match`` the scope
satisfies wins (an entry with ``match: "*"`` owns everything, put it last)::

    owners:
      - match: team=payments                  # one filter condition, or a list (ANDed)
        users: [ada, grace]                   # CostPrism user names
        emails: [payments-oncall@example.com]
        channels: ["slack:#payments-costs"]   # KIND:TARGET, e.g. slack:, teams:, webhook:
      - match: [SubAccountId=310482650117, ServiceName=Amazon DynamoDB]
        users: [lin]
      - match: "*"
        emails: [finops@example.com]

``match`` uses the filter language of ``--where`` (``COL=VAL``, ``COL in (A, B)``,
``COL like P``…). A scope is a mapping dimension → value (an anomaly's ``scope``, a
budget's filter values): a condition holds when the scope names its column and the
value satisfies it; a condition on a column the scope does not name does not hold.

Errors name the file, line and column (``owners.bad_yaml``, ``owners.invalid``).
"""

from __future__ import annotations

import fnmatch
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import yaml

from costprism.allocation.rules import YamlParser, compose, read_text
from costprism.engine.filters import Filter, parse_filter
from costprism.errors import QueryError

CATCH_ALL = "*"
_KEYS = {"match", "users", "emails", "channels"}


@dataclass(frozen=True, kw_only=True)
class Owner:
    """One entry of the owners file: the scope it matches and whom to tell."""

    match: tuple[Filter, ...]  # empty: every scope (match: "*")
    users: tuple[str, ...] = ()
    emails: tuple[str, ...] = ()
    channels: tuple[str, ...] = ()
    line: int = 0

    @property
    def label(self) -> str:
        """What the anomaly list shows as its owner: the users, else e-mails, else channels."""
        return ", ".join(self.users or self.emails or self.channels)

    def matches(self, scope: Mapping[str, str]) -> bool:
        return all(condition_holds(f, scope) for f in self.match)


@dataclass(frozen=True, kw_only=True)
class OwnersFile:
    owners: tuple[Owner, ...]
    name: str = "<owners>"

    def owner_of(self, scope: Mapping[str, str]) -> Owner | None:
        """The first entry that matches ``scope``, or None."""
        return next((o for o in self.owners if o.matches(scope)), None)


def load_owners(path: Path) -> OwnersFile:
    """Read and check an owners file; errors name file:line:column and the fix."""
    return parse_owners(read_text(path, "owners file", "owners.bad_file"), str(path))


def parse_owners(text: str, name: str = "<owners>") -> OwnersFile:
    root = compose(text, name, "owners.bad_yaml")
    return OwnersFile(owners=_Parser(name).owners(root), name=name)


def condition_holds(condition: Filter, scope: Mapping[str, str]) -> bool:
    """Whether the scope's value for the condition's column satisfies it."""
    value = scope.get(condition.column)
    if condition.op == "is null":
        return condition.column in scope and value is None
    if condition.op == "is not null" or value is None:
        return value is not None
    if condition.op == "=":
        return value == condition.values[0]
    if condition.op == "!=":
        return value != condition.values[0]
    if condition.op == "in":
        return value in condition.values
    if condition.op == "not in":
        return value not in condition.values
    pattern = condition.values[0].replace("*", "[*]").replace("?", "[?]")
    return fnmatch.fnmatchcase(value, pattern.replace("%", "*").replace("_", "?"))


class _Parser(YamlParser):
    code = "owners.invalid"

    def owners(self, root: yaml.Node | None) -> tuple[Owner, ...]:
        if not isinstance(root, yaml.MappingNode):
            raise self.fail(root, "the owners file must be a mapping with an 'owners:' list")
        top = {self.scalar(k, "a top-level key"): v for k, v in root.value}
        if set(top) != {"owners"}:
            raise self.fail(root, "the owners file holds one key, 'owners:', a list of entries")
        entries = top["owners"]
        if not isinstance(entries, yaml.SequenceNode) or not entries.value:
            raise self.fail(entries, "'owners:' must be a non-empty list of entries (- match: …)")
        return tuple(self.entry(node) for node in entries.value)

    def entry(self, node: yaml.Node) -> Owner:
        if not isinstance(node, yaml.MappingNode):
            raise self.fail(node, "an owners entry must be a mapping (match:, users:, emails:…)")
        fields: dict[str, yaml.Node] = {}
        for key, value in node.value:
            name = self.scalar(key, "a key of an owners entry")
            if name not in _KEYS:
                raise self.fail(key, f"unknown key {name!r}; use {', '.join(sorted(_KEYS))}")
            fields[name] = value
        if "match" not in fields:
            raise self.fail(node, "an owners entry needs match: (e.g. match: team=payments)")
        lists = {k: self.scalars(fields[k], k) if k in fields else () for k in _KEYS - {"match"}}
        if not any(lists.values()):
            raise self.fail(
                node, "an owners entry needs at least one of users:, emails:, channels:"
            )
        self.check_addresses(fields.get("emails"), lists["emails"])
        return Owner(
            match=self.owner_match(fields["match"]), line=node.start_mark.line + 1,
            users=lists["users"], emails=lists["emails"], channels=lists["channels"],
        )  # fmt: skip

    def owner_match(self, node: yaml.Node) -> tuple[Filter, ...]:
        texts = self.scalars(node, "match")
        if texts == (CATCH_ALL,):
            return ()
        filters = []
        for text in texts:
            try:
                filters.append(parse_filter(text))
            except QueryError as error:
                raise self.fail(node, f"match {text!r}: {error.message}") from error
        return tuple(filters)

    def check_addresses(self, node: yaml.Node | None, emails: Sequence[str]) -> None:
        for email in emails:
            if "@" not in email.strip("@") or " " in email:
                raise self.fail(node, f"{email!r} is not an e-mail address (name@domain)")
