"""The demo company's AWS bill as a legacy AWS Cost and Usage Report (CUR) CSV.

``generate_cur(path, CurSpec(rows=1_000_000))`` writes the AWS part of the demo (FOCUS 1.2,
as Parquet, in a scratch folder) and turns it into one CUR CSV with DuckDB: one streaming
``COPY (SELECT … FROM read_parquet(…) WHERE ProviderName = 'AWS') TO 'cur.csv'``, the
inverse of the FOCUS mapping AWS and the FinOps Foundation's ``focus-converter`` apply.
``focus_to_cur`` does the second step alone, over any demo FOCUS files (CSV or Parquet).

The CUR keeps AWS's column names and semantics:

- Dates are ``2024-09-01T00:00:00Z``; ``identity/TimeInterval`` is ``start/end``.
- ``lineItem/LineItemType`` from the FOCUS charge: Tax → Tax, Credit → Credit,
  Adjustment or a correction → Refund; a Savings Plan purchase → SavingsPlanRecurringFee
  (SavingsPlanUpfrontFee when one-time), a reservation's → RIFee (Fee when one-time),
  other purchases (support) → Fee; usage covered by a Savings Plan →
  SavingsPlanCoveredUsage, *plus* a SavingsPlanNegation line that takes its cost back out;
  usage covered by a reservation → DiscountedUsage; the unused part of a commitment →
  SavingsPlanRecurringFee or RIFee (with ``savingsPlan/TotalCommitmentToDate`` −
  ``savingsPlan/UsedCommitment``, or ``reservation/UnusedRecurringFee``, holding it);
  anything else → Usage.
- Costs: ``lineItem/UnblendedCost`` is what the line bills, so per billing period it sums
  to the FOCUS BilledCost. A covered line bills its cost at the account's rates
  (ContractedCost) and its negation the opposite, as AWS does; the amortized cost is in
  ``savingsPlan/SavingsPlanEffectiveCost`` / ``reservation/EffectiveCost``. Amortizing the
  CUR the way AWS (and ``focus-converter``) does gives back the FOCUS EffectiveCost.
- Tags: one ``resourceTags/user:<key>`` column per tag key found in the FOCUS ``Tags``.

A CUR line has no row of its own in FOCUS for the negations, so the file holds about
20% more lines than the AWS FOCUS rows it came from; :func:`generate_cur` sizes the demo
so the CUR has about the rows asked for.
"""

from __future__ import annotations

import math
import shutil
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import duckdb

from costprism.demo.generator import MIN_ROWS_PER_MONTH, DemoSpec, generate
from costprism.errors import UserError

PROVIDER_KEY = "aws"
# CUR lines per demo row (all providers): AWS's share of the rows, 1.23 lines per AWS row
# with the Savings Plan negations. Measured, seed 7: 0.535 at 20,000 rows a month, 0.554
# at 1.9 million.
LINES_PER_DEMO_ROW = 0.55
TAG_PREFIX = "resourceTags/user:"

# ServiceName → lineItem/ProductCode; a Marketplace product has an opaque code.
PRODUCT_CODES: dict[str, str] = {
    "Amazon Elastic Compute Cloud": "AmazonEC2",
    "Amazon Elastic Block Store": "AmazonEC2",  # EBS bills under EC2's product code
    "Amazon Simple Storage Service": "AmazonS3",
    "Amazon Relational Database Service": "AmazonRDS",
    "Amazon DynamoDB": "AmazonDynamoDB",
    "AWS Lambda": "AWSLambda",
    "Amazon CloudWatch": "AmazonCloudWatch",
    "AWS Data Transfer": "AWSDataTransfer",
    "Amazon Virtual Private Cloud": "AmazonVPC",
    "Amazon Redshift": "AmazonRedshift",
    "Amazon EMR": "ElasticMapReduce",
    "Amazon Elastic Kubernetes Service": "AmazonEKS",
    "Amazon SageMaker": "AmazonSageMaker",
    "Streamforge Managed Kafka": "8x5wz2kq3r6m1d9ptxyb4c7ve",
    "AWS Support (Business)": "AWSSupportBusiness",
}
# RegionId → the prefix of lineItem/UsageType (us-east-1 has none).
USAGE_TYPE_PREFIXES: dict[str, str] = {
    "us-east-1": "",
    "us-east-2": "USE2-",
    "us-west-1": "USW1-",
    "us-west-2": "USW2-",
    "eu-west-1": "EU-",
    "eu-west-2": "EUW2-",
    "eu-central-1": "EUC1-",
    "ap-southeast-1": "APS1-",
    "ap-southeast-2": "APS2-",
    "ap-northeast-1": "APN1-",
}
# The last part of an instance type → lineItem/NormalizationFactor.
NORMALIZATION: dict[str, float] = {
    "nano": 0.25, "micro": 0.5, "small": 1, "medium": 2, "large": 4, "xlarge": 8,
    "2xlarge": 16, "3xlarge": 24, "4xlarge": 32, "6xlarge": 48, "8xlarge": 64,
    "9xlarge": 72, "10xlarge": 80, "12xlarge": 96, "16xlarge": 128, "18xlarge": 144,
    "24xlarge": 192, "32xlarge": 256, "48xlarge": 384,
}  # fmt: skip
LEGAL_ENTITY = "Amazon Web Services, Inc."

