"""Microsoft Azure cost details (EA and MCA, actual or amortized) and the older usage
details, to FOCUS 1.2.

Two header generations are read:

- *Cost details* (``azure``): the Cost Management exports, downloads and Cost Details API
  files of Enterprise Agreement (EA) and Microsoft Customer Agreement (MCA) accounts:
  ``costInBillingCurrency``, ``date``, ``billingPeriodStartDate``, ``chargeType``,
  ``pricingModel``, ``benefitId``… EA spells them in Pascal case (``CostInBillingCurrency``,
  ``BillingCurrencyCode``), MCA in camel case (``costInBillingCurrency``,
  ``billingCurrency``); names match without regard to case, and where the two differ in more
  than case (``BillingCurrencyCode``/``billingCurrency``, ``ResourceGroup``/
  ``resourceGroupName``) a rule reads whichever the file has.
- *Usage details* (``azure-legacy``): the older layout of EA and pay-as-you-go files
  (``SubscriptionGuid``, ``UsageDateTime``, ``PreTaxCost``, ``UsageQuantity``, ``InstanceId``,
  tags often written without their braces).

Actual and amortized cost. Cost Management writes two datasets with the same columns, so a
header can't tell them apart; they differ in rows and values:

- *actual* holds commitment purchases (``chargeType`` Purchase or Refund, ``pricingModel``
  Reservation or SavingsPlan) at what was invoiced, and the usage a commitment covered at
  cost 0;
- *amortized* holds no commitment purchases; covered usage carries its share of the
  commitment, and ``UnusedReservation``/``UnusedSavingsPlan`` rows carry the part no usage
  used.

The rules follow Microsoft's own conversion to FOCUS (FinOps toolkit, "Convert Cost
Management data to FOCUS", which merges both datasets) row by row, and the rows where its
two rules differ from the cost column occur in only one of the datasets. So one set of rules
reads either file correctly, and no ``--format`` is needed to say which it is:

- BilledCost is the cost column, except 0 on covered usage and on unused-commitment rows
  (invoiced as the purchase). Actual file: Σ BilledCost = Σ cost (covered usage already
  costs 0 there). Amortized file: Σ BilledCost = the invoice without its commitment
  purchases, which that dataset does not hold.
- EffectiveCost is the cost column, except 0 on commitment purchases and refunds (their
  amortization is the covered usage and the unused rows). Amortized file: Σ EffectiveCost =
  Σ cost. Actual file: the file has no amortized share for covered usage, so Σ
  EffectiveCost leaves the commitments out; import the amortized export for effective cost.
- Import one of the two datasets for a period, not both: their usage rows are the same
  charges.

The older layout has no ``pricingModel``: usage with a ``ReservationId`` is covered usage,
a purchase with one a reservation purchase. It has no billing period either: the calendar
month of ``UsageDateTime`` is used (an EA enrollment is invoiced by calendar month; a
pay-as-you-go subscription billed from another day of the month is not).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from costprism.ingest.checks import literal
from costprism.native.mapping import NativeFormat, Rule, lookup, service_rules

# meterCategory → FOCUS service subcategory (the category follows from it).
SUBCATEGORIES: Mapping[str, str] = {
    "Virtual Machines": "Virtual Machines",
    "Virtual Machines Licenses": "Virtual Machines",
    "Cloud Services": "Virtual Machines",
    "Azure Kubernetes Service": "Containers",
    "Container Instances": "Containers",
    "Container Registry": "Containers",
    "Azure Container Apps": "Containers",
    "Functions": "Serverless Compute",
    "Azure App Service": "Application Platforms",
    "Azure Spring Apps": "Application Platforms",
    "Azure Virtual Desktop": "End User Computing",
    "Windows Virtual Desktop": "End User Computing",
    "Storage": "Storage Platforms",
    "Azure NetApp Files": "File Storage",
    "Backup": "Backup Storage",
    "Azure Site Recovery": "Disaster Recovery",
    "SQL Database": "Relational Databases",
    "SQL Managed Instance": "Relational Databases",
    "Azure Database for PostgreSQL": "Relational Databases",
    "Azure Database for MySQL": "Relational Databases",
    "Azure Database for MariaDB": "Relational Databases",
    "Azure Cosmos DB": "NoSQL Databases",
    "Redis Cache": "Caching",
    "Azure Cache for Redis": "Caching",
    "Azure Synapse Analytics": "Data Warehouses",
    "Azure Data Explorer": "Analytics Platforms",
    "Azure Databricks": "Analytics Platforms",
    "Microsoft Fabric": "Analytics Platforms",
    "HDInsight": "Data Processing",
    "Azure Data Factory v2": "Data Processing",
    "Data Factory": "Data Processing",
    "Stream Analytics": "Streaming Analytics",
    "Event Hubs": "Streaming Analytics",
    "Azure Cognitive Search": "Search",
    "Azure AI Search": "Search",
    "Power BI Embedded": "Business Intelligence",
    "Cognitive Services": "AI Platforms",
    "Azure Machine Learning": "Machine Learning",
    "Machine Learning Studio": "Machine Learning",
    "Azure Bot Service": "Bots",
    "Bandwidth": "Network Connectivity",
    "Virtual Network": "Network Connectivity",
    "VPN Gateway": "Network Connectivity",
    "ExpressRoute": "Network Connectivity",
    "NAT Gateway": "Network Connectivity",
    "Azure Bastion": "Network Connectivity",
    "Load Balancer": "Application Networking",
    "Application Gateway": "Application Networking",
    "Azure Front Door Service": "Content Delivery",
    "Content Delivery Network": "Content Delivery",
    "Azure DNS": "Network Infrastructure",
    "Traffic Manager": "Network Infrastructure",
    "Network Watcher": "Network Infrastructure",
    "Azure Firewall": "Network Security",
    "Azure DDOS Protection": "Network Security",
    "Azure Monitor": "Observability",
    "Log Analytics": "Observability",
    "Application Insights": "Observability",
    "Insight and Analytics": "Observability",
    "Microsoft Defender for Cloud": "Security Posture Management",
    "Sentinel": "Threat Detection and Response",
    "Key Vault": "Secret Management",
    "Microsoft Entra ID": "Identity and Access Management",
    "Azure Active Directory B2C": "Identity and Access Management",
    "Service Bus": "Messaging",
    "Event Grid": "Messaging",
    "Notification Hubs": "Messaging",
    "Logic Apps": "Workflow Orchestration",
    "API Management": "API Management",
    "IoT Hub": "IoT Platforms",
    "Azure Database Migration Service": "Data Migration",
    "Microsoft Purview": "Data Governance",
    "Azure Support": "Support",
}

# Azure region id → display name. Locations are compared in compact form: lower case,
# letters and digits only ("East US", "eastus" and "EastUS" are all ``eastus``).
REGIONS: Mapping[str, str] = {
    "eastus": "East US",
    "eastus2": "East US 2",
    "westus": "West US",
    "westus2": "West US 2",
    "westus3": "West US 3",
    "centralus": "Central US",
    "northcentralus": "North Central US",
    "southcentralus": "South Central US",
    "westcentralus": "West Central US",
    "canadacentral": "Canada Central",
    "canadaeast": "Canada East",
    "brazilsouth": "Brazil South",
    "brazilsoutheast": "Brazil Southeast",
    "mexicocentral": "Mexico Central",
    "northeurope": "North Europe",
    "westeurope": "West Europe",
    "uksouth": "UK South",
    "ukwest": "UK West",
    "francecentral": "France Central",
    "francesouth": "France South",
    "germanywestcentral": "Germany West Central",
    "germanynorth": "Germany North",
    "switzerlandnorth": "Switzerland North",
    "switzerlandwest": "Switzerland West",
    "norwayeast": "Norway East",
    "norwaywest": "Norway West",
    "swedencentral": "Sweden Central",
    "polandcentral": "Poland Central",
    "italynorth": "Italy North",
    "spaincentral": "Spain Central",
    "eastasia": "East Asia",
    "southeastasia": "Southeast Asia",
    "japaneast": "Japan East",
    "japanwest": "Japan West",
    "koreacentral": "Korea Central",
    "koreasouth": "Korea South",
    "australiaeast": "Australia East",
    "australiasoutheast": "Australia Southeast",
    "australiacentral": "Australia Central",
    "centralindia": "Central India",
    "southindia": "South India",
    "westindia": "West India",
    "uaenorth": "UAE North",
    "uaecentral": "UAE Central",
    "southafricanorth": "South Africa North",
    "southafricawest": "South Africa West",
    "qatarcentral": "Qatar Central",
    "israelcentral": "Israel Central",
    "newzealandnorth": "New Zealand North",
}

# The billing names of regions (``US East``, ``EU West``, ``AP Southeast``…) that older
# files and meter regions use, compacted, → region id.
REGION_ALIASES: Mapping[str, str] = {
    "useast": "eastus",
    "useast2": "eastus2",
    "uswest": "westus",
    "uswest2": "westus2",
    "uswest3": "westus3",
    "uscentral": "centralus",
    "usnorthcentral": "northcentralus",
    "ussouthcentral": "southcentralus",
    "uswestcentral": "westcentralus",
    "cacentral": "canadacentral",
    "caeast": "canadaeast",
    "brsouth": "brazilsouth",
    "mxcentral": "mexicocentral",
    "eunorth": "northeurope",
    "euwest": "westeurope",
    "frcentral": "francecentral",
    "frsouth": "francesouth",
    "dewestcentral": "germanywestcentral",
    "denorth": "germanynorth",
    "chnorth": "switzerlandnorth",
    "chwest": "switzerlandwest",
    "noeast": "norwayeast",
    "nowest": "norwaywest",
    "secentral": "swedencentral",
    "plcentral": "polandcentral",
    "itnorth": "italynorth",
    "escentral": "spaincentral",
    "apeast": "eastasia",
    "apsoutheast": "southeastasia",
    "jaeast": "japaneast",
    "jawest": "japanwest",
    "krcentral": "koreacentral",
    "krsouth": "koreasouth",
    "aueast": "australiaeast",
    "ausoutheast": "australiasoutheast",
    "aucentral": "australiacentral",
    "incentral": "centralindia",
    "insouth": "southindia",
    "inwest": "westindia",
    "aenorth": "uaenorth",
    "aecentral": "uaecentral",
    "zanorth": "southafricanorth",
    "zawest": "southafricawest",
    "qacentral": "qatarcentral",
    "ilcentral": "israelcentral",
    "nznorth": "newzealandnorth",
}

# unitOfMeasure → FOCUS unit format. A block size stays in the unit (`10 Hours`, `10K` →
# `10000 Units`): quantities are counted in blocks and prices are per block, so cost stays
# price × quantity. The forms follow Microsoft's own mapping (FinOps toolkit open data,
# PricingUnits.csv: `1/Month` → `Units/Month`, `1 GB/Month` → `GB/Month`); a unit not listed
# is kept as written, as `x_unitOfMeasure` keeps every unit.
UNITS: Mapping[str, str] = {
    "1": "Units",
    "1 Unit": "Units",
    "1 Units": "Units",
    "10": "10 Units",
    "10 Units": "10 Units",
    "100": "100 Units",
    "100 Units": "100 Units",
    "1K": "1000 Units",
    "10K": "10000 Units",
    "100K": "100000 Units",
    "1M": "1000000 Units",
    "10M": "10000000 Units",
    "1 Hour": "Hours",
    "1 Hours": "Hours",
    "10 Hour": "10 Hours",
    "1 Day": "Days",
    "1 Month": "Months",
    "1 Minute": "Minutes",
    "1 Second": "Seconds",
    "1 GB": "GB",
    "1 MB": "MB",
    "1 TB": "TB",
    "1 GiB": "GiB",
    "1 TiB": "TiB",
    "1 GB/Hour": "GB/Hour",
    "1 GB/Day": "GB/Day",
    "1 GB/Month": "GB/Month",
    "1 GiB/Month": "GiB/Month",
    "1 TB/Month": "TB/Month",
    "1 GB Hour": "GB-Hours",
    "1 GiB Hour": "GiB-Hours",
    "1 GB Second": "GB-Seconds",
    "1 GiB Second": "GiB-Seconds",
    "1/Hour": "Units/Hour",
    "1/Day": "Units/Day",
    "1/Month": "Units/Month",
    "1/Year": "Units/Year",
    "1 User": "Users",
    "1 Count": "Count",
}

# Locations that name no region (compacted).
NOT_REGIONS = (
    "global", "unassigned", "unknown", "all", "allregions", "intercontinental", "na",
    "notapplicable", "zone1", "zone2", "zone3", "zone4", "zone5",
)  # fmt: skip

DATE_FORMATS = (
    "%m/%d/%Y",
    "%Y-%m-%d",
    "%Y-%m-%dT%H:%M:%S",
    "%Y-%m-%dT%H:%M:%SZ",
    "%Y-%m-%dT%H:%M:%S.%fZ",
    "%Y-%m-%dT%H:%M:%S.%nZ",
    "%Y-%m-%dT%H:%M:%S%z",
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%d %H:%M:%S%z",
    "%m/%d/%Y %H:%M:%S",
    "%m/%d/%Y %I:%M:%S %p",
)


@dataclass(frozen=True, kw_only=True)
class _Layout:
    """SQL for what both header generations say, each in its own column names."""

    cost: str
    pricing_cost: str  # the cost in the pricing currency, or NULL
    date: str
    charge_type: str
    frequency: str
    committed: str  # the row is priced by a commitment (reservation or savings plan)
    committed_explain: str
    pricing_model: str  # lower-case pricingModel without spaces, or NULL
    quantity: str
    unit_price: str
    unit_price_explain: str
    payg_price: str
    payg_cost: str
    list_explain: tuple[str, str]  # ListCost, ListUnitPrice
    rate: str
    currency: str
    pricing_currency: str
    commitment_id: str
    commitment_name: str
    commitment_explain: str
    resource_id: str
    resource_name: str
    resource_type: str
    location: str
    tags: str
    billing_account_id: str
    billing_account_name: str
    billing_account_explain: str
    billing_account_type: str
    billing_account_type_explain: str
    period_start: str
    period_end: str
    period_explain: tuple[str, str]
    subscription_id: str
    subscription_name: str
    publisher_name: str
    publisher_type: str
    invoice_issuer: str
    invoice_issuer_explain: str
    invoice_id: str | None
    meter_category: str
    meter_name: str
    meter_id: str
    unit: str
    product_name: str
    sku_id: str
    sku_explain: str
    consumed_service: str


def _unit(column: str) -> str:
    """``unitOfMeasure`` in FOCUS's unit format (:data:`UNITS`), else as written."""
    return f"coalesce(nullif({lookup(f'trim({column})', UNITS, '')}, ''), {column})"


