# ruff: noqa: E501
"""Northwind Analytics: the fictional company behind the demo data set.

Plain data only: providers, billing and sub accounts, teams, products, cost centers,
regions, services with priced SKUs, commitment discounts, monthly charges and the
anomaly plan. ``generator.py`` turns this into FOCUS 1.2 rows.

Prices are list-like USD prices per PricingUnit. A SKU's ``daily_quantity`` is the
median usage of one resource on one day, in PricingUnit; for ``per_month`` SKUs
(GB-Months) it is the stored size, which the generator spreads over the month's days.
The tables keep one entry per line (``fmt: off``, and E501 is off for this file) so
they read as tables rather than as 1,500 lines of keyword arguments.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass
from typing import Literal, cast, get_args

TagStyle = Literal["pascal", "label"]
Workload = Literal["app", "data", "ml", "platform", "dev", "sandbox", "observability"]
AnomalyKind = Literal[
    "spike",
    "new_region",
    "gpu_burst",
    "egress_spike",
    "idle_resource",
    "slow_leak",
    "one_day_spike",
]

ENVIRONMENTS = ("prod", "staging", "dev", "sandbox")


@dataclass(frozen=True, kw_only=True)
class Provider:
    key: str  # folder name under focus/
    name: str  # ProviderName
    publisher: str  # PublisherName of first-party services
    invoice_issuer: str
    tag_style: TagStyle  # pascal: CostCenter/Environment; label: cost-center/environment
    row_share: float  # share of the monthly rows
    sub_account_type: str


@dataclass(frozen=True, kw_only=True)
class BillingAccount:
    provider: str
    id: str
    name: str
    type: str
    currency: str
    negotiated_discount: float  # off list, on Standard usage
    tax_rate: float
    invoice_prefix: str


@dataclass(frozen=True, kw_only=True)
class SubAccount:
    provider: str
    billing_account_id: str
    id: str
    name: str
    team: str
    environment: str
    workload: Workload
    regions: tuple[str, ...]  # the first is the home region
    weight: float  # relative number of resources
    shared: bool = False  # resources belong to many teams


@dataclass(frozen=True, kw_only=True)
class Team:
    key: str
    name: str
    cost_center: str
    product: str


@dataclass(frozen=True, kw_only=True)
class Product:
    key: str
    name: str


@dataclass(frozen=True, kw_only=True)
class CostCenter:
    code: str
    name: str


@dataclass(frozen=True, kw_only=True)
class Region:
    provider: str
    id: str
    name: str
    zones: tuple[str, ...]
    price_factor: float = 1.0


@dataclass(frozen=True, kw_only=True)
class Service:
    provider: str
    name: str  # ServiceName
    category: str
    subcategory: str
    resource_type: str
    id_template: str  # placeholders: account, subname, region, zone, name, hex
    role: str  # the middle part of resource names
    publisher: str | None = None  # marketplace seller, else the provider


@dataclass(frozen=True, kw_only=True)
class Sku:
    service: Service
    variant: str
    code: str  # SkuId
    meter: str
    pricing_unit: str
    consumed_unit: str
    consumed_per_unit: float
    list_price: float
    daily_quantity: float
    details: str | None  # SkuPriceDetails JSON text
    workloads: tuple[tuple[Workload, float], ...]
    instance: bool = False  # one machine: at most 24 hours a day
    per_month: bool = False  # a size billed per month (GB-Months)
    growth: float = 0.0  # monthly usage growth
    batch: bool = False  # month-end batch jobs
    zonal: bool = False
    spot: bool = False  # may run as spot/preemptible (PricingCategory=Dynamic)

    @property
    def provider(self) -> str:
        return self.service.provider

    @property
    def description(self) -> str:
        return f"{self.service.name} {self.variant} {self.meter}"


@dataclass(frozen=True, kw_only=True)
class Commitment:
    provider: str
    billing_account_id: str
    sub_account_id: str  # where the purchase is booked
    id: str
    name: str
    type: str
    category: Literal["Spend", "Usage"]
    service: str
    sku_code: str | None  # a Usage commitment covers one SKU in one region
    region: str | None
    discount: float  # off the contracted price
    size: float  # daily capacity as a multiple of the eligible weekday usage
    purchase_sku: str


@dataclass(frozen=True, kw_only=True)
class MonthlyCharge:
    """A charge worked out per month from billed cost: a credit, support or a subscription."""

    provider: str
    billing_account_id: str
    sub_account_id: str | None
    kind: Literal["credit", "support", "subscription"]
    service: Service
    sku_code: str
    description: str
    rate: float  # share of the base: the service's billed cost, or the whole account's
    base_service: str | None
    minimum: float = 0.0
    months: int | None = None  # only in the first n generated months


@dataclass(frozen=True, kw_only=True)
class AnomalyPlan:
    kind: AnomalyKind
    provider: str
    sub_account_id: str
    service: str
    at: float  # start, as a fraction of the generated timeline
    days: int | None  # None: until the end of the timeline
    factor: float  # usage multiplier (a slow leak's on its last day), or resources added
    description: str
    sku_code: str | None = None  # the SKU of the resources the anomaly adds
    region: str | None = None


@dataclass(frozen=True, kw_only=True)
class Company:
    name: str
    providers: tuple[Provider, ...]
    billing_accounts: tuple[BillingAccount, ...]
    sub_accounts: tuple[SubAccount, ...]
    teams: tuple[Team, ...]
    products: tuple[Product, ...]
    cost_centers: tuple[CostCenter, ...]
    environments: tuple[str, ...]
    regions: tuple[Region, ...]
    skus: tuple[Sku, ...]
    commitments: tuple[Commitment, ...]
    monthly_charges: tuple[MonthlyCharge, ...]
    anomalies: tuple[AnomalyPlan, ...]

    def provider(self, key: str) -> Provider:
        return next(p for p in self.providers if p.key == key)

    def sku(self, code: str) -> Sku:
        return next(s for s in self.skus if s.code == code)


def sku_code(provider: str, text: str) -> str:
    """A stable SkuId shaped like the provider's own."""
    digest = hashlib.sha256(f"{provider}/{text}".encode()).hexdigest().upper()
    if provider == "gcp":
        return f"{digest[:4]}-{digest[4:8]}-{digest[8:12]}"
    return digest[:16]


