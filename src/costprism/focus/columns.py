"""FOCUS column specifications: every column of FOCUS 1.0–1.3, with kind, type, level and history.

One :class:`ColumnSpec` per column, as the newest spec that has the column defines it
(FOCUS 1.2 for the first 57 columns, 1.3 for the rest). Which columns a version has is
derived from ``introduced``: the 1.0 Cost and Usage dataset is every column introduced in
0.5, 1.0-preview or 1.0 (43), 1.1 adds 7 (50), 1.2 adds 7 (57), 1.3 adds 8 (65).
ProviderName and PublisherName stay in 1.3, marked ``deprecated_in="1.3"``.

Table-versus-text choices (see ``docs/research/focus-spec.md`` §3 notes): ``nullable`` follows
each column's "Allows nulls" constraint, so ChargeFrequency and ServiceSubcategory are not
nullable, while PricingCurrency and PricingCurrencyEffectiveCost are nullable (as the 1.2 table
says) although their normative text forbids nulls where the column applies.

This module is pure data: no I/O.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Literal

import pyarrow as pa

FocusType = Literal["string", "decimal", "datetime", "key_value", "json"]
Level = Literal["mandatory", "conditional", "recommended"]
Kind = Literal["dimension", "metric"]
Dataset = Literal["cost_and_usage", "contract_commitment"]

FOCUS_VERSIONS: tuple[str, ...] = ("1.0", "1.1", "1.2", "1.3")
DATASETS: tuple[Dataset, ...] = ("cost_and_usage", "contract_commitment")

# Every release a column can date from, oldest first; only FOCUS_VERSIONS are datasets.
_RELEASES: tuple[str, ...] = ("0.5", "1.0-preview", *FOCUS_VERSIONS)

DECIMAL_TYPE = pa.decimal128(38, 12)
_ARROW_TYPES: Mapping[FocusType, pa.DataType] = MappingProxyType(
    {
        "string": pa.string(),
        "decimal": DECIMAL_TYPE,
        "datetime": pa.timestamp("us", tz="UTC"),
        "key_value": pa.map_(pa.string(), pa.string()),
        "json": pa.string(),
    }
)


class FocusLookupError(KeyError, ValueError):
    """An unknown FOCUS version, dataset or column name.

    Both a ``KeyError`` (it is a failed lookup) and a ``ValueError`` (the caller passed a bad
    value), so either ``except`` catches it.
    """

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


def release_rank(release: str) -> int:
    """Position of a FOCUS release ("0.5" … "1.3") in release order, oldest = 0."""
    try:
        return _RELEASES.index(release)
    except ValueError:
        raise FocusLookupError(
            f"FOCUS release {release!r} is unknown; known releases are {', '.join(_RELEASES)}"
        ) from None


@dataclass(frozen=True, kw_only=True)
class ColumnSpec:
    """One FOCUS column: its verbatim name and the constraints the spec gives it."""

    name: str
    kind: Kind
    focus_type: FocusType
    level: Level
    nullable: bool
    introduced: str
    deprecated_in: str | None = None
    previous_names: tuple[str, ...] = ()
    allowed_values: tuple[str, ...] | None = None

    def __post_init__(self) -> None:
        release_rank(self.introduced)
        if self.deprecated_in is not None:
            release_rank(self.deprecated_in)

    @property
    def arrow_type(self) -> pa.DataType:
        """The Arrow type the ledger stores this column as."""
        return _ARROW_TYPES[self.focus_type]

    def present_in(self, version: str) -> bool:
        """Whether the column exists in FOCUS ``version`` (deprecated columns still do)."""
        return release_rank(self.introduced) <= release_rank(version)


# --- allowed values (FOCUS 1.2 §5; identical in the 1.4 data model) -------------------------

_SERVICE_SUBCATEGORIES: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {
        "AI and Machine Learning": (
            "AI Platforms",
            "Bots",
            "Generative AI",
            "Machine Learning",
            "Natural Language Processing",
        ),
        "Analytics": (
            "Analytics Platforms",
            "Business Intelligence",
            "Data Processing",
            "Search",
            "Streaming Analytics",
        ),
        "Business Applications": ("Productivity and Collaboration",),
        "Compute": (
            "Containers",
            "End User Computing",
            "Quantum Compute",
            "Serverless Compute",
            "Virtual Machines",
        ),
        "Databases": (
            "Caching",
            "Data Warehouses",
            "Ledger Databases",
            "NoSQL Databases",
            "Relational Databases",
            "Time Series Databases",
        ),
        "Developer Tools": (
            "Developer Platforms",
            "Continuous Integration and Deployment",
            "Development Environments",
            "Source Code Management",
            "Quality Assurance",
        ),
        "Multicloud": ("Multicloud Integration",),
        "Identity": ("Identity and Access Management",),
        "Integration": ("API Management", "Messaging", "Workflow Orchestration"),
        "Internet of Things": ("IoT Analytics", "IoT Platforms"),
        "Management and Governance": (
            "Architecture",
            "Compliance",
            "Cost Management",
            "Data Governance",
            "Disaster Recovery",
            "Endpoint Management",
            "Observability",
            "Support",
        ),
        "Media": ("Content Creation", "Gaming", "Media Streaming", "Mixed Reality"),
        "Migration": ("Data Migration", "Resource Migration"),
        "Mobile": (),
        "Networking": (
            "Application Networking",
            "Content Delivery",
            "Network Connectivity",
            "Network Infrastructure",
            "Network Routing",
            "Network Security",
        ),
        "Security": (
            "Secret Management",
            "Security Posture Management",
            "Threat Detection and Response",
        ),
        "Storage": (
            "Backup Storage",
            "Block Storage",
            "File Storage",
            "Object Storage",
            "Storage Platforms",
        ),
        "Web": ("Application Platforms",),
        "Other": (),
    }
)

SERVICE_SUBCATEGORY_PARENT: Mapping[str, str] = MappingProxyType(
    {
        sub: category
        for category, subs in _SERVICE_SUBCATEGORIES.items()
        for sub in (*subs, f"Other ({category})")
    }
)
"""ServiceSubcategory value -> its one parent ServiceCategory (82 entries)."""

_SERVICE_CATEGORY_VALUES = tuple(_SERVICE_SUBCATEGORIES)
_SERVICE_SUBCATEGORY_VALUES = tuple(SERVICE_SUBCATEGORY_PARENT)
_USED_UNUSED = ("Used", "Unused")
_SPEND_USAGE = ("Spend", "Usage")


# --- the Cost and Usage dataset ---------------------------------------------------------------


def _dim(
    name: str,
    level: Level,
    *,
    nullable: bool,
    since: str,
    focus_type: FocusType = "string",
    previous: tuple[str, ...] = (),
    allowed: tuple[str, ...] | None = None,
    deprecated_in: str | None = None,
) -> ColumnSpec:
    return ColumnSpec(
        name=name,
        kind="dimension",
        focus_type=focus_type,
        level=level,
        nullable=nullable,
        introduced=since,
        deprecated_in=deprecated_in,
        previous_names=previous,
        allowed_values=allowed,
    )


def _metric(
    name: str, level: Level, *, nullable: bool, since: str, previous: tuple[str, ...] = ()
) -> ColumnSpec:
    return ColumnSpec(
        name=name,
        kind="metric",
        focus_type="decimal",
        level=level,
        nullable=nullable,
        introduced=since,
        previous_names=previous,
    )


_M: Level = "mandatory"
_C: Level = "conditional"
_R: Level = "recommended"

_COST_AND_USAGE: tuple[ColumnSpec, ...] = (
    _dim("AllocatedMethodDetails", _R, nullable=True, since="1.3", focus_type="json"),
    _dim("AllocatedMethodId", _C, nullable=True, since="1.3"),
    _dim("AllocatedResourceId", _C, nullable=True, since="1.3"),
    _dim("AllocatedResourceName", _C, nullable=True, since="1.3"),
    _dim("AllocatedTags", _C, nullable=True, since="1.3", focus_type="key_value"),
    _dim("AvailabilityZone", _R, nullable=True, since="0.5"),
    _metric("BilledCost", _M, nullable=False, since="0.5"),
    _dim("BillingAccountId", _M, nullable=False, since="0.5"),
    _dim("BillingAccountName", _M, nullable=True, since="0.5"),
    _dim("BillingAccountType", _C, nullable=False, since="1.2"),
    _dim("BillingCurrency", _M, nullable=False, since="0.5"),
    _dim("BillingPeriodEnd", _M, nullable=False, since="0.5", focus_type="datetime"),
    _dim("BillingPeriodStart", _M, nullable=False, since="0.5", focus_type="datetime"),
    _dim("CapacityReservationId", _C, nullable=True, since="1.1"),
    _dim("CapacityReservationStatus", _C, nullable=True, since="1.1", allowed=_USED_UNUSED),
    _dim(
        "ChargeCategory",
        _M,
        nullable=False,
        since="0.5",
        previous=("ChargeType",),
        allowed=("Usage", "Purchase", "Tax", "Credit", "Adjustment"),
    ),
    _dim("ChargeClass", _M, nullable=True, since="1.0", allowed=("Correction",)),
    _dim("ChargeDescription", _M, nullable=True, since="1.0-preview"),
    _dim(
        "ChargeFrequency",
        _R,
        nullable=False,
        since="1.0-preview",
        allowed=("One-Time", "Recurring", "Usage-Based"),
    ),
    _dim("ChargePeriodEnd", _M, nullable=False, since="0.5", focus_type="datetime"),
    _dim("ChargePeriodStart", _M, nullable=False, since="0.5", focus_type="datetime"),
    _dim(
        "CommitmentDiscountCategory", _C, nullable=True, since="1.0-preview", allowed=_SPEND_USAGE
    ),
    _dim("CommitmentDiscountId", _C, nullable=True, since="1.0-preview"),
    _dim("CommitmentDiscountName", _C, nullable=True, since="1.0-preview"),
    _metric("CommitmentDiscountQuantity", _C, nullable=True, since="1.1"),
    _dim("CommitmentDiscountStatus", _C, nullable=True, since="1.0", allowed=_USED_UNUSED),
    _dim("CommitmentDiscountType", _C, nullable=True, since="1.0-preview"),
    _dim("CommitmentDiscountUnit", _C, nullable=True, since="1.1"),
    _metric("ConsumedQuantity", _C, nullable=True, since="1.0", previous=("UsageQuantity",)),
    _dim("ConsumedUnit", _C, nullable=True, since="1.0", previous=("UsageUnit",)),
    _dim("ContractApplied", _C, nullable=True, since="1.3", focus_type="json"),
    _metric("ContractedCost", _M, nullable=False, since="1.0"),
    _metric("ContractedUnitPrice", _C, nullable=True, since="1.0"),
    _metric("EffectiveCost", _M, nullable=False, since="0.5", previous=("AmortizedCost",)),
    _dim("HostProviderName", _M, nullable=True, since="1.3"),
    _dim("InvoiceId", _R, nullable=True, since="1.2"),
    _dim("InvoiceIssuerName", _M, nullable=False, since="0.5"),
    _metric("ListCost", _M, nullable=False, since="1.0-preview"),
    _metric("ListUnitPrice", _C, nullable=True, since="1.0-preview"),
    _dim(
        "PricingCategory",
        _C,
        nullable=True,
        since="1.0-preview",
        allowed=("Standard", "Dynamic", "Committed", "Other"),
    ),
    _dim("PricingCurrency", _C, nullable=True, since="1.2"),
    _metric("PricingCurrencyContractedUnitPrice", _C, nullable=True, since="1.2"),
    _metric("PricingCurrencyEffectiveCost", _C, nullable=True, since="1.2"),
    _metric("PricingCurrencyListUnitPrice", _C, nullable=True, since="1.2"),
    _metric("PricingQuantity", _M, nullable=True, since="1.0-preview"),
    _dim("PricingUnit", _M, nullable=True, since="1.0-preview"),
    _dim("ProviderName", _M, nullable=False, since="0.5", deprecated_in="1.3"),
    _dim("PublisherName", _M, nullable=False, since="0.5", deprecated_in="1.3"),
    _dim("RegionId", _C, nullable=True, since="1.0", previous=("Region",)),
    _dim("RegionName", _C, nullable=True, since="1.0"),
    _dim("ResourceId", _C, nullable=True, since="0.5"),
    _dim("ResourceName", _C, nullable=True, since="0.5"),
    _dim("ResourceType", _C, nullable=True, since="1.0-preview"),
    _dim("ServiceCategory", _M, nullable=False, since="0.5", allowed=_SERVICE_CATEGORY_VALUES),
    _dim("ServiceName", _M, nullable=False, since="0.5"),
    _dim("ServiceProviderName", _M, nullable=False, since="1.3"),
    _dim(
        "ServiceSubcategory", _R, nullable=False, since="1.1", allowed=_SERVICE_SUBCATEGORY_VALUES
    ),
    _dim("SkuId", _C, nullable=True, since="1.0-preview"),
    _dim("SkuMeter", _C, nullable=True, since="1.1"),
    _dim("SkuPriceDetails", _C, nullable=True, since="1.1", focus_type="json"),
    _dim("SkuPriceId", _C, nullable=True, since="1.0-preview"),
    _dim("SubAccountId", _C, nullable=True, since="0.5"),
    _dim("SubAccountName", _C, nullable=True, since="0.5"),
    _dim("SubAccountType", _C, nullable=True, since="1.2"),
    _dim("Tags", _C, nullable=True, since="1.0-preview", focus_type="key_value"),
)


# --- the Contract Commitment dataset (FOCUS 1.3) ----------------------------------------------


def _contract(
    name: str, focus_type: FocusType = "string", *, mandatory: bool = False
) -> ColumnSpec:
    return ColumnSpec(
        name=name,
        kind="metric" if focus_type == "decimal" else "dimension",
        focus_type=focus_type,
        level=_M if mandatory else _C,
        nullable=not mandatory,
        introduced="1.3",
        allowed_values=_SPEND_USAGE if name == "ContractCommitmentCategory" else None,
    )


CONTRACT_COMMITMENT_COLUMNS: tuple[ColumnSpec, ...] = (
    _contract("BillingCurrency", mandatory=True),
    _contract("ContractCommitmentCategory", mandatory=True),
    _contract("ContractCommitmentCost", "decimal"),
    _contract("ContractCommitmentDescription"),
    _contract("ContractCommitmentId", mandatory=True),
    _contract("ContractCommitmentPeriodEnd", "datetime", mandatory=True),
    _contract("ContractCommitmentPeriodStart", "datetime", mandatory=True),
    _contract("ContractCommitmentQuantity", "decimal"),
    _contract("ContractCommitmentType"),
    _contract("ContractCommitmentUnit"),
    _contract("ContractId", mandatory=True),
    _contract("ContractPeriodEnd", "datetime"),
    _contract("ContractPeriodStart", "datetime"),
)
"""The FOCUS 1.3 Contract Commitment dataset: one row per contract commitment, 13 columns."""

_DATASET_COLUMNS: Mapping[str, tuple[ColumnSpec, ...]] = MappingProxyType(
    {"cost_and_usage": _COST_AND_USAGE, "contract_commitment": CONTRACT_COMMITMENT_COLUMNS}
)


# --- lookups ----------------------------------------------------------------------------------

RENAMES: Mapping[str, str] = MappingProxyType(
    {old: spec.name for spec in _COST_AND_USAGE for old in spec.previous_names}
)
"""Old FOCUS column name -> current name (ChargeType -> ChargeCategory, …)."""

ENUMS: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {
        spec.name: spec.allowed_values
        for spec in (*_COST_AND_USAGE, *CONTRACT_COMMITMENT_COLUMNS)
        if spec.allowed_values is not None
    }
)
"""Enumerated column -> its allowed values, spelled as the spec spells them."""

# Cost and Usage first, so a name in both datasets (BillingCurrency) resolves to it.
_BY_NAME: Mapping[str, ColumnSpec] = MappingProxyType(
    {spec.name: spec for spec in (*CONTRACT_COMMITMENT_COLUMNS, *_COST_AND_USAGE)}
)


def check_version(version: str) -> str:
    """Return ``version`` if it is one of FOCUS_VERSIONS, else raise FocusLookupError."""
    if version not in FOCUS_VERSIONS:
        raise FocusLookupError(
            f"FOCUS version {version!r} is not supported; use one of {', '.join(FOCUS_VERSIONS)}"
        )
    return version


def columns_for(version: str, dataset: str = "cost_and_usage") -> tuple[ColumnSpec, ...]:
    """The columns of ``dataset`` in FOCUS ``version``, in spec (alphabetical) order."""
    check_version(version)
    if dataset not in _DATASET_COLUMNS:
        raise FocusLookupError(
            f"FOCUS dataset {dataset!r} is unknown; use one of {', '.join(_DATASET_COLUMNS)}"
        )
    specs = tuple(spec for spec in _DATASET_COLUMNS[dataset] if spec.present_in(version))
    if not specs:
        raise FocusLookupError(
            f"FOCUS {version} has no {dataset!r} dataset; it was introduced in FOCUS 1.3"
        )
    return specs


def column(name: str) -> ColumnSpec:
    """The spec of the FOCUS column currently called ``name`` (any dataset, any version)."""
    try:
        return _BY_NAME[name]
    except KeyError:
        hint = f"; it was renamed to {RENAMES[name]!r}" if name in RENAMES else ""
        raise FocusLookupError(f"{name!r} is not a FOCUS column name{hint}") from None
