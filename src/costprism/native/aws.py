"""AWS: the legacy Cost and Usage Report and CUR 2.0 (Data Exports), to FOCUS 1.2.

Both layouts carry the same line items; CUR 2.0 spells the columns in snake case
(``line_item_unblended_cost`` for ``lineItem/UnblendedCost``) and holds tags in one
``resource_tags`` map instead of one ``resourceTags/user:<key>`` column per key. So the
rules are written once, against the legacy names, and CUR 2.0's are derived by renaming.

Costs follow AWS's own definitions:

- BilledCost is ``lineItem/UnblendedCost``: what the invoice sums, discounts and credits
  being line items of their own.
- EffectiveCost is the amortized cost as Cost Explorer computes it: a covered usage line
  costs its share of the commitment (``savingsPlan/SavingsPlanEffectiveCost``,
  ``reservation/EffectiveCost``); the recurring fee of a Savings Plan or reservation keeps
  only its unused part; upfront fees and Savings Plan negations cost nothing (the upfront
  payment is already amortized into the covered lines).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

from costprism.ingest.checks import json_map, literal, quote
from costprism.native.mapping import NativeFormat, Rule, lookup, service_rules

_TYPE = "`lineItem/LineItemType`"
_UNBLENDED = "`lineItem/UnblendedCost`"
_SP_ARN = "`savingsPlan/SavingsPlanARN`"
_RI_ARN = "`reservation/ReservationARN`"
_COVERED = "('SavingsPlanCoveredUsage', 'DiscountedUsage')"
_PURCHASES = "('Fee', 'RIFee', 'SavingsPlanUpfrontFee', 'SavingsPlanRecurringFee')"
_USAGE_TYPES = (
    "('Usage', 'DiscountedUsage', 'SavingsPlanCoveredUsage', 'SavingsPlanNegation', "
    "'BundledDiscount', 'Discount', 'PrivateRateDiscount', 'EdpDiscount')"
)

_UNIT = "`pricing/unit`"
_AMOUNT = "`lineItem/UsageAmount`"
_RESOURCE = "`lineItem/ResourceId`"
# A line priced per unit: PricingQuantity and PricingUnit are set (FOCUS: both or neither;
# never on tax). Credits and refunds without a unit have no price; a purchase without one
# (an upfront fee, quantity 1) is priced per unit.
_PRICED = (
    f"({_TYPE} <> 'Tax' AND {_AMOUNT} IS NOT NULL "
    f"AND ({_UNIT} IS NOT NULL OR {_TYPE} IN {_PURCHASES}))"
)

# pricing/unit as the price list spells it → FOCUS unit format (others are kept as they are:
# `GB`, `Requests`, `IOs`, `vCPU-Hours` already conform).
UNITS: Mapping[str, str] = {
    "Hrs": "Hours",
    "Hr": "Hours",
    "hours": "Hours",
    "GB-Mo": "GB-Months",
    "GB-month": "GB-Months",
    "GB-Month": "GB-Months",
    "IOPS-Mo": "IOPS-Months",
    "ACU-Hr": "ACU-Hours",
    "ACU-Hrs": "ACU-Hours",
    "Lambda-GB-Second": "GB-Seconds",
    "Request": "Requests",
    "Second": "Seconds",
    "Minute": "Minutes",
}

# product/region → the region's name as the price list writes it (product/location), for
# lines that have the region but not its location.
REGIONS: Mapping[str, str] = {
    "us-east-1": "US East (N. Virginia)",
    "us-east-2": "US East (Ohio)",
    "us-west-1": "US West (N. California)",
    "us-west-2": "US West (Oregon)",
    "af-south-1": "Africa (Cape Town)",
    "ap-east-1": "Asia Pacific (Hong Kong)",
    "ap-south-1": "Asia Pacific (Mumbai)",
    "ap-south-2": "Asia Pacific (Hyderabad)",
    "ap-southeast-1": "Asia Pacific (Singapore)",
    "ap-southeast-2": "Asia Pacific (Sydney)",
    "ap-southeast-3": "Asia Pacific (Jakarta)",
    "ap-southeast-4": "Asia Pacific (Melbourne)",
    "ap-southeast-5": "Asia Pacific (Malaysia)",
    "ap-southeast-7": "Asia Pacific (Thailand)",
    "ap-northeast-1": "Asia Pacific (Tokyo)",
    "ap-northeast-2": "Asia Pacific (Seoul)",
    "ap-northeast-3": "Asia Pacific (Osaka)",
    "ca-central-1": "Canada (Central)",
    "ca-west-1": "Canada West (Calgary)",
    "eu-central-1": "EU (Frankfurt)",
    "eu-central-2": "EU (Zurich)",
    "eu-west-1": "EU (Ireland)",
    "eu-west-2": "EU (London)",
    "eu-west-3": "EU (Paris)",
    "eu-south-1": "EU (Milan)",
    "eu-south-2": "EU (Spain)",
    "eu-north-1": "EU (Stockholm)",
    "il-central-1": "Israel (Tel Aviv)",
    "me-south-1": "Middle East (Bahrain)",
    "me-central-1": "Middle East (UAE)",
    "mx-central-1": "Mexico (Central)",
    "sa-east-1": "South America (Sao Paulo)",
    "us-gov-east-1": "AWS GovCloud (US-East)",
    "us-gov-west-1": "AWS GovCloud (US-West)",
    "cn-north-1": "China (Beijing)",
    "cn-northwest-1": "China (Ningxia)",
}

# Resource ids that are not ARNs, by prefix → the IAM resource type (`service:type`, as an
# ARN of the resource would name it).
RESOURCE_PREFIXES: Mapping[str, str] = {
    "i-": "ec2:instance",
    "vol-": "ec2:volume",
    "snap-": "ec2:snapshot",
    "ami-": "ec2:image",
    "eipalloc-": "ec2:elastic-ip",
    "eni-": "ec2:network-interface",
    "nat-": "ec2:natgateway",
    "vpce-": "ec2:vpc-endpoint",
    "tgw-attach-": "ec2:transit-gateway-attachment",
    "vpn-": "ec2:vpn-connection",
    "fs-": "elasticfilesystem:file-system",
}

# lineItem/ProductCode → FOCUS service subcategory (the category follows from it).
SUBCATEGORIES: Mapping[str, str] = {
    "AmazonEC2": "Virtual Machines",
    "AmazonLightsail": "Virtual Machines",
    "AWSLambda": "Serverless Compute",
    "AmazonECS": "Containers",
    "AmazonEKS": "Containers",
    "AWSFargate": "Containers",
    "AmazonECR": "Containers",
    "AmazonWorkSpaces": "End User Computing",
    "AmazonS3": "Object Storage",
    "AmazonS3GlacierDeepArchive": "Backup Storage",
    "AmazonGlacier": "Backup Storage",
    "AWSBackup": "Backup Storage",
    "AmazonEFS": "File Storage",
    "AmazonFSx": "File Storage",
    "AmazonRDS": "Relational Databases",
    "AmazonAurora": "Relational Databases",
    "AmazonDynamoDB": "NoSQL Databases",
    "AmazonDocDB": "NoSQL Databases",
    "AmazonElastiCache": "Caching",
    "AmazonMemoryDB": "Caching",
    "AmazonRedshift": "Data Warehouses",
    "AmazonTimestream": "Time Series Databases",
    "AmazonAthena": "Analytics Platforms",
    "AmazonEMR": "Data Processing",
    "AWSGlue": "Data Processing",
    "AmazonKinesis": "Streaming Analytics",
    "AmazonKinesisFirehose": "Streaming Analytics",
    "AmazonMSK": "Streaming Analytics",
    "AmazonES": "Search",
    "AmazonOpenSearchService": "Search",
    "AmazonQuickSight": "Business Intelligence",
    "AmazonSageMaker": "Machine Learning",
    "AmazonBedrock": "Generative AI",
    "AmazonRekognition": "AI Platforms",
    "AmazonComprehend": "Natural Language Processing",
    "AmazonLex": "Bots",
    "AmazonCloudFront": "Content Delivery",
    "AmazonVPC": "Network Connectivity",
    "AWSDataTransfer": "Network Connectivity",
    "AWSDirectConnect": "Network Connectivity",
    "AWSTransitGateway": "Network Routing",
    "AmazonRoute53": "Network Infrastructure",
    "AWSELB": "Application Networking",
    "AmazonApiGateway": "API Management",
    "AmazonSNS": "Messaging",
    "AmazonSQS": "Messaging",
    "AmazonMQ": "Messaging",
    "AWSQueueService": "Messaging",
    "AWSStepFunctions": "Workflow Orchestration",
    "AmazonCloudWatch": "Observability",
    "AWSXRay": "Observability",
    "AWSCloudTrail": "Compliance",
    "AWSConfig": "Compliance",
    "AWSCostExplorer": "Cost Management",
    "AWSSupportBusiness": "Support",
    "AWSSupportEnterprise": "Support",
    "AWSDeveloperSupport": "Support",
    "OCBPremiumSupport": "Support",
    "awskms": "Secret Management",
    "AWSSecretsManager": "Secret Management",
    "AmazonGuardDuty": "Threat Detection and Response",
    "AWSSecurityHub": "Security Posture Management",
    "AWSShield": "Network Security",
    "awswaf": "Network Security",
    "AmazonCognito": "Identity and Access Management",
    "AWSCodeBuild": "Continuous Integration and Deployment",
    "AWSCodePipeline": "Continuous Integration and Deployment",
    "AWSCodeCommit": "Source Code Management",
    "AWSIoT": "IoT Platforms",
    "AWSDatabaseMigrationSvc": "Data Migration",
    "AmazonAppStream": "End User Computing",
}


_EFFECTIVE = (
    f"CASE WHEN {_TYPE} = 'SavingsPlanCoveredUsage' "
    "THEN `savingsPlan/SavingsPlanEffectiveCost` "
    f"WHEN {_TYPE} = 'SavingsPlanRecurringFee' "
    "THEN `savingsPlan/TotalCommitmentToDate` - `savingsPlan/UsedCommitment` "
    f"WHEN {_TYPE} IN ('SavingsPlanNegation', 'SavingsPlanUpfrontFee') THEN 0 "
    f"WHEN {_TYPE} = 'DiscountedUsage' THEN `reservation/EffectiveCost` "
    f"WHEN {_TYPE} = 'RIFee' "
    "THEN coalesce(`reservation/UnusedAmortizedUpfrontFeeForBillingPeriod`, 0) "
    "+ coalesce(`reservation/UnusedRecurringFee`, 0) "
    f"WHEN {_TYPE} = 'Fee' AND {_RI_ARN} IS NOT NULL THEN 0 "
    f"ELSE {_UNBLENDED} END"
)
_EFFECTIVE_EXPLAIN = (
    "amortized: SavingsPlanCoveredUsage → `savingsPlan/SavingsPlanEffectiveCost`; "
    "SavingsPlanRecurringFee → `savingsPlan/TotalCommitmentToDate` − "
    "`savingsPlan/UsedCommitment` (the unused part); SavingsPlanNegation, "
    "SavingsPlanUpfrontFee and a reservation's upfront Fee → 0; DiscountedUsage → "
    "`reservation/EffectiveCost`; RIFee → unused amortized upfront fee + unused "
    "recurring fee; anything else → `lineItem/UnblendedCost`"
)


def _rules() -> tuple[Rule, ...]:
    return (
        Rule(column="BillingAccountId", sql="`bill/PayerAccountId`", explain="as is"),
        Rule(
            column="BillingAccountName",
            sql="`bill/PayerAccountName`",
            explain="as is (CUR 2.0; the legacy CUR has no account names)",
        ),
        Rule(
            column="BillingAccountType",
            sql="CASE WHEN `bill/PayerAccountId` IS NOT NULL THEN 'Payer Account' END",
            explain="'Payer Account' (the account that pays the bill)",
        ),
        Rule(column="SubAccountId", sql="`lineItem/UsageAccountId`", explain="as is"),
        Rule(
            column="SubAccountName",
            sql="`lineItem/UsageAccountName`",
            explain="as is (CUR 2.0; the legacy CUR has no account names)",
        ),
        Rule(
            column="SubAccountType",
            sql="CASE WHEN `lineItem/UsageAccountId` IS NOT NULL THEN 'Linked Account' END",
            explain="'Linked Account' where there is a usage account",
        ),
        Rule(column="BillingCurrency", sql="`lineItem/CurrencyCode`", explain="as is"),
        Rule(column="BillingPeriodStart", sql="`bill/BillingPeriodStartDate`", explain="as UTC"),
        Rule(column="BillingPeriodEnd", sql="`bill/BillingPeriodEndDate`", explain="as UTC"),
        Rule(column="ChargePeriodStart", sql="`lineItem/UsageStartDate`", explain="as UTC"),
        Rule(column="ChargePeriodEnd", sql="`lineItem/UsageEndDate`", explain="as UTC"),
        Rule(column="BilledCost", sql=_UNBLENDED, explain="the unblended cost, as invoiced"),
        Rule(
            column="EffectiveCost",
            sql=_EFFECTIVE,
            explain=_EFFECTIVE_EXPLAIN,
        ),
        Rule(
            column="ListCost",
            sql=(
                f"CASE WHEN {_TYPE} = 'SavingsPlanNegation' THEN 0 "
                f"ELSE coalesce(`pricing/publicOnDemandCost`, {_UNBLENDED}) END"
            ),
            explain=(
                "`pricing/publicOnDemandCost`; the unblended cost where there is no public "
                "price (tax, credits, fees); 0 on Savings Plan negations"
            ),
        ),
        Rule(
            column="ContractedCost",
            sql=(
                f"CASE WHEN {_TYPE} = 'SavingsPlanNegation' THEN 0 "
                f"WHEN {_TYPE} = 'DiscountedUsage' "
                f"THEN coalesce(`pricing/publicOnDemandCost`, 0) ELSE {_UNBLENDED} END"
            ),
            explain=(
                "the cost at the account's rates before commitments: the unblended cost "
                "(reservation-covered lines: `pricing/publicOnDemandCost`; negations: 0)"
            ),
        ),
        Rule(
            column="ListUnitPrice",
            sql="`pricing/publicOnDemandRate`",
            explain="as is",
        ),
        Rule(
            column="ContractedUnitPrice",
            sql=(
                f"CASE WHEN {_TYPE} = 'DiscountedUsage' THEN `pricing/publicOnDemandRate` "
                f"WHEN {_TYPE} IN ('Usage', 'SavingsPlanCoveredUsage') "
                "THEN `lineItem/UnblendedRate` END"
            ),
            explain="`lineItem/UnblendedRate` on usage (reservation-covered: the public rate)",
        ),
        Rule(
            column="ChargeCategory",
            sql=(
                f"CASE WHEN {_TYPE} = 'Tax' THEN 'Tax' "
                f"WHEN {_TYPE} IN ('Credit', 'Refund') THEN 'Credit' "
                f"WHEN {_TYPE} IN {_PURCHASES} THEN 'Purchase' "
                f"WHEN {_TYPE} IN {_USAGE_TYPES} THEN 'Usage' ELSE 'Adjustment' END"
            ),
            explain=(
                "`lineItem/LineItemType`: Tax → Tax; Credit, Refund → Credit; Fee, RIFee, "
                "SavingsPlanUpfrontFee, SavingsPlanRecurringFee → Purchase; usage and "
                "discount types → Usage; anything else → Adjustment"
            ),
        ),
        Rule(
            column="ChargeFrequency",
            sql=(
                f"CASE WHEN {_TYPE} IN ('RIFee', 'SavingsPlanRecurringFee') THEN 'Recurring' "
                f"WHEN {_TYPE} IN {_USAGE_TYPES} THEN 'Usage-Based' ELSE 'One-Time' END"
            ),
            explain="recurring fees → Recurring; usage → Usage-Based; the rest → One-Time",
        ),
        Rule(
            column="ChargeDescription",
            sql=(
                "coalesce(nullif(trim(`lineItem/LineItemDescription`), ''), nullif(concat_ws("
                "' / ', coalesce(`product/ProductName`, `lineItem/ProductCode`), "
                "`lineItem/UsageType`), ''))"
            ),
            explain=(
                "`lineItem/LineItemDescription`; where it is empty: the product name / the "
                "usage type (`Amazon Simple Storage Service / TimedStorage-ByteHrs`)"
            ),
        ),
        Rule(
            column="CommitmentDiscountId",
            sql=f"coalesce({_SP_ARN}, {_RI_ARN})",
            explain="the Savings Plan ARN, else the reservation ARN",
        ),
        Rule(
            column="CommitmentDiscountType",
            sql=(
                f"CASE WHEN {_SP_ARN} IS NOT NULL THEN 'Savings Plan' "
                f"WHEN {_RI_ARN} IS NOT NULL THEN 'Reserved Instance' END"
            ),
            explain="Savings Plan or Reserved Instance, from which ARN is present",
        ),
        Rule(
            column="CommitmentDiscountCategory",
            sql=(
                f"CASE WHEN {_SP_ARN} IS NOT NULL THEN 'Spend' "
                f"WHEN {_RI_ARN} IS NOT NULL THEN 'Usage' END"
            ),
            explain="Savings Plans → Spend; reservations → Usage",
        ),
        Rule(
            column="CommitmentDiscountStatus",
            sql=f"CASE WHEN {_TYPE} IN {_COVERED} THEN 'Used' END",
            explain=(
                "Used on covered usage; the unused part of a commitment is the EffectiveCost "
                "of its recurring fee (a Purchase row, so the status is null there)"
            ),
        ),
        Rule(
            column="ConsumedQuantity",
            sql=f"CASE WHEN {_TYPE} IN {_USAGE_TYPES} THEN `lineItem/UsageAmount` END",
            explain="`lineItem/UsageAmount` on usage lines",
        ),
        Rule(
            column="ConsumedUnit",
            sql=f"CASE WHEN {_TYPE} IN {_USAGE_TYPES} THEN {_unit(_UNIT)} END",
            explain=(
                "`pricing/unit` on usage lines, in FOCUS's unit format (`Hrs` → `Hours`, "
                "`GB-Mo` → `GB-Months`; the unit as written is kept as `x_pricing_unit`)"
            ),
        ),
        Rule(
            column="PricingQuantity",
            sql=f"CASE WHEN {_PRICED} THEN {_AMOUNT} END",
            explain=(
                "`lineItem/UsageAmount`, on lines with a pricing unit and on purchases; null on "
                "tax and on credits and refunds without a unit"
            ),
        ),
        Rule(
            column="PricingUnit",
            sql=f"CASE WHEN {_PRICED} THEN coalesce({_unit(_UNIT)}, 'Units') END",
            explain=(
                "`pricing/unit` in FOCUS's unit format, where there is a PricingQuantity; a "
                "purchase without one (an upfront fee, quantity 1) → Units (the price list "
                "prices upfront fees per Quantity)"
            ),
        ),
        Rule(
            column="PricingCategory",
            sql=(
                f"CASE WHEN {_TYPE} IN {_COVERED} THEN 'Committed' "
                f"WHEN {_TYPE} = 'Usage' AND (`pricing/term` = 'Spot' "
                "OR `lineItem/UsageType` LIKE '%SpotUsage%') THEN 'Dynamic' "
                f"WHEN {_TYPE} = 'Usage' THEN 'Standard' END"
            ),
            explain=(
                "covered usage → Committed; Spot usage → Dynamic; other usage → Standard; "
                "null on other lines"
            ),
        ),
        Rule(column="PricingCurrency", sql="`lineItem/CurrencyCode`", explain="as is"),
        Rule(
            column="PricingCurrencyEffectiveCost",
            sql=_EFFECTIVE,
            explain="EffectiveCost: AWS prices in the billing currency",
        ),
        Rule(column="ProviderName", sql="'AWS'", explain="AWS"),
        Rule(
            column="PublisherName",
            sql="coalesce(`lineItem/LegalEntity`, 'Amazon Web Services, Inc.')",
            explain="the seller (`lineItem/LegalEntity`; a Marketplace vendor on its lines)",
        ),
        Rule(
            column="InvoiceIssuerName",
            sql="coalesce(`bill/InvoicingEntity`, 'Amazon Web Services, Inc.')",
            explain="`bill/InvoicingEntity` (Amazon Web Services, Inc. when absent)",
        ),
        Rule(column="InvoiceId", sql="`bill/InvoiceId`", explain="as is"),
        Rule(column="RegionId", sql="`product/region`", explain="as is"),
        Rule(
            column="RegionName",
            sql=(
                f"CASE WHEN `product/region` IS NOT NULL THEN coalesce(`product/location`, "
                f"nullif({lookup('`product/region`', REGIONS, '')}, ''), `product/region`) END"
            ),
            explain=(
                "`product/location` where there is a region; a line without it: the region's "
                "name from its id (`us-east-1` → `US East (N. Virginia)`), else the id"
            ),
        ),
        Rule(column="AvailabilityZone", sql="`lineItem/AvailabilityZone`", explain="as is"),
        Rule(column="ResourceId", sql="`lineItem/ResourceId`", explain="as is"),
        Rule(
            column="ResourceType",
            sql=_resource_type(),
            explain=(
                "the IAM resource type, `service:type`: from an ARN (`arn:aws:rds:…:db:orders` "
                "→ `rds:db`, a bucket ARN → `s3:bucket`, an ARN without a type → the service); "
                "from the id's prefix (`i-` → `ec2:instance`, `vol-` → `ec2:volume`…); other "
                "S3 ids → `s3:bucket`; else the product code"
            ),
        ),
        Rule(
            column="ServiceName",
            sql="coalesce(`product/ProductName`, `lineItem/ProductCode`)",
            explain="the product name, else the product code",
        ),
        *service_rules("`lineItem/ProductCode`", SUBCATEGORIES, "`lineItem/ProductCode`"),
        Rule(column="SkuId", sql="`product/sku`", explain="as is"),
        Rule(
            column="SkuPriceId",
            sql="coalesce(`pricing/RateCode`, `pricing/RateId`)",
            explain="the rate code, else the rate id",
        ),
        Rule(
            column="SkuMeter",
            sql="CASE WHEN `product/sku` IS NOT NULL THEN `lineItem/UsageType` END",
            explain="`lineItem/UsageType`, where there is a SKU",
        ),
        Rule(
            column="Tags",
            explain=(
                "one entry per non-empty `resourceTags/` column: `resourceTags/user:team` → "
                "`team`; AWS tags keep their prefix (`aws:createdBy`)"
            ),
            prefix="resourceTags/",
            build=_legacy_tags,
        ),
    )


def _unit(column: str) -> str:
    """A unit in FOCUS's format (:data:`UNITS`), else as written."""
    return f"coalesce(nullif({lookup(column, UNITS, '')}, ''), {column})"