def _details(text: str) -> str | None:
    """``"CoreCount=8 InstanceType=m6i.2xlarge"`` -> SkuPriceDetails JSON text."""
    pairs = [item.split("=", 1) for item in text.split()]
    values = {k: int(v) if v.isdigit() else v for k, v in pairs}
    return json.dumps(values, separators=(",", ":")) if values else None


def _workload(name: str) -> Workload:
    if name not in get_args(Workload):
        raise ValueError(f"workload {name!r} is not one of {get_args(Workload)}")
    return cast(Workload, name)


def _sku(
    svc: Service,
    variant: str,
    meter: str,
    unit: str,
    price: float,
    qty: float,
    mix: str,
    flags: str = "",
    details: str = "",
) -> Sku:
    count, _, consumed = unit.partition(" ")
    per_unit = float(count) if consumed else 1.0
    growth = next((float(f[7:]) for f in flags.split() if f.startswith("growth=")), 0.0)
    workloads = tuple((_workload(w), float(n)) for w, n in (m.split(":") for m in mix.split()))
    return Sku(
        service=svc, variant=variant, code=sku_code(svc.provider, f"{svc.name}/{variant}"),
        meter=meter, pricing_unit=unit, consumed_unit=consumed or unit,
        consumed_per_unit=per_unit, list_price=price, daily_quantity=qty,
        details=_details(details), workloads=workloads,
        instance="instance" in flags, per_month="per_month" in flags, growth=growth,
        batch="batch" in flags, zonal="zonal" in flags, spot="spot" in flags,
    )  # fmt: skip


def _vm(family: str, cores: int, memory: int, gpus: int = 0) -> str:
    """SkuPriceDetails text for a machine type (m6i.2xlarge, Standard_D4s_v5, n2-standard-8)."""
    base = family.removeprefix("db.").removeprefix("ml.")
    if base.startswith("Standard_"):
        size, _, version = base.removeprefix("Standard_").partition("_")
        series = "".join(c for c in size if not c.isdigit()) + version
    else:
        series = base.split(".")[0].split("-")[0]
    gpu = f" GpuCount={gpus}" if gpus else ""
    return (
        f"InstanceType={family} InstanceSeries={series} CoreCount={cores} "
        f"MemorySize={memory} OperatingSystem=Linux{gpu}"
    )


PROVIDERS = (
    Provider(key="aws", name="AWS", publisher="AWS", invoice_issuer="AWS",
             tag_style="pascal", row_share=0.44, sub_account_type="Linked Account"),
    Provider(key="azure", name="Microsoft", publisher="Microsoft", invoice_issuer="Microsoft",
             tag_style="pascal", row_share=0.26, sub_account_type="Subscription"),
    Provider(key="gcp", name="Google Cloud", publisher="Google Cloud",
             invoice_issuer="Google Cloud", tag_style="label", row_share=0.27,
             sub_account_type="Project"),
    Provider(key="skyglass", name="Skyglass Observability", publisher="Skyglass Observability",
             invoice_issuer="Skyglass Observability Inc.", tag_style="label", row_share=0.03,
             sub_account_type="Workspace"),
)  # fmt: skip

TEAMS = (
    Team(key="platform", name="Platform Engineering", cost_center="CC-100", product="shared"),
    Team(key="payments", name="Payments", cost_center="CC-110", product="checkout"),
    Team(key="storefront", name="Storefront", cost_center="CC-120", product="storefront"),
    Team(key="mobile", name="Mobile", cost_center="CC-130", product="mobile-app"),
    Team(key="data-eng", name="Data Engineering", cost_center="CC-140", product="insights"),
    Team(key="analytics", name="Analytics", cost_center="CC-150", product="insights"),
    Team(key="ml", name="Machine Learning", cost_center="CC-160", product="recommendations"),
    Team(key="growth", name="Growth", cost_center="CC-170", product="storefront"),
)
PRODUCTS = (
    Product(key="checkout", name="Checkout"),
    Product(key="storefront", name="Storefront"),
    Product(key="mobile-app", name="Mobile App"),
    Product(key="insights", name="Insights"),
    Product(key="recommendations", name="Recommendations"),
    Product(key="shared", name="Shared platform (to be allocated to the other products)"),
)
COST_CENTERS = tuple(CostCenter(code=t.cost_center, name=t.name) for t in TEAMS)

# Values as people really type them; the generator puts these on a few resources.
TEAM_MISSPELLINGS = {
    "platform": ("Platform", "platfrom"),
    "payments": ("Payments", "paymnts"),
    "storefront": ("StoreFront", "store-front"),
    "mobile": ("Mobile", "mobil"),
    "data-eng": ("DataEng", "data_eng"),
    "analytics": ("Analytics", "analytcs"),
    "ml": ("ML", "machine-learning"),
    "growth": ("Growth", "grwoth"),
}
ENVIRONMENT_MISSPELLINGS = {
    "prod": ("Prod", "production"),
    "staging": ("Staging", "stage"),
    "dev": ("Dev", "development"),
    "sandbox": ("Sandbox", "sbx"),
}

AWS_ORG, AWS_LEGACY = "741852963001", "741852963094"
AZ_US, AZ_EU = "NW7Q-4K2M-BG7-PGB", "HX3P-7LQD-BG7-TGB"
GCP_BA, SKY_BA = "01A7C3-5F2B9E-D84C61", "sg-org-48213"