# The CUR columns before the tags, each with its SQL over the FOCUS row (``f``) and the
# row's line item type (``t``: one of the names below). ``n`` is 1 on a Savings Plan
# negation's copy of its covered line, 0 on every other line.
_SP = "CommitmentDiscountType = 'Savings Plan'"
_RI = f"(CommitmentDiscountId IS NOT NULL AND NOT coalesce({_SP}, false))"
LINE_ITEM_TYPE = f"""CASE
    WHEN ChargeClass = 'Correction' OR ChargeCategory = 'Adjustment' THEN 'Refund'
    WHEN ChargeCategory = 'Tax' THEN 'Tax'
    WHEN ChargeCategory = 'Credit' THEN 'Credit'
    WHEN ChargeCategory = 'Purchase' AND {_SP} THEN CASE
        WHEN ChargeFrequency = 'One-Time' THEN 'SavingsPlanUpfrontFee'
        ELSE 'SavingsPlanRecurringFee' END
    WHEN ChargeCategory = 'Purchase' AND {_RI} THEN CASE
        WHEN ChargeFrequency = 'One-Time' THEN 'Fee' ELSE 'RIFee' END
    WHEN ChargeCategory = 'Purchase' THEN 'Fee'
    WHEN {_SP} AND CommitmentDiscountStatus = 'Unused' THEN 'SavingsPlanRecurringFee'
    WHEN {_SP} THEN 'SavingsPlanCoveredUsage'
    WHEN {_RI} AND CommitmentDiscountStatus = 'Unused' THEN 'RIFee'
    WHEN {_RI} THEN 'DiscountedUsage'
    ELSE 'Usage' END"""
_UNUSED = "CommitmentDiscountStatus = 'Unused'"
_USAGE = "t IN ('Usage', 'SavingsPlanCoveredUsage', 'DiscountedUsage')"
_STAMP = "strftime({}::TIMESTAMP, '%Y-%m-%dT%H:%M:%SZ')"


