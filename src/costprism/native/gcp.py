"""Google Cloud: the Cloud Billing export (standard and detailed usage cost data), to FOCUS 1.2.

Google exports billing data to BigQuery, one table per billing account: the *standard*
export (``gcp_billing_export_v1_<account>``) and the *detailed* one
(``gcp_billing_export_resource_v1_<account>``), which adds ``resource.name``,
``resource.global_name`` and the ``price.*`` fields. Out of BigQuery the rows come in two
layouts, and each is a format here, sharing one list of rules:

- **nested** (``gcp-billing``): newline-delimited JSON (or Parquet) as BigQuery writes it,
  ``service``, ``sku``, ``project``, ``location``, ``usage``, ``invoice``, ``price`` … as
  objects and ``labels``, ``system_labels``, ``credits`` as lists of objects.
- **flat** (``gcp-billing-flat``): CSV as a query such as
  ``SELECT service.description AS `service.description`, TO_JSON_STRING(labels) …`` writes
  it: one column per field, named by its dotted path, the lists as JSON text.

The rules are written once through :class:`Layout`, which spells a field either as its
dotted column (flat) or as a path into the JSON of its top-level column (nested; a field or
column the file lacks reads as null, so the standard and the detailed export are one
format: ResourceId and the unit prices are simply empty in the standard one).

Costs follow Google's own FOCUS view of the export:

- ``cost`` is the usage priced at the account's (possibly negotiated) rates, before credits;
  ``credits`` lists what is taken off it on the same line: free tier, sustained use and
  committed use discounts, promotions, contractual discounts, fee utilization offsets.
- BilledCost is ``cost + Σ credits.amount`` (credits are negative): what the invoice charges
  for the line. Σ BilledCost per ``invoice.month`` is the invoice's total.
- EffectiveCost is the same. Google spreads a commitment's fee over its term itself (the fee
  is charged hour by hour on its own ``Commitment …`` SKU) and gives covered usage its
  committed use discount as a credit, so the amortized cost of a line is its net cost. What
  the export cannot say is which covered line used which part of a fee, so the fee stays on
  its own (Purchase) line rather than being spread onto the covered usage. In Google's newer
  CUD data model the fee line carries a ``FEE_UTILIZATION_OFFSET`` credit for the used part,
  so its net cost is the unused part of the commitment.
- ListCost is ``cost_at_list`` (the usage at list prices), else ``cost``.
- ContractedCost is ``cost``: the account's rates before any credit, committed use
  discounts included.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from costprism.ingest.checks import literal, quote
from costprism.native.mapping import NativeFormat, Rule, service_rules

# service.description → FOCUS service subcategory (the category follows from it).
SUBCATEGORIES: Mapping[str, str] = {
    "Compute Engine": "Virtual Machines",
    "VMware Engine": "Virtual Machines",
    "Google Cloud VMware Engine": "Virtual Machines",
    "Kubernetes Engine": "Containers",
    "Artifact Registry": "Containers",
    "Container Registry": "Containers",
    "Cloud Run": "Serverless Compute",
    "Cloud Functions": "Serverless Compute",
    "Cloud Run functions": "Serverless Compute",
    "App Engine": "Application Platforms",
    "Cloud Storage": "Object Storage",
    "Filestore": "File Storage",
    "Cloud Filestore": "File Storage",
    "Backup and DR Service": "Backup Storage",
    "Cloud SQL": "Relational Databases",
    "Cloud Spanner": "Relational Databases",
    "Spanner": "Relational Databases",
    "AlloyDB for PostgreSQL": "Relational Databases",
    "AlloyDB": "Relational Databases",
    "Cloud Bigtable": "NoSQL Databases",
    "Bigtable": "NoSQL Databases",
    "Cloud Firestore": "NoSQL Databases",
    "Firestore": "NoSQL Databases",
    "Cloud Datastore": "NoSQL Databases",
    "Cloud Memorystore for Redis": "Caching",
    "Memorystore for Redis": "Caching",
    "Memorystore for Memcached": "Caching",
    "BigQuery": "Data Warehouses",
    "BigQuery Reservation API": "Data Warehouses",
    "BigQuery Storage API": "Data Warehouses",
    "BigQuery BI Engine": "Data Warehouses",
    "Cloud Dataflow": "Data Processing",
    "Dataflow": "Data Processing",
    "Cloud Dataproc": "Data Processing",
    "Dataproc": "Data Processing",
    "Cloud Data Fusion": "Data Processing",
    "Looker": "Business Intelligence",
    "Looker Studio": "Business Intelligence",
    "Cloud Pub/Sub": "Messaging",
    "Pub/Sub": "Messaging",
    "Cloud Tasks": "Messaging",
    "Cloud Composer": "Workflow Orchestration",
    "Workflows": "Workflow Orchestration",
    "Cloud Scheduler": "Workflow Orchestration",
    "API Gateway": "API Management",
    "Apigee": "API Management",
    "Vertex AI": "AI Platforms",
    "Cloud Vision API": "AI Platforms",
    "Gemini API": "Generative AI",
    "Generative Language API": "Generative AI",
    "Cloud Natural Language API": "Natural Language Processing",
    "Cloud Translation API": "Natural Language Processing",
    "Cloud Speech API": "Natural Language Processing",
    "Speech-to-Text": "Natural Language Processing",
    "Cloud Text-to-Speech API": "Natural Language Processing",
    "Dialogflow": "Bots",
    "Dialogflow CX": "Bots",
    "Networking": "Network Connectivity",
    "Cloud Interconnect": "Network Connectivity",
    "Cloud VPN": "Network Connectivity",
    "Cloud NAT": "Network Connectivity",
    "Cloud CDN": "Content Delivery",
    "Cloud DNS": "Network Infrastructure",
    "Cloud Load Balancing": "Application Networking",
    "Cloud Armor": "Network Security",
    "Cloud Logging": "Observability",
    "Cloud Monitoring": "Observability",
    "Stackdriver Logging": "Observability",
    "Stackdriver Monitoring": "Observability",
    "Cloud Trace": "Observability",
    "Support": "Support",
    "Cloud Key Management Service (KMS)": "Secret Management",
    "Secret Manager": "Secret Management",
    "Security Command Center": "Security Posture Management",
    "Identity Platform": "Identity and Access Management",
    "Cloud Build": "Continuous Integration and Deployment",
    "Cloud Deploy": "Continuous Integration and Deployment",
    "Cloud Source Repositories": "Source Code Management",
    "Cloud Workstations": "Development Environments",
    "Database Migration Service": "Data Migration",
    "Data Catalog": "Data Governance",
    "Dataplex": "Data Governance",
}

# location.region → display name, as Google's FOCUS view of the export names them.
REGION_NAMES: Mapping[str, str] = {
    "africa-south1": "Johannesburg",
    "asia-east1": "Taiwan",
    "asia-east2": "Hong Kong",
    "asia-northeast1": "Tokyo",
    "asia-northeast2": "Osaka",
    "asia-northeast3": "Seoul",
    "asia-south1": "Mumbai",
    "asia-south2": "Delhi",
    "asia-southeast1": "Singapore",
    "asia-southeast2": "Jakarta",
    "australia-southeast1": "Sydney",
    "australia-southeast2": "Melbourne",
    "europe-central2": "Warsaw",
    "europe-north1": "Finland",
    "europe-southwest1": "Madrid",
    "europe-west1": "Belgium",
    "europe-west2": "London",
    "europe-west3": "Frankfurt",
    "europe-west4": "Netherlands",
    "europe-west6": "Zurich",
    "europe-west8": "Milan",
    "europe-west9": "Paris",
    "europe-west10": "Berlin",
    "europe-west12": "Turin",
    "me-central1": "Doha",
    "me-central2": "Dammam",
    "me-west1": "Tel Aviv",
    "northamerica-northeast1": "Montréal",
    "northamerica-northeast2": "Toronto",
    "southamerica-east1": "São Paulo",
    "southamerica-west1": "Santiago",
    "us-central1": "Iowa",
    "us-east1": "South Carolina",
    "us-east4": "Northern Virginia",
    "us-east5": "Columbus",
    "us-south1": "Dallas",
    "us-west1": "Oregon",
    "us-west2": "Los Angeles",
    "us-west3": "Salt Lake City",
    "us-west4": "Las Vegas",
}

# usage.unit and usage.pricing_unit → FOCUS unit format (others are kept as written).
UNITS: Mapping[str, str] = {
    "second": "Seconds",
    "seconds": "Seconds",
    "minute": "Minutes",
    "hour": "Hours",
    "day": "Days",
    "month": "Months",
    "year": "Years",
    "byte": "B",
    "bytes": "B",
    "byte-seconds": "B-Seconds",
    "kibibyte": "KiB",
    "mebibyte": "MiB",
    "gibibyte": "GiB",
    "tebibyte": "TiB",
    "pebibyte": "PiB",
    "gibibyte hour": "GiB-Hours",
    "gibibyte day": "GiB-Days",
    "gibibyte month": "GiB-Months",
    "tebibyte month": "TiB-Months",
    "count": "Count",
    "request": "Requests",
    "requests": "Requests",
}

_CUD_CREDITS = ("COMMITTED_USAGE_DISCOUNT", "COMMITTED_USAGE_DISCOUNT_DOLLAR_BASE")
_CORRECTIONS = ("USAGE_CORRECTION", "PRICE_CORRECTION", "METADATA_CORRECTION")
_GOODWILL = ("GOODWILL", "SALES_BASED_GOODWILL", "SLA_VIOLATION")
_CREDIT_TYPE = "STRUCT(name VARCHAR, amount VARCHAR, full_name VARCHAR, id VARCHAR, type VARCHAR)"
_LABEL_TYPE = "STRUCT(key VARCHAR, value VARCHAR)"
_TAG_TYPE = "STRUCT(key VARCHAR, value VARCHAR, namespace VARCHAR)"


@dataclass(frozen=True)
class Layout:
    """How a rule spells an export field, named by its dotted BigQuery path.

    Flat: the dotted column, lists as JSON text. Nested: the top-level column cast to a
    struct of just the field read (``TRY_CAST(`usage` AS STRUCT("unit" VARCHAR))``): a cast
    drops the other fields, gives null for a field the file lacks, reads a column that came
    as text (all null where DuckDB sampled it) and never fails to bind, at a fraction of the
    cost of going through JSON.
    """

    nested: bool

    def text(self, path: str) -> str:
        """The field as text."""
        return self._field(path, "VARCHAR")

    def number(self, path: str) -> str:
        """The field as a decimal (flat columns and top-level fields are in ``numbers``)."""
        if not self.nested or "." not in path:
            return f"`{path}`"
        return _decimal(self.text(path))

    def records(self, path: str, record: str) -> str:
        """A list-of-records field (``credits``) as a list of ``record`` structs; null where
        it can't be read."""
        if not self.nested:
            return f"TRY_CAST(TRY_CAST(`{path}` AS JSON) AS {record}[])"
        return self._field(path, f"{record}[]")

    def labels(self, path: str) -> str:
        """Labels as a list of {key, value} (empty where there are none or they can't be
        read): BigQuery's list of records, or in flat files also a JSON object."""
        if self.nested:
            return f"coalesce({self.records(path, _LABEL_TYPE)}, [])"
        parsed = f"TRY_CAST(`{path}` AS JSON)"
        return (
            f"coalesce(TRY_CAST({parsed} AS {_LABEL_TYPE}[]), "
            f"map_entries(TRY_CAST({parsed} AS MAP(VARCHAR, VARCHAR))), [])"
        )

    def _field(self, path: str, kind: str) -> str:
        column, _, rest = path.partition(".")
        if not self.nested or (not rest and kind == "VARCHAR"):
            return f"`{path}`"
        if not rest:
            return f"TRY_CAST(`{path}` AS {kind})"
        struct = f"STRUCT({quote(rest)} {kind})"
        return f"struct_extract(TRY_CAST(`{column}` AS {struct}), {literal(rest)})"