# fmt: off
BILLING_ACCOUNTS = (
    BillingAccount(provider="aws", id=AWS_ORG, name="Northwind Analytics AWS Organization",
                   type="Management Account", currency="USD", negotiated_discount=0.06,
                   tax_rate=0.0625, invoice_prefix="EUINUS26"),
    BillingAccount(provider="aws", id=AWS_LEGACY, name="Larkspur Data (acquired) AWS",
                   type="Management Account", currency="USD", negotiated_discount=0.0,
                   tax_rate=0.0, invoice_prefix="EUINUS27"),
    BillingAccount(provider="azure", id=AZ_US, name="Northwind Analytics Inc. US",
                   type="Billing Profile", currency="USD", negotiated_discount=0.05,
                   tax_rate=0.06, invoice_prefix="G0"),
    BillingAccount(provider="azure", id=AZ_EU, name="Northwind Analytics GmbH",
                   type="Billing Profile", currency="EUR", negotiated_discount=0.05,
                   tax_rate=0.19, invoice_prefix="E0"),
    BillingAccount(provider="gcp", id=GCP_BA, name="Northwind Analytics GCP",
                   type="Billing Account", currency="USD", negotiated_discount=0.03,
                   tax_rate=0.05, invoice_prefix="53"),
    BillingAccount(provider="skyglass", id=SKY_BA, name="Northwind Analytics",
                   type="Organization", currency="USD", negotiated_discount=0.10,
                   tax_rate=0.0, invoice_prefix="SG-"),
)


def _sub(provider: str, ba: str, id_: str, name: str, team: str, env: str, workload: Workload,
         regions: tuple[str, ...], weight: float, shared: bool = False) -> SubAccount:
    return SubAccount(provider=provider, billing_account_id=ba, id=id_, name=name, team=team,
                      environment=env, workload=workload, regions=regions, weight=weight,
                      shared=shared)


US_E, US_W, EU_W, AP_SE2 = "us-east-1", "us-west-2", "eu-west-1", "ap-southeast-2"
SUB_ACCOUNTS = (
    _sub("aws", AWS_ORG, "310482650117", "prod-payments", "payments", "prod", "app", (US_E, US_W), 1.2),
    _sub("aws", AWS_ORG, "310482650118", "staging-payments", "payments", "staging", "app", (US_E,), 0.4),
    _sub("aws", AWS_ORG, "310482650121", "prod-storefront", "storefront", "prod", "app", (US_E, EU_W), 1.2),
    _sub("aws", AWS_ORG, "310482650124", "shared-platform", "platform", "prod", "platform", (US_E, US_W), 1.0, True),
    _sub("aws", AWS_ORG, "310482650127", "data-lake-prod", "data-eng", "prod", "data", (US_E, US_W), 1.3),
    _sub("aws", AWS_ORG, "310482650130", "dev-platform", "platform", "dev", "dev", (US_E,), 0.5),
    _sub("aws", AWS_ORG, "310482650133", "sandbox-alice", "growth", "sandbox", "sandbox", (US_W,), 0.15),
    _sub("aws", AWS_ORG, "310482650136", "sandbox-bob", "ml", "sandbox", "sandbox", (US_E,), 0.15),
    _sub("aws", AWS_LEGACY, "529610384401", "legacy-reporting", "analytics", "prod", "data", (US_E,), 0.4),
    _sub("aws", AWS_LEGACY, "529610384402", "legacy-etl-dev", "analytics", "dev", "dev", (US_E,), 0.15),
    _sub("azure", AZ_US, "6c1f0b7e-2d4a-4f3e-9b1c-8e7d5a2f4c10", "prod-mobile-api", "mobile", "prod", "app", ("eastus", "westus2"), 1.2),
    _sub("azure", AZ_US, "9a2e4c6b-1f3d-4e5a-8c7b-0d9e2f1a3b24", "shared-platform-az", "platform", "prod", "platform", ("eastus",), 0.8, True),
    _sub("azure", AZ_US, "3b7d9f1a-5c2e-4a6b-9d8c-7e1f0a2b4c36", "staging-mobile", "mobile", "staging", "app", ("eastus",), 0.4),
    _sub("azure", AZ_US, "e4f6a8c0-3b5d-4f7e-a1c2-5d6e7f8a9b48", "data-science-dev", "ml", "dev", "ml", ("eastus2",), 0.5),
    _sub("azure", AZ_EU, "7d9e1f3a-6b8c-4d0e-b2f4-1a3c5e7f9a52", "prod-eu-storefront", "storefront", "prod", "app", ("westeurope", "northeurope"), 0.9),
    _sub("azure", AZ_EU, "2c4e6a8b-9d1f-4b3c-8e5a-6f7b8c9d0e64", "dev-eu", "storefront", "dev", "dev", ("westeurope",), 0.3),
    _sub("gcp", GCP_BA, "nw-analytics-prod", "analytics-prod", "analytics", "prod", "data", ("us-central1", "us-east1"), 1.3),
    _sub("gcp", GCP_BA, "nw-ml-training", "ml-training", "ml", "prod", "ml", ("us-central1",), 0.9),
    _sub("gcp", GCP_BA, "nw-ml-serving-prod", "ml-serving-prod", "ml", "prod", "app", ("us-central1", "europe-west1"), 0.8),
    _sub("gcp", GCP_BA, "nw-analytics-staging", "analytics-staging", "analytics", "staging", "data", ("us-central1",), 0.4),
    _sub("gcp", GCP_BA, "nw-sandbox-carol", "sandbox-carol", "data-eng", "sandbox", "sandbox", ("us-central1",), 0.15),
    _sub("skyglass", SKY_BA, "sg-ws-prod", "prod-observability", "platform", "prod", "observability", (), 1.0, True),
    _sub("skyglass", SKY_BA, "sg-ws-nonprod", "nonprod-observability", "platform", "staging", "observability", (), 0.5, True),
)