def _columns() -> tuple[tuple[str, str], ...]:
    start, end = _STAMP.format("ChargePeriodStart"), _STAMP.format("ChargePeriodEnd")
    prefix = _case("RegionId", USAGE_TYPE_PREFIXES, "coalesce(upper(RegionId) || '-', '')")
    factor = _case("regexp_extract(instance_type, '\\.(\\w+)$', 1)", NORMALIZATION, "NULL")
    meter = "regexp_replace(SkuMeter, '\\s', '', 'g')"
    return (
        ("identity/LineItemId", "md5(concat_ws('|', BillingPeriodStart, line, n))"),
        ("identity/TimeInterval", f"{start} || '/' || {end}"),
        ("bill/InvoiceId", "InvoiceId"),
        ("bill/InvoicingEntity", f"'{LEGAL_ENTITY}'"),
        (
            "bill/BillingEntity",
            "CASE WHEN PublisherName <> ProviderName THEN 'AWS Marketplace' ELSE 'AWS' END",
        ),
        (
            "bill/BillType",
            "CASE WHEN t = 'Refund' THEN 'Refund' WHEN ChargeCategory = 'Purchase' "
            "AND ChargeFrequency = 'One-Time' THEN 'Purchase' ELSE 'Anniversary' END",
        ),
        ("bill/PayerAccountId", "BillingAccountId"),
        ("bill/BillingPeriodStartDate", _STAMP.format("BillingPeriodStart")),
        ("bill/BillingPeriodEndDate", _STAMP.format("BillingPeriodEnd")),
        ("lineItem/UsageAccountId", "coalesce(SubAccountId, BillingAccountId)"),
        ("lineItem/LineItemType", "t"),
        ("lineItem/UsageStartDate", start),
        ("lineItem/UsageEndDate", end),
        ("lineItem/ProductCode", "code"),
        (
            "lineItem/UsageType",
            f"""CASE WHEN t = 'Tax' THEN 'Tax'
            WHEN t IN ('Credit', 'Refund') THEN NULL
            WHEN t LIKE 'SavingsPlan%Fee' THEN 'ComputeSP:' || regexp_replace(
                coalesce(regexp_extract(CommitmentDiscountName, '(\\d+yr.*)$', 1), ''),
                '\\s', '', 'g')
            WHEN PricingCategory = 'Dynamic' THEN {prefix} || 'SpotUsage:' || instance_type
            WHEN instance_type IS NOT NULL THEN {prefix} || 'BoxUsage:' || instance_type
            ELSE {prefix} || {meter} END""",
        ),
        (
            "lineItem/Operation",
            f"CASE WHEN instance_type IS NOT NULL AND {_USAGE} THEN 'RunInstances' "
            f"WHEN {_USAGE} OR t = 'SavingsPlanNegation' THEN 'Usage' END",
        ),
        ("lineItem/AvailabilityZone", "AvailabilityZone"),
        ("lineItem/ResourceId", "ResourceId"),
        (
            "lineItem/UsageAmount",
            f"CASE WHEN {_USAGE} THEN PricingQuantity WHEN t = 'SavingsPlanNegation' THEN 0 END",
        ),
        ("lineItem/NormalizationFactor", f"CASE WHEN {_USAGE} THEN {factor} END"),
        (
            "lineItem/NormalizedUsageAmount",
            f"CASE WHEN {_USAGE} THEN PricingQuantity * {factor} END",
        ),
        ("lineItem/CurrencyCode", "BillingCurrency"),
        (
            "lineItem/UnblendedRate",
            f"CASE WHEN {_USAGE} OR t = 'SavingsPlanNegation' THEN ContractedUnitPrice END",
        ),
        ("lineItem/UnblendedCost", "cost"),
        (
            "lineItem/BlendedRate",
            f"CASE WHEN {_USAGE} OR t = 'SavingsPlanNegation' THEN ContractedUnitPrice END",
        ),
        ("lineItem/BlendedCost", "cost"),
        ("lineItem/LineItemDescription", "ChargeDescription"),
        ("lineItem/TaxType", "CASE WHEN t = 'Tax' THEN 'USSalesTax' END"),
        (
            "lineItem/LegalEntity",
            f"CASE WHEN PublisherName <> ProviderName THEN PublisherName ELSE '{LEGAL_ENTITY}' END",
        ),
        ("product/ProductName", "ServiceName"),
        (
            "product/productFamily",
            "CASE WHEN t IN ('Tax', 'Credit', 'Refund') THEN NULL "
            "WHEN instance_type IS NOT NULL THEN 'Compute Instance' "
            "WHEN t LIKE 'SavingsPlan%Fee' THEN 'Savings Plan' ELSE ServiceSubcategory END",
        ),
        ("product/region", "RegionId"),
        ("product/location", "RegionName"),
        ("product/sku", "SkuId"),
        ("product/servicecode", "code"),
        ("product/instanceType", "instance_type"),
        (
            "product/PurchaseOption",
            "CASE WHEN t <> 'Usage' THEN NULL WHEN PricingCategory = 'Dynamic' "
            "THEN 'Spot Instances' ELSE 'On-Demand' END",
        ),
        (
            "pricing/publicOnDemandCost",
            f"CASE WHEN {_USAGE} OR t IN ('Fee', 'RIFee') THEN ListCost END",
        ),
        ("pricing/publicOnDemandRate", f"CASE WHEN {_USAGE} THEN ListUnitPrice END"),
        (
            "pricing/term",
            "CASE WHEN t IN ('Usage', 'SavingsPlanCoveredUsage') "
            "AND PricingCategory IS DISTINCT FROM 'Dynamic' THEN 'OnDemand' "
            "WHEN t IN ('DiscountedUsage', 'RIFee') THEN 'Reserved' END",
        ),
        ("pricing/unit", f"CASE WHEN {_USAGE} OR t = 'Fee' THEN PricingUnit END"),
        ("pricing/RateCode", "SkuPriceId"),
        ("pricing/RateId", "NULL"),
        ("reservation/ReservationARN", f"CASE WHEN {_RI} THEN CommitmentDiscountId END"),
        ("reservation/EffectiveCost", "CASE WHEN t = 'DiscountedUsage' THEN EffectiveCost END"),
        ("reservation/TotalReservedUnits", "NULL"),
        (
            "reservation/UnusedAmortizedUpfrontFeeForBillingPeriod",
            "CASE WHEN t = 'RIFee' THEN 0 END",
        ),
        (
            "reservation/UnusedRecurringFee",
            f"CASE WHEN t = 'RIFee' THEN CASE WHEN {_UNUSED} THEN EffectiveCost ELSE 0 END END",
        ),
        ("savingsPlan/SavingsPlanARN", f"CASE WHEN {_SP} THEN CommitmentDiscountId END"),
        (
            "savingsPlan/SavingsPlanRate",
            "CASE WHEN t = 'SavingsPlanCoveredUsage' AND PricingQuantity <> 0 "
            "THEN EffectiveCost / PricingQuantity END",
        ),
        (
            "savingsPlan/SavingsPlanEffectiveCost",
            "CASE WHEN t = 'SavingsPlanCoveredUsage' THEN EffectiveCost "
            "WHEN t = 'SavingsPlanNegation' THEN 0 END",
        ),
        (
            # The recurring fee's unused part is TotalCommitmentToDate − UsedCommitment: the
            # monthly fee line is all used (its unused part has lines of its own, per day).
            "savingsPlan/TotalCommitmentToDate",
            f"CASE WHEN t = 'SavingsPlanRecurringFee' THEN CASE WHEN {_UNUSED} "
            "THEN EffectiveCost ELSE BilledCost END END",
        ),
        (
            "savingsPlan/UsedCommitment",
            f"CASE WHEN t = 'SavingsPlanRecurringFee' THEN CASE WHEN {_UNUSED} "
            "THEN 0 ELSE BilledCost - EffectiveCost END END",
        ),
    )