def _decimal(text: str) -> str:
    return f"TRY_CAST(TRY_CAST({text} AS DOUBLE) AS DECIMAL(38, 12))"


def _in(values: tuple[str, ...]) -> str:
    return "(" + ", ".join(literal(v) for v in values) + ")"


@dataclass(frozen=True)
class _Sql:
    """The expressions several rules share, spelled for one layout."""

    layout: Layout

    @property
    def cost(self) -> str:
        return self.layout.number("cost")

    @property
    def cost_type(self) -> str:
        """``cost_type``, lower case, ``rounding_error`` read as ``rounding error``."""
        return f"replace(lower(coalesce({self.layout.text('cost_type')}, 'regular')), '_', ' ')"

    @property
    def credits(self) -> str:
        return self.layout.records("credits", _CREDIT_TYPE)

    @property
    def credit_sum(self) -> str:
        """Σ credits.amount: 0 without credits, null where they can't be read."""
        amount = _decimal("c.amount")
        listed = (
            f"(list_transform([{self.credits}], cs -> CASE WHEN cs IS NULL THEN NULL "
            f"WHEN list_bool_or(list_transform(cs, c -> {amount} IS NULL)) THEN NULL "
            f"ELSE coalesce(list_sum(list_transform(cs, c -> {amount})), 0) END))[1]"
        )
        return f"CASE WHEN {self.layout.text('credits')} IS NULL THEN 0 ELSE {listed} END"

    @property
    def net(self) -> str:
        return f"{self.cost} + {self.credit_sum}"

    @property
    def cud(self) -> str:
        """The line's committed use discount credit (a struct), if any."""
        return f"(list_filter({self.credits}, c -> c.type IN {_in(_CUD_CREDITS)})[1])"

    @property
    def sku(self) -> str:
        return self.layout.text("sku.description")

    @property
    def adjustment(self) -> str:
        return self.layout.text("adjustment_info.type")

    @property
    def fee(self) -> str:
        """A commitment fee: a regular line whose SKU is ``Commitment …``."""
        return f"coalesce(lower({self.sku}) LIKE 'commitment%', false)"

    @property
    def new_model(self) -> str:
        """Usage priced through a spend-based commitment in Google's newer CUD data model."""
        model = self.layout.text("consumption_model.description")
        return f"coalesce(lower({model}) <> 'default', false)"

    @property
    def category(self) -> str:
        return (
            f"CASE {self.cost_type} WHEN 'tax' THEN 'Tax' "
            f"WHEN 'adjustment' THEN CASE WHEN {self.adjustment} IN {_in(_GOODWILL)} "
            "THEN 'Credit' ELSE 'Adjustment' END "
            f"WHEN 'regular' THEN CASE WHEN {self.fee} THEN 'Purchase' ELSE 'Usage' END "
            "ELSE 'Adjustment' END"
        )

    def when(self, *categories: str) -> str:
        return f"({self.category}) IN {_in(categories)}"

    @property
    def committed(self) -> str:
        """Usage a commitment covered: a CUD credit, or a non-default consumption model."""
        return f"({self.when('Usage')} AND ({self.cud} IS NOT NULL OR {self.new_model}))"

    @property
    def month(self) -> str:
        return f"CAST(try_strptime({self.layout.text('invoice.month')}, '%Y%m') AS TIMESTAMPTZ)"

    @property
    def pricing_quantity(self) -> str:
        return self.layout.number("usage.amount_in_pricing_units")

    @property
    def tags(self) -> str:
        layout = self.layout
        entries = [
            layout.labels("project.labels"),
            _resource_manager_tags(layout.records("tags", _TAG_TYPE)),
            layout.labels("system_labels"),
            layout.labels("labels"),
        ]
        merged = entries[0]
        for entry in entries[1:]:
            merged = f"list_concat({merged}, {entry})"
        keyed = "e.key IS NOT NULL AND e.key <> ''"
        last = (
            "NOT list_contains(list_transform(list_slice(es, i + 1, len(es)), x -> x.key), e.key)"
        )
        return (
            f"(list_transform([{merged}], es -> CASE WHEN len(list_filter(es, e -> {keyed})) > 0 "
            f"THEN map_from_entries(list_filter(es, (e, i) -> {keyed} AND {last})) END))[1]"
        )