def _resource_type() -> str:
    """``service:kind`` from an ARN (two regular expressions on the usual ARN, where the
    kind follows the account: ``…:db:orders``, ``…:instance/i-…``), the service alone from
    other ARNs, else by ID prefix, else the product code."""
    arn = r"^arn:[^:]+:([^:]+):[^:]*:[^:]*:(.+)$"
    with_kind = r"^arn:[^:]+:([^:]+):[^:]*:[^:]*:([^:/]+)[:/].*$"
    is_arn = f"starts_with({_RESOURCE}, 'arn:')"
    prefixes = " ".join(
        f"WHEN starts_with({_RESOURCE}, {literal(p)}) THEN {literal(t)}"
        for p, t in sorted(RESOURCE_PREFIXES.items(), key=lambda e: -len(e[0]))
    )
    service = f"regexp_extract({_RESOURCE}, {literal(arn)}, 1)"
    return (
        f"CASE WHEN {_RESOURCE} IS NULL THEN NULL "
        f"WHEN {is_arn} AND regexp_matches({_RESOURCE}, {literal(with_kind)}) "
        f"THEN regexp_replace({_RESOURCE}, {literal(with_kind)}, '\\1:\\2') "
        f"WHEN {is_arn} AND regexp_matches({_RESOURCE}, {literal(arn)}) "
        f"THEN CASE WHEN {service} = 's3' THEN 's3:bucket' ELSE {service} END "
        f"{prefixes} "
        "WHEN `lineItem/ProductCode` = 'AmazonS3' THEN 's3:bucket' "
        "ELSE `lineItem/ProductCode` END"
    )