REGIONS = (
    Region(provider="aws", id=US_E, name="US East (N. Virginia)", zones=("us-east-1a", "us-east-1b", "us-east-1c")),
    Region(provider="aws", id=US_W, name="US West (Oregon)", zones=("us-west-2a", "us-west-2b", "us-west-2c")),
    Region(provider="aws", id=EU_W, name="Europe (Ireland)", zones=("eu-west-1a", "eu-west-1b"), price_factor=1.08),
    Region(provider="aws", id=AP_SE2, name="Asia Pacific (Sydney)", zones=("ap-southeast-2a", "ap-southeast-2b"), price_factor=1.2),
    Region(provider="azure", id="eastus", name="East US", zones=("1", "2", "3")),
    Region(provider="azure", id="eastus2", name="East US 2", zones=("1", "2", "3")),
    Region(provider="azure", id="westus2", name="West US 2", zones=("1", "2", "3")),
    Region(provider="azure", id="westeurope", name="West Europe", zones=("1", "2", "3"), price_factor=1.1),
    Region(provider="azure", id="northeurope", name="North Europe", zones=("1", "2", "3"), price_factor=1.06),
    Region(provider="gcp", id="us-central1", name="Iowa", zones=("us-central1-a", "us-central1-b", "us-central1-f")),
    Region(provider="gcp", id="us-east1", name="South Carolina", zones=("us-east1-b", "us-east1-c", "us-east1-d")),
    Region(provider="gcp", id="europe-west1", name="Belgium", zones=("europe-west1-b", "europe-west1-c"), price_factor=1.1),
)

_ID_PREFIX = {
    "aws": "arn:aws:{svc}:{region}:{account}:",
    "azure": "/subscriptions/{account}/resourceGroups/rg-{subname}/providers/",
    "gcp": "//{svc}.googleapis.com/projects/{account}/",
}


def _svc(provider: str, name: str, category: str, sub: str, rtype: str, template: str,
         role: str, publisher: str | None = None) -> Service:
    """``template`` is ``"<api>|<path>"`` under the provider's id prefix, or a whole id."""
    api, sep, path = template.partition("|")
    id_template = _ID_PREFIX[provider].replace("{svc}", api) + path if sep else template
    return Service(provider=provider, name=name, category=category, subcategory=sub,
                   resource_type=rtype, id_template=id_template, role=role, publisher=publisher)