def _ct(layout: _Layout) -> str:
    """``chargeType`` in lower case; files without the column hold only usage."""
    return f"lower(coalesce({layout.charge_type}, 'Usage'))"


def _rules(layout: _Layout) -> tuple[Rule, ...]:
    ct = _ct(layout)
    usage = f"{ct} = 'usage'"
    unused = f"{ct} IN ('unusedreservation', 'unusedsavingsplan')"
    purchase = f"{ct} IN ('purchase', 'refund')"
    not_tax = f"{ct} <> 'tax'"
    committed = layout.committed
    cost = layout.cost
    rate = layout.rate
    cid = layout.commitment_id
    commitment_type = (
        f"CASE WHEN {cid} IS NULL THEN NULL "
        f"WHEN lower({cid}) LIKE '%/microsoft.capacity/%' THEN 'Reservation' "
        f"WHEN lower({cid}) LIKE '%/microsoft.billingbenefits/%' THEN 'Savings Plan' "
        f"WHEN {ct} = 'unusedsavingsplan' OR {layout.pricing_model} = 'savingsplan' "
        "THEN 'Savings Plan' ELSE 'Reservation' END"
    )
    unit = f"coalesce({_unit(layout.unit)}, 'Units')"
    charge_name = (
        f"CASE {ct} WHEN 'tax' THEN 'Tax' WHEN 'roundingadjustment' THEN 'Rounding Adjustment' "
        f"ELSE {layout.charge_type} END"
    )
    list_unit = _times(layout.payg_price, rate)
    contracted_unit = _times(layout.unit_price, rate)
    rules = [
        Rule(
            column="BillingAccountId",
            sql=layout.billing_account_id,
            explain=layout.billing_account_explain,
        ),
        Rule(column="BillingAccountName", sql=layout.billing_account_name, explain="its name"),
        Rule(
            column="BillingAccountType",
            sql=layout.billing_account_type,
            explain=layout.billing_account_type_explain,
        ),
        Rule(column="SubAccountId", sql=layout.subscription_id, explain="the subscription"),
        Rule(column="SubAccountName", sql=layout.subscription_name, explain="as is"),
        Rule(
            column="SubAccountType",
            sql=f"CASE WHEN {layout.subscription_id} IS NOT NULL THEN 'Subscription' END",
            explain="'Subscription' where there is one",
        ),
        Rule(column="BillingCurrency", sql=layout.currency, explain="as is"),
        Rule(
            column="BillingPeriodStart",
            sql=layout.period_start,
            explain=layout.period_explain[0],
        ),
        Rule(column="BillingPeriodEnd", sql=layout.period_end, explain=layout.period_explain[1]),
        Rule(column="ChargePeriodStart", sql=layout.date, explain="the day of the charge, UTC"),
        Rule(
            column="ChargePeriodEnd",
            sql=f"{layout.date} + INTERVAL 1 DAY",
            explain="the next day: rows are daily (purchases: the day after the purchase)",
        ),
        Rule(
            column="BilledCost",
            sql=f"CASE WHEN {unused} OR ({usage} AND {committed}) THEN 0 ELSE {cost} END",
            explain=(
                "the cost, except 0 on usage a commitment covered and on "
                "UnusedReservation/UnusedSavingsPlan rows (both invoiced as the commitment's "
                "purchase): an actual-cost file sums to its cost column (covered usage costs "
                "0 there already); an amortized file sums to the invoice less the commitment "
                "purchases it does not hold"
            ),
        ),
        Rule(
            column="EffectiveCost",
            sql=f"CASE WHEN {purchase} AND {committed} THEN 0 ELSE {cost} END",
            explain=(
                "the cost, except 0 on commitment purchases and refunds (amortized into the "
                "covered usage and unused rows): an amortized-cost file sums to its cost "
                "column; an actual-cost file has no amortized share for covered usage"
            ),
        ),
        Rule(
            column="ListCost",
            sql=(
                f"coalesce({layout.payg_cost}, "
                f"{_times(layout.payg_price, layout.quantity, rate)}, {cost})"
            ),
            explain=layout.list_explain[0],
        ),
        Rule(
            column="ContractedCost",
            sql=f"coalesce({_times(layout.unit_price, layout.quantity, rate)}, {cost})",
            explain=(
                f"{layout.unit_price_explain} × quantity (the negotiated price before "
                "commitments, as Microsoft reconciles it); the cost where there is no price"
            ),
        ),
        Rule(
            column="ListUnitPrice",
            sql=f"CASE WHEN {not_tax} THEN {list_unit} END",
            explain=layout.list_explain[1],
        ),
        Rule(
            column="ContractedUnitPrice",
            sql=f"CASE WHEN {not_tax} THEN {contracted_unit} END",
            explain=f"{layout.unit_price_explain}, in the billing currency; null on tax",
        ),
        Rule(
            column="ChargeCategory",
            sql=(
                f"CASE WHEN {usage} OR {unused} THEN 'Usage' "
                f"WHEN {purchase} THEN 'Purchase' WHEN {ct} = 'tax' THEN 'Tax' "
                f"WHEN {ct} = 'credit' THEN 'Credit' ELSE 'Adjustment' END"
            ),
            explain=(
                "`chargeType`: Usage, UnusedReservation, UnusedSavingsPlan → Usage; Purchase, "
                "Refund → Purchase (a refund is a purchase reversed, as Microsoft's FOCUS "
                "export has it); Tax → Tax; Credit → Credit; RoundingAdjustment and anything "
                "else → Adjustment; no `chargeType` column → Usage"
            ),
        ),
        Rule(
            column="ChargeClass",
            sql=f"CASE WHEN {ct} = 'refund' THEN 'Correction' END",
            explain="Correction on refunds",
        ),
        Rule(
            column="ChargeFrequency",
            sql=(
                f"CASE lower(replace(replace({layout.frequency}, ' ', ''), '-', '')) "
                "WHEN 'onetime' THEN 'One-Time' WHEN 'recurring' THEN 'Recurring' "
                "WHEN 'usagebased' THEN 'Usage-Based' "
                f"ELSE CASE WHEN {usage} OR {unused} THEN 'Usage-Based' ELSE 'One-Time' END END"
            ),
            explain=(
                "`frequency`: OneTime → One-Time, Recurring → Recurring, UsageBased → "
                "Usage-Based; without it usage is Usage-Based and the rest One-Time"
            ),
        ),
        Rule(
            column="ChargeDescription",
            sql=f"coalesce({layout.product_name}, {layout.meter_name}, {charge_name})",
            explain=(
                "the product name, else the meter name; rows with neither (tax, rounding): "
                "Tax, Rounding Adjustment, else the `chargeType`"
            ),
        ),
        Rule(
            column="PricingCategory",
            sql=(
                f"CASE WHEN {unused} THEN 'Committed' "
                f"WHEN {usage} THEN CASE WHEN {committed} THEN 'Committed' "
                f"WHEN {layout.pricing_model} = 'spot' THEN 'Dynamic' "
                f"WHEN {layout.pricing_model} IS NULL OR {layout.pricing_model} = 'ondemand' "
                "THEN 'Standard' ELSE 'Other' END "
                f"WHEN {purchase} THEN 'Standard' END"
            ),
            explain=(
                f"usage {layout.committed_explain} and unused-commitment rows → Committed; "
                "Spot → Dynamic; other usage → Standard; purchases (a commitment included: "
                "it is bought at its own price) → Standard; null on tax, credits and "
                "adjustments"
            ),
        ),
        Rule(column="PricingCurrency", sql=layout.pricing_currency, explain="as is"),
        Rule(
            column="PricingCurrencyEffectiveCost",
            sql=(
                f"CASE WHEN {purchase} AND {committed} THEN 0 "
                f"ELSE coalesce({layout.pricing_cost}, {cost} / nullif({rate}, 0)) END"
            ),
            explain=(
                "EffectiveCost in the pricing currency: `costInPricingCurrency` (MCA), else "
                "the cost divided by the exchange rate (1 where the file prices in the billing "
                "currency); 0 on commitment purchases and refunds"
            ),
        ),
        Rule(
            column="CommitmentDiscountId",
            sql=cid,
            explain=layout.commitment_explain,
        ),
        Rule(column="CommitmentDiscountName", sql=layout.commitment_name, explain="its name"),
        Rule(
            column="CommitmentDiscountType",
            sql=commitment_type,
            explain=(
                "Reservation (an id under `/providers/Microsoft.Capacity/`) or Savings Plan "
                "(under `/providers/Microsoft.BillingBenefits/`); else from "
                "`chargeType`/`pricingModel`, Reservation by default"
            ),
        ),
        Rule(
            column="CommitmentDiscountCategory",
            sql=(
                f"CASE {commitment_type} WHEN 'Reservation' THEN 'Usage' "
                "WHEN 'Savings Plan' THEN 'Spend' END"
            ),
            explain="reservations → Usage; savings plans → Spend",
        ),
        Rule(
            column="CommitmentDiscountStatus",
            sql=(
                f"CASE WHEN {cid} IS NULL THEN NULL WHEN {unused} THEN 'Unused' "
                f"WHEN {usage} AND {committed} THEN 'Used' END"
            ),
            explain=(
                "Unused on UnusedReservation/UnusedSavingsPlan rows, Used on covered usage, "
                "null elsewhere (purchases)"
            ),
        ),
        Rule(
            column="ConsumedQuantity",
            sql=f"CASE WHEN {usage} THEN {layout.quantity} END",
            explain="the quantity on usage rows (not on unused-commitment rows)",
        ),
        Rule(
            column="ConsumedUnit",
            sql=f"CASE WHEN {usage} AND {layout.quantity} IS NOT NULL THEN {unit} END",
            explain=(
                "the unit of measure in FOCUS's unit format (`1 Hour` → `Hours`, `10K` → "
                "`10000 Units`, `1/Month` → `Units/Month`), on usage rows"
            ),
        ),
        Rule(
            column="PricingQuantity",
            sql=f"CASE WHEN {not_tax} THEN {layout.quantity} END",
            explain="the quantity (prices in the file are per unit of it); null on tax",
        ),
        Rule(
            column="PricingUnit",
            sql=f"CASE WHEN {not_tax} AND {layout.quantity} IS NOT NULL THEN {unit} END",
            explain=(
                "the unit of measure in FOCUS's unit format, its block size kept (`10 Hours`, "
                "`10K` → `10000 Units`: quantities are in blocks); a quantity without a unit "
                "(commitment purchases) → Units; null where PricingQuantity is; the unit as "
                "written is kept as an `x_` column"
            ),
        ),
        Rule(column="ProviderName", sql="'Microsoft'", explain="Microsoft"),
        Rule(
            column="PublisherName",
            sql=(
                f"coalesce({layout.publisher_name}, CASE WHEN lower({layout.publisher_type}) "
                "= 'marketplace' THEN NULL ELSE 'Microsoft' END)"
            ),
            explain=(
                "`publisherName`; Microsoft where it is empty on first-party rows (a "
                "Marketplace row without a publisher stays empty)"
            ),
        ),
        Rule(
            column="InvoiceIssuerName",
            sql=layout.invoice_issuer,
            explain=layout.invoice_issuer_explain,
        ),
        Rule(column="RegionId", sql=_region_id(layout.location), explain=_REGION_ID_EXPLAIN),
        Rule(column="RegionName", sql=_region_name(layout.location), explain=_REGION_NAME_EXPLAIN),
        Rule(column="ResourceId", sql=layout.resource_id, explain="as is"),
        Rule(
            column="ResourceName",
            sql=layout.resource_name,
            explain="`ResourceName`, else the last segment of the resource id",
        ),
        Rule(
            column="ResourceType",
            sql=layout.resource_type,
            explain=(
                "`ResourceType`, else the resource provider type read from the resource id "
                "(`…/providers/Microsoft.Sql/servers/s1/databases/d1` → "
                "`Microsoft.Sql/servers/databases`)"
            ),
        ),
        Rule(
            column="ServiceName",
            sql=(
                f"coalesce({layout.meter_category}, {layout.product_name}, "
                f"{layout.consumed_service}, {charge_name})"
            ),
            explain=(
                "the meter category (`Virtual Machines`, `Storage`…); purchases and "
                "Marketplace rows without one: the product name, else the consumed service; "
                "rows with none of them (tax, rounding): Tax, Rounding Adjustment, else the "
                "`chargeType`"
            ),
        ),
        *service_rules(layout.meter_category, SUBCATEGORIES, "the meter category"),
        Rule(
            column="SkuId",
            sql=f"CASE WHEN {not_tax} THEN {layout.sku_id} END",
            explain=layout.sku_explain,
        ),
        Rule(
            column="SkuPriceId",
            sql=f"CASE WHEN {not_tax} THEN {layout.meter_id} END",
            explain="the meter id (Azure prices each meter); null on tax",
        ),
        Rule(
            column="SkuMeter",
            sql=(
                f"CASE WHEN {not_tax} AND {layout.sku_id} IS NOT NULL "
                f"THEN coalesce({layout.meter_name}, {layout.product_name}) END"
            ),
            explain=(
                "the meter name where there is a SkuId; a purchase without a meter: the "
                "product name (what was bought)"
            ),
        ),
        Rule(column="Tags", sql=_tags(layout.tags), explain=_TAGS_EXPLAIN),
    ]
    if layout.invoice_id is not None:
        rules.append(Rule(column="InvoiceId", sql=layout.invoice_id, explain="as is (MCA)"))
    if layout.pricing_currency != layout.currency:
        rules += [
            Rule(
                column="PricingCurrencyListUnitPrice",
                sql=f"CASE WHEN {not_tax} THEN {layout.payg_price} END",
                explain="`PayGPrice`, in the pricing currency",
            ),
            Rule(
                column="PricingCurrencyContractedUnitPrice",
                sql=f"CASE WHEN {not_tax} THEN {layout.unit_price} END",
                explain="`unitPrice`, in the pricing currency",
            ),
        ]
    return tuple(rules)