def _case(expression: str, mapping: dict[str, str] | dict[str, float], default: str) -> str:
    whens = " ".join(f"WHEN {_literal(k)} THEN {_literal(v)}" for k, v in mapping.items())
    return f"CASE {expression} {whens} ELSE {default} END"


def _literal(value: str | float) -> str:
    if isinstance(value, str):
        return "'" + value.replace("'", "''") + "'"
    return f"{float(value)!r}::DOUBLE"


def cur_columns(tag_keys: Sequence[str]) -> tuple[str, ...]:
    """The CUR file's header for these tag keys."""
    return (*(n for n, _ in _columns()), *_tag_columns(tag_keys))


def _tag_columns(tag_keys: Sequence[str]) -> tuple[str, ...]:
    return tuple(TAG_PREFIX + key for key in tag_keys)


@dataclass(frozen=True, kw_only=True)
class CurResult:
    path: Path
    rows: int
    columns: tuple[str, ...]
    tag_keys: tuple[str, ...]
    focus_rows: int  # AWS FOCUS rows read


def focus_source(files: Sequence[Path]) -> str:
    """A DuckDB relation over demo FOCUS files: Parquet as is, CSV with the demo's types."""
    names = ", ".join(_literal(str(p)) for p in files)
    if all(p.suffix == ".parquet" for p in files):
        return f"read_parquet([{names}], file_row_number = true)"
    if any(p.suffix == ".parquet" for p in files):
        raise UserError("FOCUS files for a CUR: all Parquet or all CSV, not both")
    from costprism.demo.focus_file import FOCUS_COLUMNS, NUMERIC_COLUMNS, TIMESTAMP_COLUMNS

    types = ", ".join(
        f"{_literal(c)}: "
        + (
            "'DOUBLE'"
            if c in NUMERIC_COLUMNS
            else "'TIMESTAMPTZ'"
            if c in TIMESTAMP_COLUMNS
            else "'VARCHAR'"
        )
        for c in FOCUS_COLUMNS
    )
    return (
        f"(SELECT *, row_number() OVER () - 1 AS file_row_number FROM read_csv([{names}], "
        f"header = true, auto_detect = false, columns = {{{types}}}))"
    )


def tag_keys(connection: duckdb.DuckDBPyConnection, source: str) -> tuple[str, ...]:
    """The tag keys in the AWS rows, sorted; one CUR column each."""
    found = connection.execute(
        f"SELECT DISTINCT unnest(json_keys(Tags)) AS k FROM {source} "
        "WHERE ProviderName = 'AWS' AND Tags IS NOT NULL ORDER BY k"
    ).fetchall()
    keys = tuple(str(k) for (k,) in found)
    lowered = [k.lower() for k in keys]
    if len(set(lowered)) != len(lowered):  # DuckDB (and most CUR readers) fold case
        raise UserError(f"tag keys that differ only in case can't be CUR columns: {keys}")
    return keys