CMP, DB, STO, NET, MG = "Compute", "Databases", "Storage", "Networking", "Management and Governance"
AIML, ANA = "AI and Machine Learning", "Analytics"
EC2 = _svc("aws", "Amazon Elastic Compute Cloud", CMP, "Virtual Machines", "Instance", "ec2|instance/i-{hex}", "node")
ASG = _svc("aws", "Amazon Elastic Compute Cloud", CMP, "Virtual Machines", "Auto Scaling Group", "autoscaling|autoScalingGroup:{hex}:autoScalingGroupName/{name}", "asg")
EBS = _svc("aws", "Amazon Elastic Block Store", STO, "Block Storage", "Volume", "ec2|volume/vol-{hex}", "vol")
S3 = _svc("aws", "Amazon Simple Storage Service", STO, "Object Storage", "Bucket", "arn:aws:s3:::{name}", "bucket")
RDS = _svc("aws", "Amazon Relational Database Service", DB, "Relational Databases", "DB Instance", "rds|db:{name}", "db")
DDB = _svc("aws", "Amazon DynamoDB", DB, "NoSQL Databases", "Table", "dynamodb|table/{name}", "table")
LAMBDA = _svc("aws", "AWS Lambda", CMP, "Serverless Compute", "Function", "lambda|function:{name}", "fn")
CW = _svc("aws", "Amazon CloudWatch", MG, "Observability", "Log Group", "logs|log-group:/{name}", "logs")
AWS_DT = _svc("aws", "AWS Data Transfer", NET, "Network Connectivity", "Load Balancer", "elasticloadbalancing|loadbalancer/app/{name}/{hex}", "alb")
VPC = _svc("aws", "Amazon Virtual Private Cloud", NET, "Network Infrastructure", "NAT Gateway", "ec2|natgateway/nat-{hex}", "nat")
REDSHIFT = _svc("aws", "Amazon Redshift", DB, "Data Warehouses", "Cluster", "redshift|cluster:{name}", "dwh")
EMR = _svc("aws", "Amazon EMR", ANA, "Data Processing", "Cluster", "elasticmapreduce|cluster/j-{hex}", "emr")
EKS = _svc("aws", "Amazon Elastic Kubernetes Service", CMP, "Containers", "Cluster", "eks|cluster/{name}", "eks")
SAGEMAKER = _svc("aws", "Amazon SageMaker", AIML, "Machine Learning", "Endpoint", "sagemaker|endpoint/{name}", "endpoint")
KAFKA = _svc("aws", "Streamforge Managed Kafka", ANA, "Streaming Analytics", "Kafka Cluster", "aws-marketplace|kafka/{name}", "kafka", "Streamforge Inc.")
AWS_SUPPORT = _svc("aws", "AWS Support (Business)", MG, "Support", "Support Plan", "arn:aws:support::{account}:plan/business", "support")
AZ_VM = _svc("azure", "Virtual Machines", CMP, "Virtual Machines", "Virtual Machine", "|Microsoft.Compute/virtualMachines/{name}", "vm")
AZ_VMSS = _svc("azure", "Virtual Machines", CMP, "Virtual Machines", "Virtual Machine Scale Set", "|Microsoft.Compute/virtualMachineScaleSets/{name}", "vmss")
AZ_DISK = _svc("azure", "Storage", STO, "Storage Platforms", "Disk", "|Microsoft.Compute/disks/{name}", "disk")
AZ_BLOB = _svc("azure", "Storage", STO, "Storage Platforms", "Storage Account", "|Microsoft.Storage/storageAccounts/{name}", "st")
AKS = _svc("azure", "Azure Kubernetes Service", CMP, "Containers", "Managed Cluster", "|Microsoft.ContainerService/managedClusters/{name}", "aks")
AZ_SQL = _svc("azure", "SQL Database", DB, "Relational Databases", "SQL Database", "|Microsoft.Sql/servers/{name}/databases/main", "sql")
COSMOS = _svc("azure", "Azure Cosmos DB", DB, "NoSQL Databases", "Cosmos DB Account", "|Microsoft.DocumentDB/databaseAccounts/{name}", "cosmos")
BANDWIDTH = _svc("azure", "Bandwidth", NET, "Network Connectivity", "Load Balancer", "|Microsoft.Network/loadBalancers/{name}", "lb")
LOG_ANALYTICS = _svc("azure", "Log Analytics", MG, "Observability", "Log Analytics Workspace", "|Microsoft.OperationalInsights/workspaces/{name}", "law")
AZ_FUNC = _svc("azure", "Functions", CMP, "Serverless Compute", "Function App", "|Microsoft.Web/sites/{name}", "func")
DATABRICKS = _svc("azure", "Azure Databricks", ANA, "Analytics Platforms", "Databricks Workspace", "|Microsoft.Databricks/workspaces/{name}", "dbw")
REDWOOD = _svc("azure", "Redwood Vector Search", ANA, "Search", "SaaS Resource", "|Microsoft.SaaS/resources/{name}", "vector", "Redwood Data Ltd.")
AZ_SUPPORT = _svc("azure", "Azure Support", MG, "Support", "Support Plan", "/providers/Microsoft.Support/plans/standard", "support")
GCE = _svc("gcp", "Compute Engine", CMP, "Virtual Machines", "Compute Instance", "compute|zones/{zone}/instances/{name}", "vm")
MIG = _svc("gcp", "Compute Engine", CMP, "Virtual Machines", "Managed Instance Group", "compute|regions/{region}/instanceGroupManagers/{name}", "mig")
GKE = _svc("gcp", "Kubernetes Engine", CMP, "Containers", "Cluster", "container|locations/{region}/clusters/{name}", "gke")
GCS = _svc("gcp", "Cloud Storage", STO, "Object Storage", "Bucket", "storage|buckets/{name}", "bucket")
BQ = _svc("gcp", "BigQuery", DB, "Data Warehouses", "Dataset", "bigquery|datasets/{name}", "ds")
CLOUD_SQL = _svc("gcp", "Cloud SQL", DB, "Relational Databases", "Cloud SQL Instance", "sqladmin|instances/{name}", "pg")
GCP_NET = _svc("gcp", "Networking", NET, "Network Connectivity", "Forwarding Rule", "compute|global/forwardingRules/{name}", "lb")
LOGGING = _svc("gcp", "Cloud Logging", MG, "Observability", "Log Bucket", "logging|locations/{region}/buckets/{name}", "logs")
PUBSUB = _svc("gcp", "Pub/Sub", "Integration", "Messaging", "Topic", "pubsub|topics/{name}", "topic")
VERTEX = _svc("gcp", "Vertex AI", AIML, "AI Platforms", "Endpoint", "aiplatform|locations/{region}/endpoints/{name}", "endpoint")
QUARRY = _svc("gcp", "Quarry Labs Feature Store", AIML, "Machine Learning", "Feature Store", "marketplace|featurestores/{name}", "features", "Quarry Labs")
SKY_LOGS = _svc("skyglass", "Skyglass Logs", MG, "Observability", "Log Index", "skyglass:{account}:logs/{name}", "logs")
SKY_APM = _svc("skyglass", "Skyglass APM", MG, "Observability", "APM Service", "skyglass:{account}:apm/{name}", "apm")
SKY_INFRA = _svc("skyglass", "Skyglass Infrastructure", MG, "Observability", "Host Group", "skyglass:{account}:hosts/{name}", "hosts")
SKY_PLATFORM = _svc("skyglass", "Skyglass Platform", MG, "Observability", "Subscription", "skyglass:{account}:subscription", "plan")