def _times(*factors: str) -> str:
    """The product of decimals, computed in DOUBLE as the framework parses decimal text
    (exact to about 15 significant digits; a product of DECIMAL(38, 12) values would overflow
    its 24 decimal places), stored at the ledger's 12 decimal places."""
    product = " * ".join(f"CAST({factor} AS DOUBLE)" for factor in factors)
    return f"CAST({product} AS DECIMAL(38, 12))"


def _compact(location: str) -> str:
    return f"lower(regexp_replace({location}, '[^A-Za-z0-9]', '', 'g'))"


def _region_id(location: str) -> str:
    key = _compact(location)
    aliases = " ".join(f"WHEN {literal(k)} THEN {literal(v)}" for k, v in REGION_ALIASES.items())
    nowhere = ", ".join(literal(k) for k in ("", *NOT_REGIONS))
    return f"CASE WHEN {key} IN ({nowhere}) THEN NULL ELSE CASE {key} {aliases} ELSE {key} END END"


def _region_name(location: str) -> str:
    key = _compact(location)
    known = {**{k: REGIONS[v] for k, v in REGION_ALIASES.items()}, **REGIONS}
    names = " ".join(f"WHEN {literal(k)} THEN {literal(v)}" for k, v in known.items())
    nowhere = ", ".join(literal(k) for k in ("", *NOT_REGIONS))
    return (
        f"CASE WHEN {key} IN ({nowhere}) THEN NULL ELSE CASE {key} {names} ELSE {location} END END"
    )


