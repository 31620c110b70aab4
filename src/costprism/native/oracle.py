"""Oracle Cloud Infrastructure: the cost report CSV (``cost/myCost``, ``product/service``, …),
to FOCUS 1.2.

OCI writes a cost report every six hours: one row per resource per hour with its usage,
unit price and cost, the tenancy and compartment, and one ``tags/<namespace>.<key>`` column
per tag key in use (free-form tags have no namespace: ``tags/team``). Corrections are new
rows with ``lineItem/isCorrection`` set and the corrected row's number in
``lineItem/backreferenceNo``.

Costs:

- BilledCost and EffectiveCost are ``cost/myCost``, the cost at the tenancy's own unit price.
  The report holds no upfront fees to amortize: a Universal Credits commitment is drawn
  down by exactly this consumption, so the consumption view is the amortized one.
- ContractedCost is ``cost/unitPrice`` × ``usage/billedQuantity`` (``cost/myCost`` on credits
  and where either is missing). The report has no public list price, so ListCost is the
  same: list and contracted cost agree here, and a negotiated discount is not visible.
- Universal Credits is a contract-level spend commitment (like an EDP or MACC), not a
  commitment discount such as a reservation: its discount is in the unit price of every
  row, within the commitment and over it. So usage is PricingCategory Standard whether
  ``cost/overageFlag`` is set or not, and there are no commitment-discount columns; the
  flag and the overage quantity and cost stay as ``x_`` columns.

The report has no billing-period columns: the billing period is the calendar month (UTC) of
``lineItem/intervalUsageStart``, which is how OCI invoices metered usage.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from costprism.ingest.checks import literal, quote
from costprism.native.mapping import NativeFormat, Rule, lookup, service_rules

PROVIDER = "Oracle"
TAG_PREFIX = "tags/"

# product/service → FOCUS service subcategory (unknown services are Other).
SUBCATEGORIES: Mapping[str, str] = {
    "COMPUTE": "Virtual Machines",
    "CONTAINER_ENGINE": "Containers",
    "OKE": "Containers",
    "CONTAINER_INSTANCES": "Containers",
    "FUNCTIONS": "Serverless Compute",
    "BLOCK_STORAGE": "Block Storage",
    "OBJECTSTORE": "Object Storage",
    "OBJECT_STORAGE": "Object Storage",
    "ARCHIVE_STORAGE": "Backup Storage",
    "FILE_STORAGE": "File Storage",
    "DATABASE": "Relational Databases",
    "AUTONOMOUS_DATABASE": "Relational Databases",
    "MYSQL": "Relational Databases",
    "POSTGRESQL": "Relational Databases",
    "NOSQL": "NoSQL Databases",
    "CACHE": "Caching",
    "NETWORK": "Network Connectivity",
    "FASTCONNECT": "Network Connectivity",
    "VPN": "Network Connectivity",
    "LOAD_BALANCER": "Application Networking",
    "NETWORK_LOAD_BALANCER": "Application Networking",
    "DNS": "Network Infrastructure",
    "WAF": "Network Security",
    "NETWORK_FIREWALL": "Network Security",
    "API_GATEWAY": "API Management",
    "STREAMING": "Streaming Analytics",
    "NOTIFICATIONS": "Messaging",
    "QUEUE": "Messaging",
    "TELEMETRY": "Observability",
    "MONITORING": "Observability",
    "LOGGING": "Observability",
    "LOGGING_ANALYTICS": "Observability",
    "APM": "Observability",
    "VAULT": "Secret Management",
    "KMS": "Secret Management",
    "CLOUD_GUARD": "Security Posture Management",
    "IDENTITY": "Identity and Access Management",
    "DATA_SCIENCE": "Machine Learning",
    "GENERATIVE_AI": "Generative AI",
    "ANALYTICS": "Business Intelligence",
    "DATA_FLOW": "Data Processing",
    "DATA_INTEGRATION": "Data Processing",
    "INTEGRATION": "Workflow Orchestration",
    "DEVOPS": "Continuous Integration and Deployment",
    "SUPPORT": "Support",
}

# cost/billingUnitReadable → FOCUS unit format (a unit not listed is kept as written; the
# column itself is kept as `x_cost_billingUnitReadable`).
UNITS: Mapping[str, str] = {
    "OCPU HOURS": "OCPU-Hours",
    "ECPU HOURS": "ECPU-Hours",
    "GIGABYTE HOURS": "GB-Hours",
    "GIGABYTE MONTHS": "GB-Months",
    "TERABYTE MONTHS": "TB-Months",
    "GIGABYTES": "GB",
    "GIGABYTES DATA_TRANSFERRED": "GB",
    "HOURS": "Hours",
    "DATAPOINTS": "Datapoints",
    "REQUESTS": "Requests",
}

_COST = "`cost/myCost`"
_CORRECTION = (
    "coalesce(lower(trim(CAST(`lineItem/isCorrection` AS VARCHAR))) IN "
    "('true', 't', 'y', 'yes', '1'), false)"
)
_CREDIT = f"(NOT {_CORRECTION} AND coalesce({_COST} < 0, false))"
_START = "`lineItem/intervalUsageStart`"
_MONTH = f"timezone('UTC', date_trunc('month', timezone('UTC', {_START})))"
_CONTRACTED = (
    f"CASE WHEN {_CREDIT} THEN {_COST} "
    f"ELSE coalesce(`cost/unitPrice` * `usage/billedQuantity`, {_COST}) END"
)


def _rules() -> tuple[Rule, ...]:
    return (
        Rule(
            column="BillingAccountId",
            sql="coalesce(`cost/subscriptionId`, `lineItem/tenantId`)",
            explain="the subscription invoiced (`cost/subscriptionId`), else the tenancy",
        ),
        Rule(
            column="BillingAccountType",
            sql=(
                "CASE WHEN `cost/subscriptionId` IS NOT NULL THEN 'Subscription' ELSE 'Tenancy' END"
            ),
            explain="Subscription, or Tenancy where the row names no subscription",
        ),
        Rule(column="SubAccountId", sql="`lineItem/tenantId`", explain="the tenancy OCID"),
        Rule(
            column="SubAccountType",
            sql="CASE WHEN `lineItem/tenantId` IS NOT NULL THEN 'Tenancy' END",
            explain="Tenancy",
        ),
        Rule(column="BillingCurrency", sql="`cost/currencyCode`", explain="as is"),
        Rule(column="PricingCurrency", sql="`cost/currencyCode`", explain="as is"),
        Rule(
            column="PricingCurrencyEffectiveCost",
            sql=_COST,
            explain="`cost/myCost`, as EffectiveCost: OCI prices in the billing currency",
        ),
        Rule(
            column="BillingPeriodStart",
            sql=_MONTH,
            explain=(
                "the first day (UTC) of the month of `lineItem/intervalUsageStart`: the report "
                "has no billing-period columns"
            ),
        ),
        Rule(
            column="BillingPeriodEnd",
            sql=f"{_MONTH} + INTERVAL 1 MONTH",
            explain="the first day of the following month",
        ),
        Rule(column="ChargePeriodStart", sql=_START, explain="as UTC"),
        Rule(column="ChargePeriodEnd", sql="`lineItem/intervalUsageEnd`", explain="as UTC"),
        Rule(column="BilledCost", sql=_COST, explain="`cost/myCost`, overage included"),
        Rule(
            column="EffectiveCost",
            sql=_COST,
            explain="`cost/myCost`: consumption is what draws down a Universal Credits commitment",
        ),
        Rule(
            column="ContractedCost",
            sql=_CONTRACTED,
            explain=(
                "`cost/unitPrice` × `usage/billedQuantity` (the tenancy's price before credits "
                "and promotions); `cost/myCost` on credits and where either is missing"
            ),
        ),
        Rule(
            column="ListCost",
            sql=_CONTRACTED,
            explain="as ContractedCost: the report has no public list price",
        ),
        Rule(
            column="ContractedUnitPrice",
            sql=f"CASE WHEN NOT {_CREDIT} THEN `cost/unitPrice` END",
            explain="`cost/unitPrice` (null on credits)",
        ),
        Rule(
            column="ChargeCategory",
            sql=f"CASE WHEN {_CREDIT} THEN 'Credit' ELSE 'Usage' END",
            explain=(
                "a negative `cost/myCost` (not a correction) → Credit; everything else, "
                "corrections included, → Usage"
            ),
        ),
        Rule(
            column="ChargeClass",
            sql=f"CASE WHEN {_CORRECTION} THEN 'Correction' END",
            explain="Correction where `lineItem/isCorrection` is true",
        ),
        Rule(
            column="ChargeFrequency",
            sql=f"CASE WHEN {_CREDIT} THEN 'One-Time' ELSE 'Usage-Based' END",
            explain="credits → One-Time; usage → Usage-Based",
        ),
        Rule(column="ChargeDescription", sql="`product/Description`", explain="as is"),
        Rule(
            column="PricingCategory",
            sql=f"CASE WHEN NOT {_CREDIT} THEN 'Standard' END",
            explain=(
                "Standard on usage, within a Universal Credits commitment or over it "
                "(`cost/overageFlag`): the contract's rate is in the unit price; null on credits"
            ),
        ),
        Rule(
            column="ConsumedQuantity",
            sql=f"CASE WHEN NOT {_CREDIT} THEN `usage/billedQuantity` END",
            explain="`usage/billedQuantity` on usage rows",
        ),
        Rule(
            column="ConsumedUnit",
            sql=(
                f"CASE WHEN NOT {_CREDIT} THEN coalesce(nullif("
                f"{lookup('upper(trim(`cost/billingUnitReadable`))', UNITS, '')}, ''), "
                "`cost/billingUnitReadable`) END"
            ),
            explain=(
                "`cost/billingUnitReadable` on usage rows, in FOCUS's unit format (`OCPU HOURS` "
                "→ `OCPU-Hours`, `GIGABYTE MONTHS` → `GB-Months`, `GIGABYTES DATA_TRANSFERRED` "
                "→ `GB`); the unit as written is kept as `x_cost_billingUnitReadable`"
            ),
        ),
        Rule(column="PricingQuantity", sql="`usage/billedQuantity`", explain="as is"),
        Rule(
            column="PricingUnit",
            sql="coalesce(`cost/skuUnitDescription`, `cost/billingUnitReadable`)",
            explain="`cost/skuUnitDescription`, else `cost/billingUnitReadable`",
        ),
        Rule(column="ProviderName", sql=literal(PROVIDER), explain=PROVIDER),
        Rule(column="PublisherName", sql=literal(PROVIDER), explain=PROVIDER),
        Rule(column="InvoiceIssuerName", sql=literal(PROVIDER), explain=PROVIDER),
        Rule(column="RegionId", sql="`product/region`", explain="as is"),
        Rule(
            column="RegionName",
            sql="`product/region`",
            explain="the region identifier, as Oracle's own FOCUS report writes it",
        ),
        Rule(
            column="AvailabilityZone",
            sql="`product/availabilityDomain`",
            explain="the availability domain",
        ),
        Rule(column="ResourceId", sql="`product/resourceId`", explain="as is"),
        Rule(
            column="ResourceType",
            sql=(
                "CASE WHEN `product/resourceId` LIKE 'ocid%.%.%' "
                "THEN split_part(`product/resourceId`, '.', 2) END"
            ),
            explain="the resource type within the OCID (`ocid1.instance.…` → instance)",
        ),
        Rule(column="ServiceName", sql="`product/service`", explain="as is"),
        *service_rules("upper(`product/service`)", SUBCATEGORIES, "`product/service`"),
        Rule(column="SkuId", sql="`cost/productSku`", explain="the part number"),
        Rule(column="SkuMeter", sql="`product/Description`", explain="the product description"),
        Rule(
            column="Tags",
            explain=(
                "one entry per non-empty `tags/` column, keyed without `tags/`: defined tags "
                "keep their namespace (`tags/Oracle-Tags.CreatedBy` → `Oracle-Tags.CreatedBy`), "
                "free-form tags have none (`tags/team` → `team`)"
            ),
            prefix=TAG_PREFIX,
            build=_tags,
        ),
    )


def _tags(columns: Sequence[str]) -> str:
    if not columns:
        return "CAST(NULL AS MAP(VARCHAR, VARCHAR))"
    entries = ", ".join(
        f"{{'k': {literal(name.removeprefix(TAG_PREFIX))}, 'v': CAST({quote(name)} AS VARCHAR)}}"
        for name in columns
    )
    kept = f"list_filter([{entries}], e -> e.v IS NOT NULL AND e.v <> '')"
    return (
        f"CASE WHEN len({kept}) > 0 THEN map_from_entries("
        f"list_transform({kept}, e -> {{'key': e.k, 'value': e.v}})) END"
    )


COST_REPORT = NativeFormat(
    name="oci-cost",
    provider=PROVIDER,
    title="Oracle Cloud Infrastructure cost report",
    required=(
        "lineItem/referenceNo",
        "lineItem/tenantId",
        "lineItem/intervalUsageStart",
        "lineItem/intervalUsageEnd",
        "product/service",
        "cost/myCost",
        "cost/currencyCode",
    ),
    rules=_rules(),
    numbers=frozenset({"cost/myCost", "cost/unitPrice", "usage/billedQuantity"}),
    times=dict.fromkeys(("lineItem/intervalUsageStart", "lineItem/intervalUsageEnd"), ()),
    keep=frozenset({"cost/billingUnitReadable"}),
    notes=(
        "The billing period is the UTC month of `lineItem/intervalUsageStart`: the report has "
        "no billing-period columns. A correction therefore lands in the month of the usage it "
        "corrects.",
        "`cost/overageFlag`, `cost/myCostOverage`, `usage/billedQuantityOverage`, the "
        "compartment and `lineItem/backreferenceNo` are kept as `x_` columns.",
        "Usage reports (`usage/consumedQuantity`, no `cost/` columns) carry no costs and are "
        "not read.",
    ),
)

FORMATS = (COST_REPORT,)