def _resource_manager_tags(parsed: str) -> str:
    """Resource Manager tags, keyed by their namespaced name (``<namespace>/<key>``)."""
    return (
        f"coalesce(list_transform({parsed}, t -> {{'key': "
        "CASE WHEN t.namespace IS NULL OR t.namespace = '' THEN t.key "
        "ELSE t.namespace || '/' || t.key END, 'value': t.value}), [])"
    )


def _rules(layout: Layout) -> tuple[Rule, ...]:
    s = _Sql(layout)
    text = layout.text
    subscription = text("subscription.instance_id")
    global_name = text("resource.global_name")
    regular = s.when("Usage", "Purchase")
    unit_quantity = f"nullif({layout.number('price.pricing_unit_quantity')}, 0)"
    region = text("location.region")
    return (
        Rule(column="ProviderName", sql="'Google Cloud'", explain="Google Cloud"),
        Rule(
            column="PublisherName",
            sql=(
                f"CASE WHEN {text('transaction_type')} LIKE 'THIRD_PARTY%' "
                f"THEN coalesce({text('seller_name')}, 'Google Cloud') ELSE 'Google Cloud' END"
            ),
            explain=(
                "`seller_name` on Marketplace lines (`transaction_type` THIRD_PARTY_RESELLER "
                "or THIRD_PARTY_AGENCY); Google Cloud otherwise"
            ),
        ),
        Rule(
            column="InvoiceIssuerName",
            sql=(
                f"CASE WHEN {text('transaction_type')} = 'THIRD_PARTY_AGENCY' "
                f"THEN coalesce({text('seller_name')}, 'Google') ELSE 'Google' END"
            ),
            explain=(
                "Google; `seller_name` where Google sells as the seller's agent "
                "(THIRD_PARTY_AGENCY: the seller invoices, on a split invoice)"
            ),
        ),
        Rule(column="BillingAccountId", sql=text("billing_account_id"), explain="as is"),
        Rule(
            column="BillingAccountType",
            sql=(
                f"CASE WHEN {text('billing_account_id')} IS NOT NULL "
                "THEN 'Cloud Billing Account' END"
            ),
            explain="Cloud Billing Account",
        ),
        Rule(column="SubAccountId", sql=text("project.id"), explain="the project id"),
        Rule(column="SubAccountName", sql=text("project.name"), explain="the project name"),
        Rule(
            column="SubAccountType",
            sql=f"CASE WHEN {text('project.id')} IS NOT NULL THEN 'Project' END",
            explain="Project where there is a project",
        ),
        Rule(column="BillingCurrency", sql=text("currency"), explain="as is"),
        Rule(column="PricingCurrency", sql=text("currency"), explain="as is"),
        Rule(
            column="PricingCurrencyEffectiveCost",
            sql=s.net,
            explain="EffectiveCost (PricingCurrency is the billing currency)",
        ),
        Rule(
            column="BillingPeriodStart",
            sql=s.month,
            explain="the first day of `invoice.month` (YYYYMM), 00:00 UTC",
        ),
        Rule(
            column="BillingPeriodEnd",
            sql=f"{s.month} + INTERVAL 1 MONTH",
            explain="the first day of the month after `invoice.month`, 00:00 UTC",
        ),
        Rule(column="ChargePeriodStart", sql="`usage_start_time`", explain="as UTC"),
        Rule(column="ChargePeriodEnd", sql="`usage_end_time`", explain="as UTC"),
        Rule(
            column="BilledCost",
            sql=s.net,
            explain=(
                "`cost` + Σ `credits.amount` (credits are negative): what the invoice charges "
                "for the line; empty, an error, where `credits` can't be read"
            ),
        ),
        Rule(
            column="EffectiveCost",
            sql=s.net,
            explain=(
                "`cost` + Σ `credits.amount`, as BilledCost: committed use discounts are credits "
                "on the covered lines and commitment fees are spread over the term by Google; "
                "a fee stays on its own line"
            ),
        ),
        Rule(
            column="ListCost",
            sql=f"coalesce({layout.number('cost_at_list')}, {s.cost})",
            explain="`cost_at_list`; `cost` where there is no list cost (tax, adjustments)",
        ),
        Rule(
            column="ContractedCost",
            sql=s.cost,
            explain="`cost`: the account's rates before credits and commitment discounts",
        ),
        Rule(
            column="ListUnitPrice",
            sql=(
                f"CASE WHEN {regular} THEN CAST(coalesce({layout.number('cost_at_list')}, "
                f"{s.cost}) / nullif({s.pricing_quantity}, 0) AS DECIMAL(38, 12)) END"
            ),
            explain=(
                "ListCost ÷ `usage.amount_in_pricing_units` on usage and purchases (an average "
                "over price tiers; the export has no list unit price)"
            ),
        ),
        Rule(
            column="ContractedUnitPrice",
            sql=(
                f"CASE WHEN {regular} THEN CAST(coalesce({layout.number('price.effective_price')}"
                f" / coalesce({unit_quantity}, 1), {s.cost} / nullif({s.pricing_quantity}, 0))"
                " AS DECIMAL(38, 12)) END"
            ),
            explain=(
                "`price.effective_price` ÷ `price.pricing_unit_quantity` (detailed export); "
                "else `cost` ÷ `usage.amount_in_pricing_units`; on usage and purchases"
            ),
        ),
        Rule(
            column="ChargeCategory",
            sql=s.category,
            explain=(
                "`cost_type`: regular → Usage, or Purchase for a commitment fee (`sku.description`"
                " starting `Commitment`); tax → Tax; adjustment → Credit for goodwill "
                "(`adjustment_info.type` GOODWILL, SALES_BASED_GOODWILL, SLA_VIOLATION), else "
                "Adjustment; rounding error → Adjustment"
            ),
        ),
        Rule(
            column="ChargeClass",
            sql=(
                f"CASE WHEN {s.cost_type} = 'adjustment' AND {s.adjustment} IN "
                f"{_in(_CORRECTIONS)} AND coalesce(`usage_start_time` < {s.month}, true) "
                "THEN 'Correction' END"
            ),
            explain=(
                "Correction for an adjustment of type USAGE_CORRECTION, PRICE_CORRECTION or "
                "METADATA_CORRECTION of usage before `invoice.month` (an earlier billing period)"
            ),
        ),
        Rule(
            column="ChargeFrequency",
            sql=(
                f"CASE ({s.category}) WHEN 'Usage' THEN 'Usage-Based' "
                "WHEN 'Purchase' THEN 'Recurring' ELSE 'One-Time' END"
            ),
            explain="usage → Usage-Based; commitment fees → Recurring; the rest → One-Time",
        ),
        Rule(
            column="ChargeDescription",
            sql=(
                f"CASE WHEN {s.cost_type} = 'adjustment' THEN coalesce("
                f"{text('adjustment_info.description')}, {s.sku}) "
                f"ELSE coalesce({s.sku}, CASE {s.cost_type} WHEN 'tax' THEN 'Tax' || "
                f"coalesce(' on ' || {text('service.description')}, '') "
                "WHEN 'rounding error' THEN 'Rounding error' END) END"
            ),
            explain=(
                "`sku.description`; `adjustment_info.description` on adjustments; lines "
                "without either: `Tax on <service.description>`, `Rounding error`"
            ),
        ),
        Rule(
            column="PricingCategory",
            sql=(
                f"CASE WHEN {s.committed} THEN 'Committed' "
                f"WHEN {s.when('Usage')} AND (lower({s.sku}) LIKE '%spot%' "
                f"OR lower({s.sku}) LIKE '%preemptible%') THEN 'Dynamic' "
                f"WHEN {regular} THEN 'Standard' END"
            ),
            explain=(
                "usage with a committed use discount credit (COMMITTED_USAGE_DISCOUNT, "
                "COMMITTED_USAGE_DISCOUNT_DOLLAR_BASE) or a non-default "
                "`consumption_model.description` → Committed; Spot and preemptible SKUs → "
                "Dynamic; other usage and commitment fees → Standard; null on other lines"
            ),
        ),
        Rule(
            column="CommitmentDiscountId",
            sql=(
                f"CASE WHEN {s.committed} THEN coalesce({subscription}, {s.cud}.id) "
                f"WHEN {s.when('Purchase')} THEN coalesce({subscription}, {global_name}) END"
            ),
            explain=(
                "`subscription.instance_id`; else the CUD credit's `id` on covered usage and "
                "`resource.global_name` on a commitment fee"
            ),
        ),
        Rule(
            column="CommitmentDiscountName",
            sql=(
                f"CASE WHEN {s.committed} THEN {s.cud}.full_name "
                f"WHEN {s.when('Purchase')} THEN {text('resource.name')} END"
            ),
            explain="the CUD credit's `full_name` on covered usage; `resource.name` on a fee",
        ),
        Rule(
            column="CommitmentDiscountType",
            sql=(
                f"CASE WHEN {s.committed} OR {s.when('Purchase')} THEN 'Committed Use Discount' END"
            ),
            explain="Committed Use Discount on covered usage and commitment fees",
        ),
        Rule(
            column="CommitmentDiscountCategory",
            sql=(
                f"CASE WHEN {s.committed} THEN CASE WHEN coalesce({s.cud}.type = "
                f"'COMMITTED_USAGE_DISCOUNT_DOLLAR_BASE', false) OR {s.new_model} "
                "THEN 'Spend' ELSE 'Usage' END "
                f"WHEN {s.when('Purchase')} THEN CASE WHEN lower({s.sku}) LIKE '%dollar based%' "
                "THEN 'Spend' ELSE 'Usage' END END"
            ),
            explain=(
                "Spend for spend-based commitments (COMMITTED_USAGE_DISCOUNT_DOLLAR_BASE credits, "
                "the newer consumption models, `Commitment - dollar based` fees); Usage for "
                "resource-based ones (COMMITTED_USAGE_DISCOUNT, `Commitment v1:` fees)"
            ),
        ),
        Rule(
            column="CommitmentDiscountStatus",
            sql=f"CASE WHEN {s.committed} THEN 'Used' END",
            explain=(
                "Used on covered usage; the export has no unused-commitment lines (the unused "
                "part is what the fee line's net cost leaves)"
            ),
        ),
        Rule(
            column="ConsumedQuantity",
            sql=f"CASE WHEN {s.when('Usage')} THEN {layout.number('usage.amount')} END",
            explain="`usage.amount` on usage lines",
        ),
        Rule(
            column="ConsumedUnit",
            sql=f"CASE WHEN {s.when('Usage')} THEN {_unit(text('usage.unit'))} END",
            explain="`usage.unit` on usage lines, in FOCUS spelling (seconds → Seconds)",
        ),
        Rule(
            column="PricingQuantity",
            sql=f"CASE WHEN {regular} THEN {s.pricing_quantity} END",
            explain="`usage.amount_in_pricing_units` on usage and purchases",
        ),
        Rule(
            column="PricingUnit",
            sql=f"CASE WHEN {regular} THEN {_unit(text('usage.pricing_unit'))} END",
            explain=(
                "`usage.pricing_unit` on usage and purchases, in FOCUS spelling "
                "(gibibyte month → GiB-Months)"
            ),
        ),
        Rule(
            column="RegionId",
            sql=region,
            explain="`location.region` (null for multi-region and global usage)",
        ),
        Rule(
            column="RegionName",
            sql=f"CASE WHEN {region} IS NOT NULL THEN coalesce({_lookup(region, REGION_NAMES)}, "
            f"{region}) END",
            explain="the region's display name (Iowa for us-central1); the id when not known",
        ),
        Rule(column="AvailabilityZone", sql=text("location.zone"), explain="`location.zone`"),
        Rule(
            column="ResourceId",
            sql=global_name,
            explain="`resource.global_name` (detailed export only)",
        ),
        Rule(
            column="ResourceName",
            sql=text("resource.name"),
            explain="`resource.name` (detailed export only)",
        ),
        Rule(
            column="ResourceType",
            sql=(
                f"CASE WHEN regexp_full_match({global_name}, "
                r"'//[^./]+\.googleapis\.com/(.*/)?[^/]+/[^/]+') "
                f"THEN regexp_replace({global_name}, "
                r"'^//([^./]+)\.googleapis\.com/(.*/)?([^/]+)/[^/]+$', '\1.\3') END"
            ),
            explain=(
                "from `resource.global_name`: the API and the collection, "
                "`//compute.googleapis.com/projects/p/zones/z/instances/1` → compute.instances"
            ),
        ),
        Rule(
            column="ServiceName",
            sql=(
                f"coalesce({text('service.description')}, {text('service.id')}, "
                f"CASE {s.cost_type} WHEN 'rounding error' THEN 'Rounding Error' "
                "WHEN 'tax' THEN 'Tax' END)"
            ),
            explain=(
                "`service.description`, else `service.id`; a rounding-error (or tax) line "
                "without a service → Rounding Error (Tax)"
            ),
        ),
        *service_rules(text("service.description"), SUBCATEGORIES, "`service.description`"),
        Rule(
            column="SkuId",
            sql=f"CASE WHEN NOT {s.when('Tax')} THEN {text('sku.id')} END",
            explain="`sku.id` (null on tax)",
        ),
        Rule(
            column="SkuPriceId",
            sql=(
                f"CASE WHEN {regular} THEN {text('sku.id')} || coalesce(':' || CAST(CAST("
                f"{layout.number('price.tier_start_amount')} AS DOUBLE) AS VARCHAR), '') END"
            ),
            explain=(
                "`sku.id`, with `:` and `price.tier_start_amount` where the detailed export "
                "names the price tier (`6F81-5844-456A:0.0`)"
            ),
        ),
        Rule(
            column="SkuMeter",
            sql=f"CASE WHEN NOT {s.when('Tax')} THEN {s.sku} END",
            explain="`sku.description` (null on tax)",
        ),
        Rule(
            column="Tags",
            sql=s.tags,
            explain=(
                "one map from `project.labels` (inherited), `tags` (Resource Manager tags, "
                "keyed `<namespace>/<key>`), `system_labels` (keys as Google writes them, e.g. "
                "`compute.googleapis.com/machine_spec`) and `labels`; a later source wins a key "
                "that repeats, so resource labels override project labels"
            ),
        ),
    )