_REGION_ID_EXPLAIN = (
    "the Azure region id of the resource location, compared in lower case without spaces "
    "(`East US`, `EastUS` → `eastus`); billing names map to their region (`US East` → "
    "`eastus`, `EU West` → `westeurope`); null for `global`, `Unassigned`, `Zone 1`…"
)
_REGION_NAME_EXPLAIN = (
    "the region's display name (`East US`); the location as written for a region the "
    "table does not know; null where RegionId is"
)


def _tags(column: str) -> str:
    """The tags as a JSON object: braces added where the export left them out, each key
    once, empty objects null. Text that is not a JSON object is passed on as it is, so the
    reader reports it as ``bad-json`` on its line."""
    text = f"trim(CAST({column} AS VARCHAR))"
    wrapped = (
        f"CASE WHEN {text} = '' THEN NULL WHEN starts_with({text}, '{{') THEN {text} "
        f"ELSE '{{' || {text} || '}}' END"
    )
    parsed = f"TRY_CAST({wrapped} AS JSON)"
    entries = (
        f"list_transform(list_distinct(json_keys({parsed})), k -> {{'key': k, 'value': "
        f"json_extract_string({parsed}, '/' || replace(replace(k, '~', '~0'), '/', '~1'))}})"
    )
    return (
        f"CASE WHEN {wrapped} IS NULL THEN NULL "
        f"WHEN coalesce(json_type({parsed}) = 'OBJECT', false) THEN "
        f"CASE WHEN len(json_keys({parsed})) > 0 "
        f"THEN CAST(to_json(map_from_entries({entries})) AS VARCHAR) END "
        f"ELSE {text} END"
    )