def cur_select(source: str, keys: Sequence[str]) -> str:
    """The SELECT that turns the AWS rows of ``source`` into CUR lines."""
    codes = _case("ServiceName", PRODUCT_CODES, "regexp_replace(ServiceName, '\\W', '', 'g')")
    paths = ", ".join(_literal("$." + _json_key(k)) for k in keys)
    tags = [
        (TAG_PREFIX + k, f"nullif(tag_values[{i + 1}], '')")  # an empty value is no tag
        for i, k in enumerate(keys)
    ]
    select = ",\n    ".join(f"{sql} AS {_ident(name)}" for name, sql in [*_columns(), *tags])
    tag_list = f"json_extract_string(Tags, [{paths}])" if keys else "NULL"
    # Each FOCUS row once, and a covered line's negation a second time (n = 1).
    return f"""
WITH lines AS (
    SELECT *, file_row_number AS line, 0 AS n FROM {source} WHERE ProviderName = 'AWS'
    UNION ALL
    SELECT *, file_row_number AS line, 1 AS n FROM {source}
    WHERE ProviderName = 'AWS' AND {_SP} AND ChargeCategory = 'Usage'
        AND CommitmentDiscountStatus IS DISTINCT FROM 'Unused'
), typed AS (
    SELECT *,
        CASE WHEN n = 1 THEN 'SavingsPlanNegation' ELSE {LINE_ITEM_TYPE} END AS t,
        json_extract_string(SkuPriceDetails, '$.InstanceType') AS instance_type,
        {tag_list} AS tag_values
    FROM lines
), costed AS (
    SELECT *,
        CASE WHEN t IN ('SavingsPlanCoveredUsage', 'SavingsPlanNegation')
            THEN CASE WHEN n = 1 THEN -ContractedCost ELSE ContractedCost END
            ELSE BilledCost END AS cost,
        {codes} AS code
    FROM typed
)
SELECT
    {select}
FROM costed"""


def _json_key(key: str) -> str:
    return '"' + key.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def focus_to_cur(files: Sequence[Path], out: Path, *, memory_limit: str | None = None) -> CurResult:
    """Write the AWS rows of demo FOCUS ``files`` (CSV or Parquet) as one CUR CSV ``out``."""
    if not files:
        raise UserError("no FOCUS files to turn into a CUR")
    out.parent.mkdir(parents=True, exist_ok=True)
    connection = duckdb.connect()
    try:
        connection.execute("SET TimeZone = 'UTC'")
        connection.execute("SET enable_progress_bar = false")
        if memory_limit:
            connection.execute(f"SET memory_limit = {_literal(memory_limit)}")
        source = focus_source(files)
        keys = tag_keys(connection, source)
        partial = out.with_name(out.name + ".partial")
        rows = _count(
            connection,
            f"COPY ({cur_select(source, keys)}) TO {_literal(str(partial))} "
            "(FORMAT csv, HEADER true)",
        )
        focus_rows = _count(connection, f"SELECT count(*) FROM {source} WHERE ProviderName = 'AWS'")
    finally:
        connection.close()
    partial.replace(out)
    return CurResult(
        path=out, rows=rows, columns=cur_columns(keys), tag_keys=keys, focus_rows=focus_rows
    )


def _count(connection: duckdb.DuckDBPyConnection, sql: str) -> int:
    found = connection.execute(sql).fetchone()
    return int(found[0]) if found else 0


@dataclass(frozen=True, kw_only=True)
class CurSpec:
    rows: int = 100_000  # about this many CUR lines (±10%)
    months: int = 1
    seed: int = 7
    end_month: date | None = None  # first day of the last month; default: last complete

    def __post_init__(self) -> None:
        if self.rows < 1:
            raise UserError(f"CUR rows: {self.rows} is not a positive number")

    def demo_spec(self) -> DemoSpec:
        """The demo (AWS only, Parquet) whose AWS rows make about ``rows`` CUR lines."""
        per_month = math.ceil(self.rows / LINES_PER_DEMO_ROW / self.months)
        return DemoSpec(
            seed=self.seed,
            months=self.months,
            end_month=self.end_month,
            rows_per_month=max(per_month, MIN_ROWS_PER_MONTH),
            file_format="parquet",
            providers=(PROVIDER_KEY,),
        )


def generate_cur(
    out: Path, spec: CurSpec, *, scratch: Path | None = None, memory_limit: str | None = None
) -> CurResult:
    """Write the demo's AWS bill as one CUR CSV ``out`` of about ``spec.rows`` lines.

    The FOCUS files go to a scratch folder (``scratch``, else beside ``out``), removed after.
    """
    base = scratch or out.parent
    base.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=".cur-focus-", dir=base))
    try:
        demo = generate(work, spec.demo_spec())
        return focus_to_cur(list(demo.files), out, memory_limit=memory_limit)
    finally:
        shutil.rmtree(work, ignore_errors=True)
