"""The tag policy: which tags each charge must carry, with which values, kept beside the ledger.

A policy file (YAML, kept in git like the allocation rules)::

    owner: Owner                      # the tag naming a resource's owner (default: Owner)
    taggable:                         # which rows are taggable cost (default: a ResourceId)
      ResourceId: {is: not null}
    required:
      - keys: [Owner, CostCenter, Environment]        # required on every taggable row
      - scope: {SubAccountName: {like: "prod-%"}}     # and these where the scope holds
        keys: [DataClassification]
    allowed:
      Environment: [prod, staging, dev]               # values, trimmed, without regard to case
      CostCenter: {pattern: "^cc-[0-9]{4}$"}          # or a regular expression (RE2)

``taggable`` and ``scope`` are ``match:`` maps of the rules language
(:mod:`costprism.allocation.rules`): a key is a FOCUS column or ``tag:KEY``, a list of values
is ORed, the keys of one map are ANDed; ``{like: P}``, ``{not: [..]}``, ``{is: null}`` and
``{is: not null}`` are the other forms; tag values there compare trimmed and without regard
to case. Tag keys everywhere compare like ``tag:KEY`` does: without regard to case, ``-``
and ``_`` (``CostCenter``, ``cost-center`` and ``cost_center`` are one key).

The active policy is ``<ledger>/tag_policy/policy.yaml`` (:func:`save_policy` writes it,
whole or not at all; :func:`saved_policy` reads it). Every error names the file, line and
column of the offending YAML node and how to fix it.
"""

from __future__ import annotations

import hashlib
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from costprism.allocation.rules import YamlParser, compose, read_text
from costprism.engine.filters import Filter, normalize_tag_key
from costprism.focus import LEDGER_SCHEMA

FOLDER = "tag_policy"
FILE = "policy.yaml"
DEFAULT_OWNER = "Owner"
DEFAULT_TAGGABLE: tuple[Filter, ...] = (Filter(column="ResourceId", op="is not null"),)
_SECTIONS = ("owner", "taggable", "required", "allowed")
_FOCUS = frozenset(LEDGER_SCHEMA.names)
_KEY = re.compile(r"^[^\x00-\x1f]{1,128}$")
_NOT_RE2 = re.compile(r"\(\?<?[=!]|\\[1-9]")  # look-arounds and back-references


@dataclass(frozen=True, kw_only=True)
class Requirement:
    """Tag ``keys`` every taggable row must carry where ``scope`` holds (always, if empty)."""

    keys: tuple[str, ...]
    scope: tuple[Filter, ...] = ()
    line: int = 0

    def record(self) -> dict[str, Any]:
        return {"keys": list(self.keys), "scope": [str(f) for f in self.scope]}


@dataclass(frozen=True, kw_only=True)
class AllowedValues:
    """The values tag ``key`` may hold: one of ``values`` (lower-cased, trimmed) or, with a
    ``pattern``, a value the regular expression finds a match in (trimmed, case as is)."""

    key: str
    values: tuple[str, ...] = ()
    pattern: str | None = None
    line: int = 0

    def record(self) -> dict[str, Any]:
        if self.pattern is not None:
            return {"pattern": self.pattern}
        return {"values": list(self.values)}


@dataclass(frozen=True, kw_only=True)
class TagPolicy:
    """A parsed, checked tag policy and the text it came from."""

    taggable: tuple[Filter, ...]
    required: tuple[Requirement, ...]
    allowed: tuple[AllowedValues, ...] = ()
    owner: str = DEFAULT_OWNER
    text: str = ""

    @property
    def digest(self) -> str:
        """A short fingerprint of the policy's text (the same text, the same digest)."""
        return hashlib.sha256(self.text.encode()).hexdigest()[:12]

    @property
    def keys(self) -> tuple[str, ...]:
        """Every key the policy checks (required or with allowed values), once each by its
        normalized form, spelled as first written, in the file's order."""
        found: dict[str, str] = {}
        for key in (*(k for r in self.required for k in r.keys), *(a.key for a in self.allowed)):
            found.setdefault(normalize_tag_key(key), key)
        return tuple(found.values())

    def allowed_for(self, key: str) -> AllowedValues | None:
        wanted = normalize_tag_key(key)
        return next((a for a in self.allowed if normalize_tag_key(a.key) == wanted), None)

    def record(self) -> dict[str, Any]:
        return {
            "digest": self.digest,
            "owner": self.owner,
            "taggable": [str(f) for f in self.taggable],
            "required": [r.record() for r in self.required],
            "allowed": {a.key: a.record() for a in self.allowed},
        }


def load_policy(path: Path) -> TagPolicy:
    """Read and check a policy file; an :class:`InputError` names file, line and fix."""
    return parse_policy(read_text(path, "tag policy file", "tags.bad_file"), str(path))


def parse_policy(text: str, name: str = "<tag policy>") -> TagPolicy:
    """Parse tag policy YAML (``name`` is used in messages)."""
    return _PolicyParser(name).policy(compose(text, name, "tags.bad_yaml"), text)


def policy_path(ledger_root: Path) -> Path:
    """Where the active policy of the ledger at ``ledger_root`` is kept."""
    return ledger_root / FOLDER / FILE


def save_policy(ledger_root: Path, policy: TagPolicy) -> Path:
    """Make ``policy`` the active one: its text written beside, then renamed over, the old."""
    path = policy_path(ledger_root)
    path.parent.mkdir(parents=True, exist_ok=True)
    scratch = path.with_name(f".{FILE}.{os.getpid()}")
    scratch.write_text(policy.text, encoding="utf-8")
    os.replace(scratch, path)
    return path