_TAGS_EXPLAIN = (
    'a JSON object, with or without its braces (`{"team": "payments"}` or older files\' '
    '`"team": "payments","env": "prod"`); a key that appears twice keeps its first value; '
    "empty → null; text that is not an object is a `bad-json` error"
)


def _last_segment(column: str) -> str:
    return f"nullif(regexp_extract({column}, '[^/]+$'), '')"


def _provider_type(column: str) -> str:
    """``Microsoft.Sql/servers/databases`` from ``…/providers/Microsoft.Sql/servers/s/databases/d``:
    the namespace and every type segment after the last ``/providers/``."""
    return (
        f"CASE WHEN contains(lower({column}), '/providers/') THEN nullif(array_to_string("
        f"list_filter(string_split(regexp_extract({column}, '(?i)^.*/providers/(.+)$', 1), '/'), "
        "(s, i) -> i = 1 OR i % 2 = 0), '/'), '') END"
    )


_COMMITTED_MODELS = "('reservation', 'savingsplan')"
_PRICING_MODEL = "lower(replace(`pricingModel`, ' ', ''))"
_RESOURCE_ID = "coalesce(`ResourceId`, `InstanceName`)"  # InstanceName: MCA files of 2019

COST_DETAILS = _Layout(
    cost="`costInBillingCurrency`",
    pricing_cost="`costInPricingCurrency`",
    date="`date`",
    charge_type="`chargeType`",
    frequency="`frequency`",
    committed=f"coalesce({_PRICING_MODEL} IN {_COMMITTED_MODELS}, false)",
    committed_explain="priced by a commitment (`pricingModel` Reservation or SavingsPlan)",
    pricing_model=_PRICING_MODEL,
    quantity="`quantity`",
    unit_price="`unitPrice`",
    unit_price_explain="`unitPrice` (MCA: × `exchangeRatePricingToBilling`)",
    payg_price="coalesce(`PayGPrice`, `MarketPrice`)",
    payg_cost="`paygCostInBillingCurrency`",
    list_explain=(
        "the pay-as-you-go cost: MCA `paygCostInBillingCurrency`, else `PayGPrice` × "
        "quantity (× the exchange rate); the cost where the file has no such price (tax, "
        "adjustments)",
        "`PayGPrice` (MCA: × `exchangeRatePricingToBilling`, into the billing currency); "
        "null on tax",
    ),
    rate="coalesce(`exchangeRatePricingToBilling`, `ExchangeRate`, 1)",
    currency="coalesce(`billingCurrency`, `billingCurrencyCode`)",
    pricing_currency=(
        "coalesce(`pricingCurrency`, `pricingCurrencyCode`, `billingCurrency`, "
        "`billingCurrencyCode`)"
    ),
    commitment_id="coalesce(`benefitId`, `reservationId`)",
    commitment_name="coalesce(`benefitName`, `reservationName`)",
    commitment_explain="`benefitId` (the reservation or savings plan), else `reservationId`",
    resource_id=_RESOURCE_ID,
    resource_name=f"coalesce(`ResourceName`, {_last_segment(_RESOURCE_ID)})",
    resource_type=f"coalesce(`ResourceType`, {_provider_type(_RESOURCE_ID)})",
    location="`resourceLocation`",
    tags="`tags`",
    billing_account_id="`billingProfileId`",
    billing_account_name="`billingProfileName`",
    billing_account_explain=(
        "`billingProfileId`: what an invoice is issued to (MCA: the billing profile; EA: "
        "the enrollment, the same value as `billingAccountId`); the MCA billing account "
        "is kept as `x_billingAccountId`"
    ),
    billing_account_type=(
        "CASE WHEN `billingProfileId` IS NULL THEN NULL "
        "WHEN `billingAccountId` IS NULL OR `billingAccountId` = `billingProfileId` "
        "THEN 'Billing Account' ELSE 'Billing Profile' END"
    ),
    billing_account_type_explain=(
        "Billing Profile (MCA: the billing profile differs from the billing account); "
        "Billing Account (EA: the enrollment, the same id as `billingAccountId`)"
    ),
    period_start="`billingPeriodStartDate`",
    period_end="date_trunc('day', `billingPeriodEndDate`) + INTERVAL 1 DAY",
    period_explain=(
        "as UTC",
        "the day after `billingPeriodEndDate` (Azure's end date is inclusive, FOCUS's exclusive)",
    ),
    subscription_id="coalesce(`SubscriptionId`, `SubscriptionGuid`)",
    subscription_name="`subscriptionName`",
    publisher_name="`publisherName`",
    publisher_type="`publisherType`",
    invoice_issuer="coalesce(`partnerName`, 'Microsoft')",
    invoice_issuer_explain="the CSP partner (`partnerName`), else Microsoft",
    invoice_id="`invoiceId`",
    meter_category="`meterCategory`",
    meter_name="`meterName`",
    meter_id="`meterId`",
    unit="`unitOfMeasure`",
    product_name="coalesce(`ProductName`, `Product`)",
    sku_id="coalesce(`ProductId`, `PartNumber`, `meterId`)",
    sku_explain="MCA `ProductId`, EA `PartNumber`, else the meter id; null on tax",
    consumed_service="`consumedService`",
)