def _legacy_tags(columns: Sequence[str]) -> str:
    if not columns:
        return "CAST(NULL AS MAP(VARCHAR, VARCHAR))"
    entries = ", ".join(
        f"{{'k': {literal(_tag_key(name))}, 'v': {quote(name)}}}" for name in columns
    )
    kept = f"list_filter([{entries}], e -> e.v IS NOT NULL)"
    return (
        f"CASE WHEN len({kept}) > 0 THEN map_from_entries("
        f"list_transform({kept}, e -> {{'key': e.k, 'value': e.v}})) END"
    )


def _tag_key(column: str) -> str:
    key = column.removeprefix("resourceTags/")
    return key.removeprefix("user:")


_CUR2_MAP = json_map("`resource_tags`")  # JSON text that names a key twice: no tags
_CUR2_ENTRIES = (
    f"list_transform(map_entries({_CUR2_MAP}), e -> {{'key': regexp_replace(regexp_replace("
    "e.key, '^user_', ''), '^aws_', 'aws:'), 'value': e.value})"
)
# two keys may become one (`user_team` and `team`): the first is kept
_CUR2_TAGS = (
    f"CASE WHEN cardinality({_CUR2_MAP}) > 0 THEN map_from_entries(list_filter("
    f"{_CUR2_ENTRIES}, (e, i) -> list_position(list_transform({_CUR2_ENTRIES}, x -> x.key), "
    "e.key) = i)) END"
)

