"""Tag policy compliance as Ibis expressions: per ledger row, is it taggable cost, untagged,
compliant; summed per month and currency, and the largest non-compliant resources.

Definitions (per row; a tag's value is read trimmed, an empty value counts as absent):

- **taggable**: every condition of the policy's ``taggable`` holds (default: the row has a
  ``ResourceId``).
- a key is **required** on a row when a ``required`` entry lists it and that entry's
  ``scope`` holds for the row (an entry without ``scope`` holds everywhere).
- a key is **missing** on a taggable row when it is required there and absent; it is
  **invalid** when it is present and ``allowed`` constrains it to values it does not hold
  (lower-cased, in the list) or a pattern it does not match (the regular expression finds no
  match in the trimmed value), required there or not.
- **untagged**: taggable, at least one key required, and none of the required keys present.
- **compliant**: taggable, with no key missing and none invalid. (An untagged row is not
  compliant.)

Amounts are ``EffectiveCost``; row counts count ledger rows (``x_RowId``), so a row split
by allocation counts once. Rows come through :func:`~costprism.engine.rollups.row_source`
and :func:`~costprism.engine.query.restrict`: the scope is applied here, by the engine.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

import ibis
import ibis.expr.types as ir

from costprism.allocation.rules import RuleSet
from costprism.allocation.tag_policy import TagPolicy
from costprism.engine.allocation import condition_expression
from costprism.engine.backends import LedgerView
from costprism.engine.filters import Filter, normalize_tag_key
from costprism.engine.query import CostQuery, cost_rows_in_range, restrict, tag_value
from costprism.engine.rollups import row_source

COST = "EffectiveCost"
TAGGABLE = "x_Taggable"
UNTAGGED = "x_Untagged"
COMPLIANT = "x_Compliant"
OWNER_TAG = "x_OwnerTag"
_NO_RULES = RuleSet(dimensions=(), rules=(), shared=())  # tag conditions without aliases


@dataclass(frozen=True, kw_only=True)
class KeyCheck:
    """The columns :func:`tag_status` adds for one policy key."""

    key: str
    value: str  # the trimmed value, null when absent
    missing: str  # required on this taggable row and absent
    invalid: str  # present with a value the policy does not allow


def key_checks(policy: TagPolicy) -> tuple[KeyCheck, ...]:
    return tuple(
        KeyCheck(key=key, value=f"x_TagValue{i}", missing=f"x_Missing{i}", invalid=f"x_Invalid{i}")
        for i, key in enumerate(policy.keys)
    )


def compliance_rows(
    view: LedgerView,
    policy: TagPolicy,
    scope: Sequence[Filter] = (),
    *,
    start: date | None = None,
    end: date | None = None,
) -> ir.Table:
    """The ledger rows ``scope`` allows, charged in ``[start, end)``, with :func:`tag_status`."""
    rows = restrict(row_source(view, scope), scope)
    rows = cost_rows_in_range(rows, CostQuery(start=start, end=end, granularity="total"))
    return tag_status(rows, policy)


def tag_status(rows: ir.Table, policy: TagPolicy) -> ir.Table:
    """``rows`` with ``x_Taggable``, ``x_Untagged``, ``x_Compliant``, ``x_OwnerTag`` (the owner
    tag's trimmed value) and, per :func:`key_checks`, the value, missing and invalid columns."""
    checks = key_checks(policy)
    owner = normalize_tag_key(policy.owner)
    values = {c.value: _trimmed(tag_value(rows, c.key)) for c in checks}
    owner_column = next((c.value for c in checks if normalize_tag_key(c.key) == owner), None)
    scopes = {f"x_Scope{j}": _holds(rows, r.scope) for j, r in enumerate(policy.required)}
    read = rows.mutate(
        **values,
        **scopes,
        **{TAGGABLE: _holds(rows, policy.taggable)},
        **({} if owner_column else {OWNER_TAG: _trimmed(tag_value(rows, policy.owner))}),
    )
    if owner_column:
        read = read.mutate(**{OWNER_TAG: read[owner_column]})
    taggable = read[TAGGABLE]
    required = {c.key: _required(read, policy, c.key) for c in checks}
    present = {c.key: read[c.value].notnull() for c in checks}
    missing = {c.missing: taggable & required[c.key] & ~present[c.key] for c in checks}
    invalid = {c.invalid: taggable & _invalid(read, policy, c) for c in checks}
    any_required = _any(list(required.values()))
    any_present = _any([required[c.key] & present[c.key] for c in checks])
    flagged = read.mutate(**missing, **invalid)
    problems = _any([flagged[name] for name in (*missing, *invalid)])
    return flagged.mutate(
        **{
            UNTAGGED: flagged[TAGGABLE] & any_required & ~any_present,
            COMPLIANT: flagged[TAGGABLE] & ~problems,
        }
    ).drop(*scopes)


def monthly_compliance(status: ir.Table) -> ir.Table:
    """Per month (of ``ChargePeriodStart``) and ``BillingCurrency``: ``total_cost``,
    ``taggable_cost``, ``untagged_cost``, ``compliant_cost`` and the matching row counts
    ``rows``, ``taggable_rows``, ``untagged_rows``, ``compliant_rows``."""
    dated = status.mutate(month=status["ChargePeriodStart"].truncate("M").date())
    cost, row = dated[COST], dated["x_RowId"]
    flags = {
        "taggable": dated[TAGGABLE],
        "untagged": dated[UNTAGGED],
        "compliant": dated[COMPLIANT],
    }
    return (
        dated.group_by(["month", "BillingCurrency"])
        .aggregate(
            total_cost=cost.sum(),
            **{f"{name}_cost": cost.sum(where=flag).fill_null(0) for name, flag in flags.items()},
            rows=row.nunique(),
            **{f"{name}_rows": row.nunique(where=flag) for name, flag in flags.items()},
        )
        .order_by(["month", "BillingCurrency"])
    )


def noncompliant_resources(status: ir.Table, policy: TagPolicy, top: int) -> ir.Table:
    """The ``top`` resources with the most non-compliant taggable cost, per currency:
    ``BillingCurrency``, ``ResourceId``, ``ResourceName``, ``SubAccountName``, ``owner``
    (the owner tag, else the sub-account), ``owner_source`` (``tag`` or ``sub-account``),
    ``cost``, ``rows`` and, per :func:`key_checks`, whether any row missed or had an invalid
    value of that key. Rows without a ``ResourceId`` (when ``taggable`` lets them in) are
    one group with a null ``ResourceId``."""
    checks = key_checks(policy)
    bad = status.filter(status[TAGGABLE] & ~status[COMPLIANT])
    grouped = bad.group_by(["BillingCurrency", "ResourceId"]).aggregate(
        cost=bad[COST].sum(),
        rows=bad["x_RowId"].nunique(),
        ResourceName=bad["ResourceName"].max(),
        SubAccountName=bad["SubAccountName"].max(),
        owner_tag=bad[OWNER_TAG].max(),
        **{c.missing: bad[c.missing].any() for c in checks},
        **{c.invalid: bad[c.invalid].any() for c in checks},
    )
    ranked = grouped.mutate(
        rank=ibis.row_number().over(
            group_by=grouped["BillingCurrency"],
            order_by=[ibis.desc(grouped["cost"]), ibis.asc(grouped["ResourceId"])],
        ),
        owner=ibis.coalesce(grouped["owner_tag"], grouped["SubAccountName"]),
        owner_source=ibis.cases(
            (grouped["owner_tag"].notnull(), "tag"),
            (grouped["SubAccountName"].notnull(), "sub-account"),
            else_=None,
        ),
    )
    kept = ranked.filter(ranked["rank"] < top).drop("rank", "owner_tag")
    return kept.order_by(["BillingCurrency", ibis.desc("cost"), "ResourceId"])


def _trimmed(value: ir.Value) -> ir.StringValue:
    return value.cast("string").strip().nullif("")


def _holds(rows: ir.Table, conditions: Sequence[Filter]) -> ir.BooleanValue:
    """Whether every condition holds (null counts as not), tags compared as in the rules."""
    if not conditions:
        return ibis.literal(True)
    parts = [condition_expression(rows, c, _NO_RULES) for c in conditions]
    return ibis.and_(*parts).fill_null(False)


def _required(read: ir.Table, policy: TagPolicy, key: str) -> ir.BooleanValue:
    wanted = normalize_tag_key(key)
    holding = [
        read[f"x_Scope{j}"]
        for j, requirement in enumerate(policy.required)
        if wanted in {normalize_tag_key(k) for k in requirement.keys}
    ]
    return _any(holding)


def _invalid(read: ir.Table, policy: TagPolicy, check: KeyCheck) -> ir.BooleanValue:
    allowed = policy.allowed_for(check.key)
    value = read[check.value]
    if allowed is None:
        return ibis.literal(False)
    if allowed.pattern is not None:
        fits = value.re_search(allowed.pattern)
    else:
        fits = value.lower().isin(list(allowed.values))
    return (value.notnull() & ~fits).fill_null(False)


def _any(flags: Sequence[ir.BooleanValue]) -> ir.BooleanValue:
    return ibis.or_(*flags) if flags else ibis.literal(False)