G3 = "growth=0.03"
SKUS = (
    _sku(EC2, "m6i.2xlarge", "Instance Usage", "Hours", 0.384, 24, "app:4 platform:2 data:1 dev:1", "instance zonal spot", _vm("m6i.2xlarge", 8, 32)),
    _sku(EC2, "c6g.4xlarge", "Instance Usage", "Hours", 0.544, 24, "app:2 platform:2", "instance zonal spot", _vm("c6g.4xlarge", 16, 32)),
    _sku(EC2, "r6i.4xlarge", "Instance Usage", "Hours", 1.008, 24, "data:3 app:1", "instance zonal", _vm("r6i.4xlarge", 16, 128)),
    _sku(EC2, "t3.large", "Instance Usage", "Hours", 0.0832, 24, "dev:3 sandbox:4", "instance zonal spot", _vm("t3.large", 2, 8)),
    _sku(EC2, "g5.12xlarge", "Instance Usage", "Hours", 5.672, 24, "sandbox:0.1", "instance zonal", _vm("g5.12xlarge", 48, 192, gpus=4)),
    _sku(ASG, "c6i.2xlarge", "Instance Usage", "Hours", 0.34, 120, "platform:3 app:2", f"spot {G3}", _vm("c6i.2xlarge", 8, 16)),
    _sku(EBS, "gp3", "Storage", "GB-Months", 0.08, 800, "app:3 platform:2 data:2 dev:2 sandbox:1", f"per_month zonal {G3}", "DiskType=gp3 StorageClass=SSD"),
    _sku(S3, "Standard", "Storage", "GB-Months", 0.023, 15000, "data:4 app:1 platform:1", "per_month growth=0.04", "StorageClass=Standard Redundancy=Regional"),
    _sku(S3, "PUT/COPY/POST/LIST", "Requests", "1000 Requests", 0.005, 2000, "data:1 app:2", G3),
    _sku(RDS, "db.r6g.2xlarge Multi-AZ", "Database Instance", "Hours", 1.04, 24, "app:2 data:1", "instance", _vm("db.r6g.2xlarge", 8, 64)),
    _sku(DDB, "On-Demand", "Write Requests", "1000000 Requests", 1.25, 8, "app:3", "growth=0.035"),
    _sku(LAMBDA, "x86", "Compute", "GB-Seconds", 0.0000166667, 400000, "app:2 dev:1 sandbox:1 data:1", G3),
    _sku(CW, "Logs", "Log Ingestion", "GB", 0.5, 15, "platform:2 app:1", G3),
    _sku(AWS_DT, "Internet Out", "Data Transfer Out", "GB", 0.09, 150, "app:2 platform:1", G3, "x_TransferType=InternetOut"),
    _sku(VPC, "NAT Gateway", "Data Processed", "GB", 0.045, 250, "platform:2 data:1", G3),
    _sku(REDSHIFT, "ra3.4xlarge", "Node Usage", "Hours", 3.26, 24, "data:0.6", "instance", "InstanceType=ra3.4xlarge CoreCount=12 MemorySize=96"),
    _sku(EMR, "r5.2xlarge", "Instance Fee", "Hours", 0.126, 150, "data:2", f"batch {G3}", "InstanceType=r5.2xlarge"),
    _sku(EKS, "Cluster", "Cluster Hours", "Hours", 0.1, 24, "platform:1 app:0.3", "instance"),
    _sku(SAGEMAKER, "ml.m5.xlarge", "Hosting", "Hours", 0.23, 24, "sandbox:0.5 data:0.3", "instance", "InstanceType=ml.m5.xlarge CoreCount=4 MemorySize=16"),
    _sku(KAFKA, "Standard Cluster", "Cluster Unit", "Hours", 2.4, 24, "app:0.3 data:0.5", "instance"),
    _sku(AZ_VM, "D4s v5", "Compute", "Hours", 0.192, 24, "app:3 platform:1 dev:2", "instance zonal spot", _vm("Standard_D4s_v5", 4, 16)),
    _sku(AZ_VM, "E8s v5", "Compute", "Hours", 0.504, 24, "app:1 ml:2", "instance zonal", _vm("Standard_E8s_v5", 8, 64)),
    _sku(AZ_VM, "B2ms", "Compute", "Hours", 0.0832, 24, "dev:3 ml:1", "instance zonal spot", _vm("Standard_B2ms", 2, 8)),
    _sku(AZ_VMSS, "D8s v5", "Compute", "Hours", 0.384, 72, "platform:3 app:1", f"spot {G3}", _vm("Standard_D8s_v5", 8, 32)),
    _sku(AZ_DISK, "P30 LRS", "Premium SSD Managed Disks", "GB-Months", 0.135, 1024, "app:2 platform:1 dev:1 ml:1", "per_month zonal", "DiskType=Premium_LRS Redundancy=Local"),
    _sku(AZ_BLOB, "Hot LRS", "Data Stored", "GB-Months", 0.0184, 12000, "app:1 ml:2 platform:1", "per_month growth=0.04", "StorageClass=Hot Redundancy=Local"),
    _sku(AKS, "Standard tier", "Uptime SLA", "Hours", 0.1, 24, "platform:1 app:0.3", "instance"),
    _sku(AZ_SQL, "General Purpose Gen5", "vCore", "vCore-Hours", 0.2523, 48, "app:2 ml:0.5", G3),
    _sku(COSMOS, "Serverless", "Request Units", "1000000 Requests", 0.25, 40, "app:2", "growth=0.035"),
    _sku(BANDWIDTH, "Internet Egress", "Data Transfer Out", "GB", 0.087, 150, "app:2 platform:1", G3, "x_TransferType=InternetOut"),
    _sku(LOG_ANALYTICS, "Pay-as-you-go", "Data Ingestion", "GB", 2.3, 4, "platform:2 app:1", G3),
    _sku(AZ_FUNC, "Consumption", "Execution Time", "GB-Seconds", 0.000016, 400000, "app:1 dev:1", G3),
    _sku(DATABRICKS, "Premium Jobs Compute", "DBU", "DBU-Hours", 0.3, 120, "ml:2 app:0.3", f"batch {G3}"),
    _sku(REDWOOD, "Pro", "Search Unit", "Hours", 1.1, 24, "ml:1 app:0.3", "instance"),
    _sku(GCE, "n2-standard-8", "Core and Ram", "Hours", 0.3885, 24, "app:3 data:2 ml:2 sandbox:0.5", "instance zonal spot", _vm("n2-standard-8", 8, 32)),
    _sku(GCE, "e2-standard-4", "Core and Ram", "Hours", 0.134, 24, "sandbox:3 app:1 data:1", "instance zonal spot", _vm("e2-standard-4", 4, 16)),
    _sku(GCE, "n2-highmem-16", "Core and Ram", "Hours", 1.048, 24, "data:2", "instance zonal", _vm("n2-highmem-16", 16, 128)),
    _sku(GCE, "a2-highgpu-1g", "Core, Ram and GPU", "Hours", 3.6734, 24, "ml:0.2", "instance zonal", _vm("a2-highgpu-1g", 12, 85, gpus=1)),
    _sku(MIG, "n2-standard-4", "Core and Ram", "Hours", 0.1942, 96, "app:2 data:1", f"spot {G3}", _vm("n2-standard-4", 4, 16)),
    _sku(GKE, "Cluster Management", "Cluster Management Fee", "Hours", 0.1, 24, "app:0.5 data:0.3", "instance"),
    _sku(GCS, "Standard", "Storage", "GB-Months", 0.02, 15000, "data:4 ml:2 app:1", "per_month growth=0.04", "StorageClass=Standard Redundancy=Regional"),
    _sku(BQ, "On-demand", "Analysis", "TiB", 6.25, 1.5, "data:3 ml:1", f"batch {G3}"),
    _sku(BQ, "Active Logical", "Storage", "GB-Months", 0.02, 10000, "data:2", "per_month growth=0.04"),
    _sku(CLOUD_SQL, "Enterprise 8 vCPU 32 GB", "vCPU and RAM", "Hours", 0.55, 24, "app:2", "instance zonal", "CoreCount=8 MemorySize=32"),
    _sku(GCP_NET, "Premium Tier Internet Egress", "Internet Egress", "GB", 0.12, 120, "app:1 data:1 ml:0.5", G3, "x_TransferType=InternetOut"),
    _sku(LOGGING, "Log Storage", "Log Volume", "GiB", 0.5, 15, "app:1 data:1 ml:0.5", G3),
    _sku(PUBSUB, "Message Delivery Basic", "Message Delivery", "TiB", 40, 0.2, "data:2 app:1", G3),
    _sku(VERTEX, "Online Prediction n1-standard-4", "Node Hours", "Hours", 0.2185, 48, "ml:3", G3),
    _sku(QUARRY, "Online Store Node", "Node Hours", "Hours", 0.9, 24, "ml:1", "instance"),
    _sku(SKY_LOGS, "Standard", "Log Ingestion", "GB", 0.1, 60, "observability:3", G3),
    _sku(SKY_APM, "APM Host", "APM Host Hours", "Hours", 0.05, 240, "observability:2", G3),
    _sku(SKY_INFRA, "Infrastructure Host", "Host Hours", "Hours", 0.02, 720, "observability:2", G3),
)