_NUMBERS = (
    "lineItem/UnblendedCost",
    "lineItem/UnblendedRate",
    "lineItem/UsageAmount",
    "pricing/publicOnDemandCost",
    "pricing/publicOnDemandRate",
    "savingsPlan/SavingsPlanEffectiveCost",
    "savingsPlan/TotalCommitmentToDate",
    "savingsPlan/UsedCommitment",
    "reservation/EffectiveCost",
    "reservation/UnusedAmortizedUpfrontFeeForBillingPeriod",
    "reservation/UnusedRecurringFee",
)
_TIMES = (
    "bill/BillingPeriodStartDate",
    "bill/BillingPeriodEndDate",
    "lineItem/UsageStartDate",
    "lineItem/UsageEndDate",
)
_REQUIRED = (
    "bill/PayerAccountId",
    "bill/BillingPeriodStartDate",
    "bill/BillingPeriodEndDate",
    "lineItem/LineItemType",
    "lineItem/UsageStartDate",
    "lineItem/UsageEndDate",
    "lineItem/UnblendedCost",
    "lineItem/CurrencyCode",
    "lineItem/ProductCode",
)


def cur2_name(legacy: str) -> str:
    """The CUR 2.0 (snake case) spelling of a legacy CUR column name."""
    category, _, field = legacy.partition("/")
    words = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", field)
    words = re.sub(r"([A-Z])(?=[A-Z])", r"\1_", words)  # ARN → a_r_n, as AWS spells it
    return f"{_CUR2_CATEGORIES.get(category, category)}_{words.lower()}"