USAGE_DETAILS = _Layout(
    cost="`PreTaxCost`",
    pricing_cost="NULL",
    date="`UsageDateTime`",
    charge_type="`ChargeType`",
    frequency="`Frequency`",
    committed="(`ReservationId` IS NOT NULL)",
    committed_explain="with a `ReservationId` (the layout has no `pricingModel`)",
    pricing_model="NULL",
    quantity="`UsageQuantity`",
    unit_price="coalesce(`UnitPrice`, `ResourceRate`)",
    unit_price_explain="`UnitPrice`, else `ResourceRate`",
    payg_price="NULL",
    payg_cost="NULL",
    list_explain=(
        "the cost: the older layout has no pay-as-you-go price",
        "null: the older layout has no pay-as-you-go price",
    ),
    rate="1",
    currency="coalesce(`Currency`, `BillingCurrency`)",
    pricing_currency="coalesce(`Currency`, `BillingCurrency`)",
    commitment_id="`ReservationId`",
    commitment_name="`ReservationName`",
    commitment_explain="`ReservationId`",
    resource_id="`InstanceId`",
    resource_name=f"coalesce(`ResourceName`, {_last_segment('`InstanceId`')})",
    resource_type=f"coalesce(`ResourceType`, {_provider_type('`InstanceId`')})",
    location="`ResourceLocation`",
    tags="`Tags`",
    billing_account_id="coalesce(`AccountOwnerId`, `SubscriptionGuid`)",
    billing_account_name="coalesce(`AccountName`, `SubscriptionName`)",
    billing_account_explain=(
        "the EA enrollment account (`AccountOwnerId`); pay-as-you-go files, which have "
        "none, the subscription (a pay-as-you-go invoice is issued per subscription). The "
        "layout names no enrollment"
    ),
    billing_account_type=(
        "CASE WHEN `AccountOwnerId` IS NOT NULL THEN 'Enrollment Account' "
        "WHEN `SubscriptionGuid` IS NOT NULL THEN 'Subscription' END"
    ),
    billing_account_type_explain=(
        "Enrollment Account (EA: `AccountOwnerId`); Subscription (pay-as-you-go files)"
    ),
    period_start="date_trunc('month', `UsageDateTime`)",
    period_end="date_trunc('month', `UsageDateTime`) + INTERVAL 1 MONTH",
    period_explain=(
        "the first day of the month of `UsageDateTime` (the layout has no billing period)",
        "the first day of the next month",
    ),
    subscription_id="`SubscriptionGuid`",
    subscription_name="`SubscriptionName`",
    publisher_name="`PublisherName`",
    publisher_type="`PublisherType`",
    invoice_issuer="'Microsoft'",
    invoice_issuer_explain="Microsoft",
    invoice_id=None,
    meter_category="`MeterCategory`",
    meter_name="`MeterName`",
    meter_id="`MeterId`",
    unit="`UnitOfMeasure`",
    product_name="`ProductName`",
    sku_id="`MeterId`",
    sku_explain="the meter id (the older layout names no product); null on tax",
    consumed_service="`ConsumedService`",
)

