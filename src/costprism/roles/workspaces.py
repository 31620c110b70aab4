"""What each role's home page shows, as data: a title, a purpose and a list of panels.

A workspace names panels by *kind*; the numbers behind each kind are computed by the
builder registered for it in :mod:`costprism.capabilities.home` and drawn by the partial
``web/templates/panels/<kind>.html``. A later issue adds a panel kind by registering one
builder, adding one partial and naming the kind here; nothing else changes.

The kinds built today (every workspace uses only these, a test checks it):

``spend-summary``
    this month vs the month before, per currency, in the caller's scope
``trend``
    monthly spend over the last 13 months, stacked by ``dimension``
``top``
    the largest ``dimension`` values this month, with last month beside them
``freshness``
    the newest import per source and the newest charge date
``allocation``
    allocation KPIs this month, per currency: % allocated, % unallocated shared cost and
    apportionment validation (Σ allocated parts / ledger = 100 %), under the rules in force
``tag-compliance``
    % untagged and % tag-policy compliant of this month's taggable cost, per currency,
    with last month beside them (only once a tag policy is set)
``budgets``
    the budgets the caller sees (their scope inside the caller's) in their current
    period: available, actual, forecast, variance, status; the most urgent first

Purposes are the "responsibilities" column of the role table in the product description
(``shared/docs/product.md``), shortened to one line.
"""

from __future__ import annotations

from dataclasses import dataclass

from costprism.engine.query import Basis

TREND_MONTHS = 13


@dataclass(frozen=True, kw_only=True)
class PanelSpec:
    """One panel of a home page: its kind, its heading and what it groups by."""

    kind: str
    title: str
    dimension: str | None = None  # a FOCUS column or tag:KEY, for trend and top panels
    limit: int = 8  # list length (top) or stacked series before "(other)" (trend)

    @property
    def key(self) -> str:
        """Unique on a page: ``top:ServiceName``, ``trend:tag:CostCenter``, ``freshness``."""
        return f"{self.kind}:{self.dimension}" if self.dimension else self.kind


@dataclass(frozen=True, kw_only=True)
class Workspace:
    """A role's home page: what it is for and the panels it shows, in order."""

    role: str
    title: str
    purpose: str
    basis: Basis = "effective"
    panels: tuple[PanelSpec, ...]


def _summary() -> PanelSpec:
    return PanelSpec(kind="spend-summary", title="This month vs last month")


def _trend(dimension: str, label: str) -> PanelSpec:
    return PanelSpec(kind="trend", title=f"Monthly spend by {label}", dimension=dimension, limit=8)


def _top(dimension: str, label: str, limit: int = 8) -> PanelSpec:
    return PanelSpec(kind="top", title=f"Top {label} this month", dimension=dimension, limit=limit)


def _allocation() -> PanelSpec:
    return PanelSpec(kind="allocation", title="Allocation this month")


def _tag_compliance() -> PanelSpec:
    return PanelSpec(kind="tag-compliance", title="Tag policy compliance")


def _budgets() -> PanelSpec:
    return PanelSpec(kind="budgets", title="Budgets", limit=8)


def _freshness() -> PanelSpec:
    return PanelSpec(kind="freshness", title="Data freshness")


def _workspace(
    role: str, title: str, purpose: str, *panels: PanelSpec, basis: Basis = "effective"
) -> Workspace:
    return Workspace(role=role, title=title, purpose=purpose, basis=basis, panels=panels)