_CUR2_CATEGORIES = {"lineItem": "line_item", "savingsPlan": "savings_plan"}
# Where AWS did not follow its own renaming rule.
_CUR2_EXCEPTIONS = {
    "product/ProductName": "product_product_name",
    "product/region": "product_region_code",
    "pricing/unit": "pricing_unit",
    "pricing/term": "pricing_term",
    "pricing/RateCode": "pricing_rate_code",
    "pricing/RateId": "pricing_rate_id",
}


def _renamed(rule: Rule) -> Rule:
    if rule.column == "Tags":
        return Rule(
            column="Tags",
            sql=_CUR2_TAGS,
            explain=(
                "`resource_tags` (a map, or its JSON text in CSV): `user_team` → `team`, "
                "`aws_createdBy` → `aws:createdBy`; keys that become one keep the first; "
                "JSON text that names a key twice → no tags"
            ),
        )

    def rename(match: re.Match[str]) -> str:
        name = match.group(1)
        return f"`{_CUR2_EXCEPTIONS.get(name) or cur2_name(name)}`"

    sql = re.sub(r"`([^`]+)`", rename, rule.sql)
    explain = re.sub(r"`([^`]+/[^`]+)`", rename, rule.explain)
    return Rule(column=rule.column, sql=sql, explain=explain)