_M5, _N2, _D4 = (sku_code(p, t) for p, t in (
    ("aws", "Amazon Elastic Compute Cloud/m6i.2xlarge"),
    ("gcp", "Compute Engine/n2-standard-8"), ("azure", "Virtual Machines/D4s v5")))
COMMITMENTS = (
    Commitment(provider="aws", billing_account_id=AWS_ORG, sub_account_id="310482650124",
               id="arn:aws:savingsplans::741852963001:savingsplan/4f6c2e1a-9b7d-4c3e-8a21-5d0f7b6e9c13",
               name="Compute Savings Plan 1yr No Upfront", type="Savings Plan", category="Spend",
               service=EC2.name, sku_code=None, region=None, discount=0.27, size=0.8,
               purchase_sku=sku_code("aws", "ComputeSavingsPlans/1yr/NoUpfront")),
    Commitment(provider="azure", billing_account_id=AZ_US, sub_account_id="9a2e4c6b-1f3d-4e5a-8c7b-0d9e2f1a3b24",
               id="/providers/Microsoft.Capacity/reservationOrders/5e1d7c3a-8b2f-4a6e-9c0d-1f3b5a7c9e21/reservations/b2d4f6a8-0c1e-4a3b-8d5f-7e9a1c3b5d40",
               name="VM RI Standard_D4s_v5 East US 1yr", type="Reservation", category="Usage",
               service=AZ_VM.name, sku_code=_D4, region="eastus", discount=0.36, size=1.3,
               purchase_sku=sku_code("azure", "Reservations/VM/D4s v5/1yr")),
    Commitment(provider="gcp", billing_account_id=GCP_BA, sub_account_id="nw-analytics-prod",
               id="//compute.googleapis.com/projects/nw-analytics-prod/regions/us-central1/commitments/cud-n2-standard-8-1yr",
               name="CUD n2-standard-8 us-central1 1yr", type="Committed Use Discount",
               category="Usage", service=GCE.name, sku_code=_N2, region="us-central1",
               discount=0.37, size=0.9, purchase_sku=sku_code("gcp", "Commitment/N2/1yr")),
)

MONTHLY_CHARGES = (
    MonthlyCharge(provider="aws", billing_account_id=AWS_ORG, sub_account_id=None, kind="credit",
                  service=EC2, sku_code=sku_code("aws", "Credits/MAP"),
                  description="AWS Migration Acceleration Program credit", rate=0.08,
                  base_service=EC2.name, months=6),
    MonthlyCharge(provider="gcp", billing_account_id=GCP_BA, sub_account_id="nw-analytics-prod",
                  kind="credit", service=BQ, sku_code=sku_code("gcp", "Credits/Promotional"),
                  description="Google Cloud promotional credit (BigQuery)", rate=0.15,
                  base_service=BQ.name, months=4),
    MonthlyCharge(provider="aws", billing_account_id=AWS_ORG, sub_account_id="310482650124",
                  kind="support", service=AWS_SUPPORT, sku_code=sku_code("aws", "Support/Business"),
                  description="AWS Support (Business) monthly fee", rate=0.03,
                  base_service=None, minimum=100.0),
    MonthlyCharge(provider="azure", billing_account_id=AZ_US, sub_account_id="9a2e4c6b-1f3d-4e5a-8c7b-0d9e2f1a3b24",
                  kind="support", service=AZ_SUPPORT, sku_code=sku_code("azure", "Support/Standard"),
                  description="Azure Support Standard plan", rate=0.0, base_service=None,
                  minimum=100.0),
    MonthlyCharge(provider="skyglass", billing_account_id=SKY_BA, sub_account_id="sg-ws-prod",
                  kind="subscription", service=SKY_PLATFORM, sku_code=sku_code("skyglass", "Platform/Enterprise"),
                  description="Skyglass Enterprise platform subscription", rate=0.25,
                  base_service=None, minimum=2500.0),
)