WORKSPACES: dict[str, Workspace] = {
    w.role: w
    for w in (
        _workspace(
            "practitioner",
            "FinOps practitioner",
            "Technical and analytical work: cost management and optimization, allocation and "
            "data quality, in collaboration with every other role.",
            _summary(),
            _trend("ServiceCategory", "service category"),
            _top("ServiceName", "services"),
            _top("SubAccountName", "sub-accounts"),
            _top("tag:team", "teams"),
            _allocation(),
            _tag_compliance(),
            _freshness(),
        ),
        _workspace(
            "management",
            "Management",
            "Strategic planning, decision-making and prioritization: where the money goes "
            "and how it moves.",
            _summary(),
            _trend("ProviderName", "provider"),
            _top("ProviderName", "providers"),
            _top("tag:product", "products"),
            _budgets(),
            _freshness(),
        ),
        _workspace(
            "product",
            "Product",
            "Strategic alignment and value delivery: what each product costs to run.",
            _summary(),
            _trend("tag:product", "product"),
            _top("tag:product", "products"),
            _top("ServiceName", "services"),
            _budgets(),
            _freshness(),
        ),
        _workspace(
            "engineering",
            "Engineering",
            "Infrastructure management, deployment and resource optimization: the services "
            "and places your team's spend runs on.",
            _summary(),
            _trend("ServiceName", "service"),
            _top("ServiceName", "services"),
            _top("RegionId", "regions"),
            _top("SubAccountName", "sub-accounts"),
            _budgets(),
            _freshness(),
        ),
        _workspace(
            "finance",
            "Finance",
            "Budgeting and forecasting, cost allocation analysis, financial reporting and "
            "invoice reconciliation, on billed (invoiced) cost.",
            _summary(),
            _trend("tag:CostCenter", "cost center"),
            _top("tag:CostCenter", "cost centers"),
            _top("BillingAccountName", "billing accounts"),
            _top("ChargeCategory", "charge categories"),
            _allocation(),
            _tag_compliance(),
            _budgets(),
            _freshness(),
            basis="billed",
        ),
        _workspace(
            "procurement",
            "Procurement",
            "Vendor risk, contract management and discount management: who is paid, and at "
            "which rates.",
            _summary(),
            _trend("PricingCategory", "pricing category"),
            _top("PublisherName", "publishers"),
            _top("ChargeCategory", "charge categories"),
            _top("CommitmentDiscountType", "commitment discount types"),
            _freshness(),
        ),
        _workspace(
            "itsm",
            "ITSM / ITIL",
            "Service design, service operation and service-level management: what each "
            "service costs.",
            _summary(),
            _trend("ServiceCategory", "service category"),
            _top("ServiceName", "services"),
            _top("tag:product", "business services (product tag)"),
            _freshness(),
        ),
        _workspace(
            "itam",
            "ITAM",
            "Asset inventory, asset audit and license management: what is running, where, "
            "and from whom.",
            _summary(),
            _trend("ResourceType", "resource type"),
            _top("ResourceType", "resource types"),
            _top("PublisherName", "publishers"),
            _top("SubAccountName", "sub-accounts"),
            _freshness(),
        ),
        _workspace(
            "sustainability",
            "Sustainability",
            "Sustainable usage, waste reduction and efficiency analysis: where workloads run "
            "and what kind they are.",
            _summary(),
            _trend("RegionId", "region"),
            _top("RegionId", "regions"),
            _top("ServiceCategory", "service categories"),
            _freshness(),
        ),
        _workspace(
            "security",
            "Security",
            "Monitoring, anomaly investigation and policy compliance: spend by place and "
            "account, where surprises show first.",
            _summary(),
            _trend("RegionId", "region"),
            _top("RegionId", "regions"),
            _top("SubAccountName", "sub-accounts"),
            _top("ServiceName", "services"),
            _freshness(),
        ),
        _workspace(
            "itfm",
            "ITFM / TBM",
            "Budgeting, cost accounting and financial analysis of IT: spend by cost pool "
            "and business unit.",
            _summary(),
            _trend("ServiceCategory", "service category"),
            _top("tag:CostCenter", "cost centers"),
            _top("ServiceCategory", "service categories"),
            _top("BillingAccountName", "billing accounts"),
            _freshness(),
        ),
        _workspace(
            "admin",
            "Administrator",
            "Users, roles, scopes and tokens: what the ledger holds and how fresh it is.",
            _summary(),
            _trend("ProviderName", "provider"),
            _top("ProviderName", "providers"),
            _freshness(),
        ),
    )
}