def _cur2(names: Sequence[str]) -> tuple[str, ...]:
    return tuple(_CUR2_EXCEPTIONS.get(n) or cur2_name(n) for n in names)


_LEGACY_RULES = _rules()

CUR = NativeFormat(
    name="aws-cur",
    provider="AWS",
    title="AWS Cost and Usage Report (legacy CUR)",
    required=_REQUIRED,
    rules=_LEGACY_RULES,
    numbers=frozenset(_NUMBERS),
    times=dict.fromkeys(_TIMES, ()),
    keep=frozenset({"pricing/unit"}),
    notes=(
        "Amortized and unblended views come from the same file: BilledCost is unblended, "
        "EffectiveCost amortized.",
    ),
)

CUR2 = NativeFormat(
    name="aws-cur2",
    provider="AWS",
    title="AWS CUR 2.0 (Data Exports)",
    required=_cur2(_REQUIRED),
    rules=tuple(_renamed(rule) for rule in _LEGACY_RULES),
    numbers=frozenset(_cur2(_NUMBERS)),
    times=dict.fromkeys(_cur2(_TIMES), ()),
    keep=frozenset(_cur2(("pricing/unit",))),
    notes=("Tags come from the `resource_tags` map; `user_` is dropped from user tag keys.",),
)

FORMATS = (CUR, CUR2)