_ACTUAL_AMORTIZED_NOTE = (
    "Reads the actual-cost and the amortized-cost export alike (a header can't tell them "
    "apart, and the rules need not): BilledCost is 0 on covered usage (which costs 0 in the "
    "actual export already) and on UnusedReservation/UnusedSavingsPlan rows (only in the "
    "amortized export); EffectiveCost is 0 on commitment purchases and refunds (only in the "
    "actual export); both are the cost column everywhere else. So an actual file's "
    "BilledCost sums to its cost column, and an amortized file's EffectiveCost does."
)
_ONE_DATASET_NOTE = (
    "Import one of the two exports for a period, not both: their usage rows are the same "
    "charges. The actual export's EffectiveCost leaves out commitments (its covered usage "
    "costs 0 and its purchases are amortized elsewhere); the amortized export's BilledCost "
    "leaves out commitment purchases (that dataset has none)."
)

AZURE = NativeFormat(
    name="azure",
    provider="Microsoft",
    title="Microsoft Azure cost details (EA and MCA; actual or amortized cost)",
    required=(
        "billingProfileId",
        "billingPeriodStartDate",
        "billingPeriodEndDate",
        "date",
        "chargeType",
        "costInBillingCurrency",
    ),
    rules=_rules(COST_DETAILS),
    numbers=frozenset(
        {
            "costInBillingCurrency",
            "costInPricingCurrency",
            "quantity",
            "unitPrice",
            "PayGPrice",
            "MarketPrice",
            "paygCostInBillingCurrency",
            "exchangeRatePricingToBilling",
            "ExchangeRate",
        }
    ),
    times=dict.fromkeys(("date", "billingPeriodStartDate", "billingPeriodEndDate"), DATE_FORMATS),
    keep=frozenset({"billingAccountId", "unitOfMeasure", "costInPricingCurrency"}),
    notes=(
        _ACTUAL_AMORTIZED_NOTE,
        _ONE_DATASET_NOTE,
        "EA and MCA differ in spelling (`CostInBillingCurrency`/`costInBillingCurrency`: "
        "names match without regard to case) and in a few names (`BillingCurrencyCode`/"
        "`billingCurrency`, `ResourceGroup`/`resourceGroupName`): rules read whichever the "
        "file has. MCA prices are in the pricing currency: unit prices and costs are "
        "converted with `exchangeRatePricingToBilling`.",
        "Dates are read as `MM/DD/YYYY` or ISO 8601 (`YYYY-MM-DD`, with or without a time), "
        "as UTC.",
        "Azure's `unitOfMeasure` may name a block (`10 Hours`, `10K`): PricingUnit and "
        "ConsumedUnit write it in FOCUS's unit format with the block size kept (`10 Hours`, "
        "`10000 Units`), and quantities are not rescaled, so prices stay per unit of "
        "`quantity` as Microsoft computes costs (`unitPrice` × `quantity`). The unit as "
        "written is kept as `x_unitOfMeasure`.",
    ),
)