def saved_policy(ledger_root: Path) -> TagPolicy | None:
    """The active policy, None when none was ever applied."""
    path = policy_path(ledger_root)
    if not path.exists():
        return None
    return load_policy(path)


class _PolicyParser(YamlParser):
    """The rules parser's YAML helpers (mapping, scalars, match conditions), policy codes."""

    code = "tags.invalid"

    def policy(self, root: yaml.Node | None, text: str) -> TagPolicy:
        if root is None:
            raise self.fail(None, "the tag policy is empty; it needs required: (see the how-to)")
        top = self.mapping(root, "the tag policy")
        self.only(top, set(_SECTIONS), "the tag policy")
        if "required" not in top:
            raise self.fail(root, "required: is missing; list the keys, e.g. - keys: [Owner]")
        owner = self.tag_key(top["owner"], "owner:") if "owner" in top else DEFAULT_OWNER
        taggable = DEFAULT_TAGGABLE
        if "taggable" in top:
            taggable = self.conditions(top["taggable"], "taggable:")
        return TagPolicy(
            taggable=taggable,
            required=self.requirements(top["required"]),
            allowed=self.allowed(top["allowed"]) if "allowed" in top else (),
            owner=owner,
            text=text,
        )

    def conditions(self, node: yaml.Node, what: str) -> tuple[Filter, ...]:
        """A ``match:``-style map on FOCUS columns and tags (empty: every row)."""
        filters = []
        for column, value in self.mapping(node, what).items():
            if column not in _FOCUS and not (column.startswith("tag:") and len(column) > 4):
                raise self.fail(node, f"{what} names {column!r}, not a FOCUS column or tag:KEY")
            filters.append(self.condition(column, value, what))
        return tuple(filters)

    def requirements(self, node: yaml.Node) -> tuple[Requirement, ...]:
        if not isinstance(node, yaml.SequenceNode) or not node.value:
            raise self.fail(node, "required: must be a list of entries (- keys: [Owner, …])")
        found = []
        for item in node.value:
            entry = self.mapping(item, "an entry of required:")
            self.only(entry, {"keys", "scope"}, "an entry of required:")
            if "keys" not in entry:
                raise self.fail(item, "an entry of required: needs keys: [KEY, …]")
            keys = self.tag_keys(entry["keys"])
            scope = self.conditions(entry["scope"], "scope:") if "scope" in entry else ()
            if "scope" in entry and not scope:
                raise self.fail(entry["scope"], "scope: is empty; leave it out to mean everywhere")
            found.append(Requirement(keys=keys, scope=scope, line=item.start_mark.line + 1))
        return tuple(found)

    def tag_keys(self, node: yaml.Node) -> tuple[str, ...]:
        items = list(node.value) if isinstance(node, yaml.SequenceNode) else [node]
        keys = self.scalars(node, "a required tag key")
        seen: set[str] = set()
        for item, key in zip(items, keys, strict=True):
            self.tag_key(item, "a required tag key")
            if normalize_tag_key(key) in seen:
                raise self.fail(
                    item, f"{key!r} is listed twice (keys compare ignoring case, - and _)"
                )
            seen.add(normalize_tag_key(key))
        return keys

    def tag_key(self, node: yaml.Node, what: str) -> str:
        key = self.scalar(node, what)
        if key.startswith("tag:"):
            raise self.fail(node, f"{what} {key!r}: write keys without tag:, e.g. {key[4:]!r}")
        if not _KEY.match(key) or not normalize_tag_key(key).strip():
            raise self.fail(node, f"{what} {key!r} is not a tag key (1-128 printable characters)")
        return key

    def allowed(self, node: yaml.Node) -> tuple[AllowedValues, ...]:
        found: dict[str, AllowedValues] = {}
        if not isinstance(node, yaml.MappingNode):
            raise self.fail(node, "allowed: must map tag keys to values or {pattern: REGEX}")
        for key_node, value in node.value:
            key = self.tag_key(key_node, "a key of allowed:")
            if normalize_tag_key(key) in found:
                raise self.fail(
                    key_node,
                    f"allowed: names {key!r} twice (keys compare ignoring case, - and _)",
                )
            line = key_node.start_mark.line + 1
            if isinstance(value, yaml.MappingNode):
                pattern = self.pattern(value, key)
                found[normalize_tag_key(key)] = AllowedValues(key=key, pattern=pattern, line=line)
            else:
                values = self.scalars(value, f"an allowed value of {key}")
                folded = tuple(dict.fromkeys(v.strip().lower() for v in values))
                found[normalize_tag_key(key)] = AllowedValues(key=key, values=folded, line=line)
        return tuple(found.values())

    def pattern(self, node: yaml.Node, key: str) -> str:
        form = self.mapping(node, f"the allowed values of {key}")
        self.only(form, {"pattern"}, f"the allowed values of {key}")
        if "pattern" not in form:
            raise self.fail(node, f"give {key} a list of values or {{pattern: REGEX}}")
        pattern = self.scalar(form["pattern"], f"the pattern of {key}")
        try:
            re.compile(pattern)
        except re.error as error:
            raise self.fail(
                form["pattern"], f"the pattern of {key} is not a regular expression ({error})"
            ) from None
        if _NOT_RE2.search(pattern):
            raise self.fail(
                form["pattern"],
                f"the pattern of {key} uses a look-around or back-reference, which the engines "
                "(RE2) do not run; write it without",
            )
        return pattern
