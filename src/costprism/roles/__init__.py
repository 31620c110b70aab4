"""The eleven FinOps roles plus ``admin``, the actions they may take, and the one resolver.

Actions are registered data (:data:`ACTIONS`), and every permission question goes through
:func:`authorize`, which answers allow or deny **with a reason**. Later capabilities
register their actions here and grant them to the roles they serve.
"""

from __future__ import annotations

from dataclasses import dataclass

from costprism.engine.filters import Filter


@dataclass(frozen=True, kw_only=True)
class Action:
    name: str
    description: str


@dataclass(frozen=True, kw_only=True)
class Role:
    name: str
    title: str
    responsibilities: str
    actions: frozenset[str]


@dataclass(frozen=True, kw_only=True)
class Principal:
    """Who is asking: a user's name, roles and scope (ANDed into every ledger query)."""

    user_id: int
    username: str
    roles: tuple[str, ...]
    scope: tuple[Filter, ...] = ()


@dataclass(frozen=True, kw_only=True)
class Decision:
    allowed: bool
    reason: str


ACTIONS: dict[str, Action] = {
    a.name: a
    for a in (
        Action(name="view-costs", description="read cost reports, charts and CSV downloads"),
        Action(name="view-rows", description="drill down from a figure to the ledger rows"),
        Action(name="view-sources", description="see data sources, versions and freshness"),
        Action(name="view-quarantine", description="read rows rejected by imports"),
        Action(name="manage-own-tokens", description="create and revoke one's own API tokens"),
        Action(name="manage-users", description="add, change and disable users and scopes"),
        Action(name="view-users", description="see users, their roles and scopes"),
        Action(name="view-audit", description="read the audit log"),
        Action(
            name="manage-budgets",
            description="create and change budgets (within one's scope) and release their holdback",
        ),
        Action(name="manage-rules", description="change allocation rules and tag policies"),
        Action(
            name="save-forecasts",
            description="save forecast versions (their accuracy and drift are KPIs)",
        ),
        Action(
            name="view-anomalies",
            description="see cost anomalies (within one's scope), their drivers and history",
        ),
        Action(
            name="triage-anomalies",
            description="acknowledge, resolve, mark expected or false positive, comment, assign",
        ),
        Action(
            name="view-alerts",
            description="see alert deliveries (what was sent to whom) and the alert channels",
        ),
    )
}

_EVERYONE = frozenset(
    {"view-costs", "view-rows", "view-sources", "manage-own-tokens", "view-anomalies"}
)


def _role(name: str, title: str, responsibilities: str, *extra: str) -> Role:
    return Role(
        name=name,
        title=title,
        responsibilities=responsibilities,
        actions=_EVERYONE | frozenset(extra),
    )


ROLES: dict[str, Role] = {
    r.name: r
    for r in (
        _role(
            "practitioner",
            "FinOps practitioner",
            "cost management and optimization, allocation, data quality",
            "view-quarantine",
            "manage-rules",
            "manage-budgets",
            "save-forecasts",
            "triage-anomalies",
        ),
        _role(
            "management",
            "Management",
            "strategy, prioritization, spend vs plan",
            "save-forecasts",
        ),
        _role(
            "product",
            "Product",
            "product showback, unit cost, value delivery",
            "save-forecasts",
            "triage-anomalies",
        ),
        _role(
            "engineering",
            "Engineering",
            "team resources, cost drivers, optimization",
            "save-forecasts",
            "triage-anomalies",
        ),
        _role(
            "finance",
            "Finance",
            "budgets, forecasts, allocation, reporting, invoices",
            "manage-budgets",
            "save-forecasts",
            "triage-anomalies",
        ),
        _role("procurement", "Procurement", "commitments, contracts, vendors, discounts"),
        _role("itsm", "ITSM / ITIL", "cost per business service, service levels, changes"),
        _role("itam", "ITAM", "cloud asset inventory, licenses, audits"),
        _role("sustainability", "Sustainability", "carbon footprint, waste, greener options"),
        _role(
            "security",
            "Security",
            "anomaly investigation, access review, audit",
            "view-audit",
            "view-users",
            "triage-anomalies",
        ),
        _role("itfm", "ITFM / TBM", "TBM towers, IT P&L, investment cases", "save-forecasts"),
        Role(
            name="admin",
            title="Administrator",
            responsibilities="users, roles, scopes and tokens",
            actions=frozenset(ACTIONS),
        ),
    )
}


def authorize(principal: Principal, action: str) -> Decision:
    """Whether ``principal`` may take ``action``, and why."""
    if action not in ACTIONS:
        return Decision(allowed=False, reason=f"action {action!r} is not registered")
    granting = [r for r in principal.roles if r in ROLES and action in ROLES[r].actions]
    if granting:
        return Decision(allowed=True, reason=f"role {granting[0]} grants {action}")
    held = ", ".join(principal.roles) or "no role"
    givers = ", ".join(r.name for r in ROLES.values() if action in r.actions)
    return Decision(
        allowed=False,
        reason=f"{action} needs one of the roles {givers}; {principal.username} has {held}",
    )