AZURE_LEGACY = NativeFormat(
    name="azure-legacy",
    provider="Microsoft",
    title="Microsoft Azure usage details, older layout (EA and pay-as-you-go)",
    required=("SubscriptionGuid", "UsageDateTime", "PreTaxCost", "UsageQuantity"),
    rules=_rules(USAGE_DETAILS),
    numbers=frozenset({"PreTaxCost", "UsageQuantity", "UnitPrice", "ResourceRate"}),
    times={"UsageDateTime": DATE_FORMATS},
    keep=frozenset({"UnitOfMeasure"}),
    notes=(
        _ACTUAL_AMORTIZED_NOTE.replace("covered usage", "usage with a `ReservationId`", 1),
        _ONE_DATASET_NOTE,
        "The layout has no billing period: the calendar month of `UsageDateTime` stands in. "
        "EA enrollments are invoiced by calendar month; a pay-as-you-go subscription whose "
        "billing cycle starts on another day is not, so its months don't match its invoices.",
        "The layout names no enrollment or billing profile: BillingAccountId is the EA "
        "enrollment account, or the subscription in pay-as-you-go files. Files without a "
        "`Currency` column (some EA files) can't be read: BillingCurrency would be empty.",
        'Tags are often written without their braces (`"team": "payments","env": "prod"`); '
        "both spellings are read.",
    ),
)

FORMATS = (AZURE, AZURE_LEGACY)