ANOMALIES = (
    AnomalyPlan(kind="spike", provider="aws", sub_account_id="310482650117", service=DDB.name,
                at=0.55, days=5, factor=5.0,
                description="A retry storm in the checkout service multiplies DynamoDB writes"),
    AnomalyPlan(kind="new_region", provider="aws", sub_account_id="310482650127", service=EC2.name,
                at=0.7, days=None, factor=0.5, sku_code=sku_code("aws", "Amazon Elastic Compute Cloud/r6i.4xlarge"),
                region=AP_SE2, description="Data engineering starts a replica pipeline in Sydney"),
    AnomalyPlan(kind="gpu_burst", provider="gcp", sub_account_id="nw-ml-training", service=GCE.name,
                at=0.4, days=4, factor=1.0, sku_code=sku_code("gcp", "Compute Engine/a2-highgpu-1g"),
                description="An unplanned model training run on A100 GPUs"),
    AnomalyPlan(kind="egress_spike", provider="azure", sub_account_id="6c1f0b7e-2d4a-4f3e-9b1c-8e7d5a2f4c10",
                service=BANDWIDTH.name, at=0.85, days=3, factor=6.0,
                description="A misconfigured CDN origin sends all mobile traffic to the API"),
    AnomalyPlan(kind="idle_resource", provider="aws", sub_account_id="310482650133", service=EC2.name,
                at=0.62, days=21, factor=2.0, sku_code=_M5,
                description="A dev cluster left running around the clock in a sandbox"),
    AnomalyPlan(kind="spike", provider="gcp", sub_account_id="nw-analytics-prod", service=BQ.name,
                at=0.3, days=4, factor=4.0,
                description="A dashboard refresh loop re-runs full-table BigQuery scans"),
    AnomalyPlan(kind="slow_leak", provider="aws", sub_account_id="310482650117", service=DDB.name,
                at=0.65, days=35, factor=3.0,
                description="A retry queue table nobody drains: its writes grow every day"),
    AnomalyPlan(kind="one_day_spike", provider="gcp", sub_account_id="nw-analytics-prod", service=BQ.name,
                at=0.78, days=1, factor=12.0,
                description="An ad-hoc query scans every partition of the events table once"),
)
# fmt: on

NORTHWIND = Company(
    name="Northwind Analytics",
    providers=PROVIDERS,
    billing_accounts=BILLING_ACCOUNTS,
    sub_accounts=SUB_ACCOUNTS,
    teams=TEAMS,
    products=PRODUCTS,
    cost_centers=COST_CENTERS,
    environments=ENVIRONMENTS,
    regions=REGIONS,
    skus=SKUS,
    commitments=COMMITMENTS,
    monthly_charges=MONTHLY_CHARGES,
    anomalies=ANOMALIES,
)


def tag_json(
    company: Company, style: TagStyle, team: str, environment: str, variant: int
) -> str | None:
    """Tags as Northwind's engineers set them on one resource.

    ``variant``: 0 tagged well, 1 untagged, 2 without the team key, 3/4 a misspelled team,
    5/6 a misspelled environment. Label style (GCP, Skyglass) is lowercase throughout.
    """
    if variant == 1:
        return None
    info = next(t for t in company.teams if t.key == team)
    pascal = style == "pascal"
    if variant in (3, 4):
        team = TEAM_MISSPELLINGS[team][variant - 3 if pascal else 1]
    if variant in (5, 6):
        environment = ENVIRONMENT_MISSPELLINGS[environment][variant - 5 if pascal else 1]
    tags = {"team": team, "product": info.product}
    if pascal:
        tags |= {"CostCenter": info.cost_center, "Environment": environment}
    else:
        tags |= {"cost-center": info.cost_center.lower(), "environment": environment}
    if variant == 2:
        del tags["team"]
    return json.dumps(tags, separators=(",", ":"))


def summary(company: Company) -> dict[str, object]:
    """What a person reading the demo needs: accounts, teams, products, tag conventions."""
    names = {p.key: p for p in company.providers}
    return {
        "name": company.name,
        "billing_accounts": [
            {"ProviderName": names[a.provider].name, "BillingAccountId": a.id,
             "BillingAccountName": a.name, "BillingAccountType": a.type,
             "BillingCurrency": a.currency}
            for a in company.billing_accounts
        ],
        "sub_accounts": [
            {"ProviderName": names[s.provider].name, "BillingAccountId": s.billing_account_id,
             "SubAccountId": s.id, "SubAccountName": s.name,
             "SubAccountType": names[s.provider].sub_account_type, "team": s.team,
             "environment": s.environment, "regions": list(s.regions), "shared": s.shared}
            for s in company.sub_accounts
        ],
        "teams": [asdict(t) for t in company.teams],
        "products": [asdict(p) for p in company.products],
        "cost_centers": [asdict(c) for c in company.cost_centers],
        "environments": list(company.environments),
        "commitments": [
            {"ProviderName": names[c.provider].name, "CommitmentDiscountId": c.id,
             "CommitmentDiscountName": c.name, "CommitmentDiscountType": c.type,
             "CommitmentDiscountCategory": c.category}
            for c in company.commitments
        ],
        "tag_keys": {
            p.name: ["team", "product", "CostCenter", "Environment"] if p.tag_style == "pascal"
            else ["team", "product", "cost-center", "environment"]
            for p in company.providers
        },
    }  # fmt: skip