def _unit(value: str) -> str:
    return f"coalesce({_lookup(f'lower({value})', UNITS)}, {value})"


def _lookup(expression: str, table: Mapping[str, str]) -> str:
    """``expression`` mapped through ``table``; null when not in it."""
    cases = " ".join(f"WHEN {literal(k)} THEN {literal(v)}" for k, v in table.items())
    return f"CASE {expression} {cases} END"


_FLAT_NUMBERS = frozenset(
    {
        "cost",
        "cost_at_list",
        "usage.amount",
        "usage.amount_in_pricing_units",
        "price.effective_price",
        "price.pricing_unit_quantity",
        "price.tier_start_amount",
    }
)
_TIMES = dict.fromkeys(("usage_start_time", "usage_end_time"), ())
_NOTES = (
    "The standard and the detailed export are read alike; the resource columns and unit "
    "prices are empty for the standard one.",
    "Credits are applied on the line they belong to, as Google's invoice does; the "
    "breakdown by credit type is not kept.",
    "Billing periods are calendar months in UTC; Google's invoice month runs on Pacific time.",
)

FLAT = NativeFormat(
    name="gcp-billing-flat",
    keep=frozenset({"credits"}),  # its breakdown by credit type stays readable as x_credits
    provider="Google Cloud",
    title="Google Cloud billing export, flattened (CSV with dotted column names)",
    required=(
        "billing_account_id",
        "service.description",
        "sku.id",
        "usage_start_time",
        "usage_end_time",
        "cost",
        "currency",
        "invoice.month",
    ),
    rules=_rules(Layout(nested=False)),
    numbers=_FLAT_NUMBERS,
    times=_TIMES,
    notes=(
        *_NOTES,
        "`labels`, `system_labels`, `project.labels`, `tags` and `credits` hold JSON text, "
        "as `TO_JSON_STRING` writes it (a list of records; labels may also be an object).",
    ),
)

NESTED = NativeFormat(
    name="gcp-billing",
    keep=frozenset({"credits"}),  # its breakdown by credit type stays readable as x_credits
    provider="Google Cloud",
    title="Google Cloud billing export (newline-delimited JSON or Parquet, nested)",
    required=(
        "billing_account_id",
        "service",
        "sku",
        "usage_start_time",
        "usage_end_time",
        "cost",
        "currency",
        "invoice",
    ),
    rules=_rules(Layout(nested=True)),
    numbers=frozenset({"cost", "cost_at_list"}),
    times=_TIMES,
    notes=(
        *_NOTES,
        "Nested fields are read by path: the rules below name them `usage.amount`, the "
        "source column is the top-level record (`usage`). Fields of a record a rule reads "
        "but no rule maps (`location.country`, `project.ancestry_numbers`) are not kept as "
        "`x_` columns.",
    ),
)

FORMATS = (NESTED, FLAT)
