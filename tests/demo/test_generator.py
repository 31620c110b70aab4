"""The demo generator: files, FOCUS rules, content, anomalies, manifest, determinism."""

from __future__ import annotations

import gzip
import json
from dataclasses import replace
from datetime import UTC, date, datetime
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest

from costprism.demo import DemoResult, DemoSpec, generate
from costprism.demo.company import ENVIRONMENT_MISSPELLINGS, NORTHWIND, TEAM_MISSPELLINGS
from costprism.demo.focus_file import FOCUS_COLUMNS
from costprism.demo.timeline import add_months
from costprism.errors import UserError
from costprism.focus.columns import SERVICE_SUBCATEGORY_PARENT, column
from costprism.ingest.pipeline import IngestOptions, validate

TINY = DemoSpec(seed=3, months=1, end_month=date(2026, 4, 1), rows_per_month=3_000)


def rows(connection: duckdb.DuckDBPyConnection, sql: str) -> list[tuple[object, ...]]:
    return connection.execute(sql).fetchall()


def count(connection: duckdb.DuckDBPyConnection, where: str) -> int:
    found = rows(connection, f"SELECT count(*) FROM focus WHERE {where}")
    return int(str(found[0][0]))


def read(result: DemoResult, *columns: str) -> pa.Table:
    """Some columns of every file of a demo, read quickly with pyarrow (numbers typed)."""
    options = pacsv.ConvertOptions(include_columns=list(columns), strings_can_be_null=True)
    return pa.concat_tables(pacsv.read_csv(p, convert_options=options) for p in result.files)


def file_bytes(result: DemoResult) -> dict[str, bytes]:
    paths = [*result.files, *(result.out / n for n in ("manifest.json", "anomalies.json"))]
    return {p.relative_to(result.out).as_posix(): p.read_bytes() for p in paths}


# --------------------------------------------------------------------------- determinism


def test_the_same_spec_writes_the_same_bytes(tmp_path: Path) -> None:
    first = generate(tmp_path / "a", TINY)
    second = generate(tmp_path / "b", TINY)
    assert file_bytes(first) == file_bytes(second)


def test_another_seed_writes_other_data(tmp_path: Path) -> None:
    first = generate(tmp_path / "a", TINY)
    other = generate(tmp_path / "b", replace(TINY, seed=4))
    assert file_bytes(first).keys() == file_bytes(other).keys()
    assert first.files[0].read_bytes() != other.files[0].read_bytes()


def test_csv_gz_holds_the_csv_and_is_deterministic(tmp_path: Path) -> None:
    plain = generate(tmp_path / "csv", TINY)
    spec = replace(TINY, file_format="csv.gz")
    packed, again = generate(tmp_path / "gz", spec), generate(tmp_path / "gz2", spec)
    assert [p.name for p in packed.files] == [f"{p.name}.gz" for p in plain.files]
    assert [p.read_bytes() for p in packed.files] == [p.read_bytes() for p in again.files]
    assert gzip.decompress(packed.files[0].read_bytes()) == plain.files[0].read_bytes()


# --------------------------------------------------------------------------- files


def test_every_file_has_exactly_the_focus_header(
    demo: DemoResult, focus_sql: duckdb.DuckDBPyConnection
) -> None:
    header = ",".join(FOCUS_COLUMNS)
    for path in demo.files:
        with path.open(encoding="utf-8") as f:
            assert f.readline().rstrip("\n") == header
    biggest = max(demo.files, key=lambda p: p.stat().st_size)
    sniffed = duckdb.sql(f"SELECT * FROM read_csv('{biggest}')")
    assert sniffed.columns == list(FOCUS_COLUMNS)
    assert dict(zip(sniffed.columns, sniffed.types, strict=True))["BilledCost"] == "DOUBLE"
    assert count(focus_sql, "true") == demo.rows
    assert len(FOCUS_COLUMNS) == 57


def test_files_are_laid_out_per_provider_and_month(demo: DemoResult) -> None:
    names = sorted(p.relative_to(demo.out).as_posix() for p in demo.files)
    providers = ("aws", "azure", "gcp", "skyglass")
    assert names == [f"focus/{p}/{m}.csv" for p in providers for m in ("2026-04", "2026-05")]


def test_nulls_are_empty_fields_never_text(focus_sql: duckdb.DuckDBPyConnection) -> None:
    checks = " OR ".join(f"{c} IN ('NULL', 'null', '')" for c in FOCUS_COLUMNS)
    assert count(focus_sql, checks) == 0
    assert count(focus_sql, "ChargeClass IS NOT NULL") == 0


def test_the_import_validator_finds_nothing_wrong(demo: DemoResult) -> None:
    result = validate([demo.out / "focus"], IngestOptions(source="demo"))
    assert result.rows == demo.rows
    assert (result.report.errors, result.report.warnings) == (0, 0)


def test_parquet_has_typed_columns_and_the_same_rows(tmp_path: Path) -> None:
    spec = replace(TINY, file_format="parquet")
    result, plain = generate(tmp_path / "pq", spec), generate(tmp_path / "csv", TINY)
    schema = pq.read_schema(result.files[0])
    assert schema.names == list(FOCUS_COLUMNS)
    assert schema.field("BilledCost").type == pa.float64()
    assert schema.field("ChargePeriodStart").type == pa.timestamp("us", "UTC")
    assert schema.field("Tags").type == pa.string()
    typed = pa.concat_tables(pq.read_table(p, columns=["BilledCost"]) for p in result.files)
    text = read(plain, "BilledCost")
    assert typed.num_rows == result.rows == text.num_rows == plain.rows
    billed, billed_csv = (pa.compute.sum(t["BilledCost"]).as_py() for t in (typed, text))
    assert billed == pytest.approx(billed_csv, rel=1e-12)


# --------------------------------------------------------------------------- FOCUS rules


ENUMERATED = [c for c in FOCUS_COLUMNS if column(c).allowed_values]


@pytest.mark.parametrize("name", ENUMERATED)
def test_enumerated_columns_hold_allowed_values(
    focus_sql: duckdb.DuckDBPyConnection, name: str
) -> None:
    values = {v for (v,) in rows(focus_sql, f"SELECT DISTINCT {name} FROM focus")}
    assert values - {None} <= set(column(name).allowed_values or ())
    assert len(ENUMERATED) >= 8  # ChargeCategory ... ServiceSubcategory


def test_service_subcategories_belong_to_their_category(
    focus_sql: duckdb.DuckDBPyConnection,
) -> None:
    pairs = rows(focus_sql, "SELECT DISTINCT ServiceCategory, ServiceSubcategory FROM focus")
    assert all(SERVICE_SUBCATEGORY_PARENT[sub] == category for category, sub in pairs)
    per_service = (
        "SELECT ServiceName FROM focus GROUP BY 1 HAVING count(DISTINCT ServiceCategory) > 1"
        " OR count(DISTINCT ServiceSubcategory) > 1"  # FOCUS: one of each per ServiceName
    )
    assert rows(focus_sql, per_service) == []


def test_every_sku_has_a_meter(focus_sql: duckdb.DuckDBPyConnection) -> None:
    """FOCUS: SkuMeter should not be null where SkuId is not (credits included)."""
    assert count(focus_sql, "SkuId IS NOT NULL AND SkuMeter IS NULL") == 0
    assert count(focus_sql, "ChargeCategory = 'Credit' AND SkuId IS NOT NULL") > 0


def test_purchases_are_never_usage_based(focus_sql: duckdb.DuckDBPyConnection) -> None:
    assert count(focus_sql, "ChargeCategory = 'Purchase' AND ChargeFrequency = 'Usage-Based'") == 0
    assert count(focus_sql, "ChargeCategory = 'Purchase' AND PricingCategory = 'Committed'") == 0


def test_charge_periods_are_days_or_months_inside_the_billing_period(
    focus_sql: duckdb.DuckDBPyConnection,
) -> None:
    start, end = "ChargePeriodStart::TIMESTAMPTZ", "ChargePeriodEnd::TIMESTAMPTZ"
    assert count(focus_sql, f"{start} >= {end}") == 0
    assert (
        count(focus_sql, "substr(BillingPeriodStart, 1, 7) <> substr(ChargePeriodStart, 1, 7)") == 0
    )
    assert (
        count(
            focus_sql,
            "BillingPeriodEnd::TIMESTAMPTZ <> BillingPeriodStart::TIMESTAMPTZ + INTERVAL 1 MONTH",
        )
        == 0
    )
    stamp = r"'^\d{4}-\d\d-\d\dT00:00:00Z$'"
    for name in ("BillingPeriodStart", "BillingPeriodEnd", "ChargePeriodStart", "ChargePeriodEnd"):
        assert count(focus_sql, f"NOT regexp_matches({name}, {stamp})") == 0
    lengths = {
        d
        for (d,) in rows(focus_sql, f"SELECT DISTINCT date_diff('day', {start}, {end}) FROM focus")
    }
    assert lengths == {1, 30, 31}


def test_mandatory_columns_are_filled(focus_sql: duckdb.DuckDBPyConnection) -> None:
    mandatory = (
        "BilledCost",
        "EffectiveCost",
        "ListCost",
        "ContractedCost",
        "BillingAccountId",
        "BillingAccountType",
        "BillingCurrency",
        "ChargeCategory",
        "ChargeFrequency",
        "InvoiceIssuerName",
        "InvoiceId",
        "ProviderName",
        "PublisherName",
        "ServiceName",
        "ServiceCategory",
        "ServiceSubcategory",
        "ChargePeriodStart",
        "ChargePeriodEnd",
        "BillingPeriodStart",
        "BillingPeriodEnd",
        "PricingCurrency",
        "PricingCurrencyEffectiveCost",
    )
    assert count(focus_sql, " OR ".join(f"{c} IS NULL" for c in mandatory)) == 0


def test_currencies_are_iso_codes_and_more_than_one(focus_sql: duckdb.DuckDBPyConnection) -> None:
    assert count(focus_sql, "NOT regexp_matches(BillingCurrency, '^[A-Z]{3}$')") == 0
    assert count(focus_sql, "NOT regexp_matches(PricingCurrency, '^[A-Z]{3}$')") == 0
    currencies = {c for (c,) in rows(focus_sql, "SELECT DISTINCT BillingCurrency FROM focus")}
    assert currencies == {"USD", "EUR"}
    rates = rows(
        focus_sql,
        """SELECT BillingCurrency, min(r), max(r) FROM (SELECT BillingCurrency,
        EffectiveCost::DOUBLE / PricingCurrencyEffectiveCost::DOUBLE r FROM focus
        WHERE PricingCurrencyEffectiveCost::DOUBLE > 1) GROUP BY 1""",
    )
    by_currency = {c: (lo, hi) for c, lo, hi in rates}
    assert by_currency["USD"] == (1.0, 1.0)
    assert 0.85 < by_currency["EUR"][0] <= by_currency["EUR"][1] < 0.99  # EUR per USD


def test_usage_costs_run_list_then_contracted_then_effective(
    focus_sql: duckdb.DuckDBPyConnection,
) -> None:
    list_, contracted, effective = (
        f"{c}::DOUBLE" for c in ("ListCost", "ContractedCost", "EffectiveCost")
    )
    unordered = (
        f"ChargeCategory = 'Usage' AND ({list_} < {contracted} OR {contracted} < {effective})"
    )
    assert count(focus_sql, unordered) == 0
    assert (
        count(
            focus_sql,
            "abs(ListCost::DOUBLE - ListUnitPrice::DOUBLE * PricingQuantity::DOUBLE) > 1e-6",
        )
        == 0
    )
    assert (
        count(
            focus_sql,
            "abs(ContractedCost::DOUBLE - ContractedUnitPrice::DOUBLE"
            " * PricingQuantity::DOUBLE) > 1e-6",
        )
        == 0
    )


def test_tax_rows_carry_no_pricing(focus_sql: duckdb.DuckDBPyConnection) -> None:
    pricing = (
        "PricingQuantity",
        "PricingUnit",
        "ListUnitPrice",
        "ContractedUnitPrice",
        "SkuId",
        "SkuPriceId",
        "PricingCategory",
    )
    assert count(focus_sql, "ChargeCategory = 'Tax'") > 0
    filled = " OR ".join(f"{c} IS NOT NULL" for c in pricing)
    assert count(focus_sql, f"ChargeCategory = 'Tax' AND ({filled})") == 0
    assert (
        count(
            focus_sql,
            f"ChargeCategory IN ('Usage', 'Purchase') AND NOT ({filled.replace('OR', 'AND')})",
        )
        == 0
    )


# --------------------------------------------------------------------------- content


def test_every_kind_of_charge_is_there(focus_sql: duckdb.DuckDBPyConnection) -> None:
    assert count(focus_sql, "ChargeCategory = 'Purchase'") > 0
    assert count(focus_sql, "ChargeCategory = 'Tax'") > 0
    assert count(focus_sql, "ChargeCategory = 'Credit' AND BilledCost::DOUBLE < 0") > 0
    assert count(focus_sql, "CommitmentDiscountStatus = 'Used'") > 0
    assert count(focus_sql, "CommitmentDiscountStatus = 'Unused'") > 0
    assert count(focus_sql, "PricingCategory = 'Dynamic'") > 0
    assert count(focus_sql, "PublisherName <> ProviderName") > 0
    fees = rows(
        focus_sql,
        """SELECT ProviderName, SkuMeter, count(*) FROM focus
        WHERE ChargeCategory = 'Purchase' AND CommitmentDiscountId IS NULL GROUP BY ALL""",
    )
    assert sorted(fees) == [  # one a month
        ("AWS", "Support", 2),
        ("Microsoft", "Support", 2),
        ("Skyglass Observability", "Subscription", 2),
    ]


def test_commitments_amortize_exactly_their_fees(focus_sql: duckdb.DuckDBPyConnection) -> None:
    per_commitment = rows(
        focus_sql,
        """
        SELECT CommitmentDiscountId, BillingPeriodStart,
               sum(BilledCost::DOUBLE) FILTER (ChargeCategory = 'Purchase'),
               sum(EffectiveCost::DOUBLE) FILTER (ChargeCategory = 'Usage'),
               sum(BilledCost::DOUBLE) FILTER (ChargeCategory = 'Usage'),
               sum(EffectiveCost::DOUBLE) FILTER (ChargeCategory = 'Purchase')
        FROM focus WHERE CommitmentDiscountId IS NOT NULL GROUP BY ALL""",
    )
    assert len(per_commitment) == 3 * 2  # one per cloud, two months
    for _, _, fee, amortized, billed_usage, purchase_effective in per_commitment:
        assert amortized == pytest.approx(fee, abs=0.01)
        assert (billed_usage, purchase_effective) == (0, 0)
    unused = "CommitmentDiscountStatus = 'Unused'"
    assert count(focus_sql, f"{unused} AND ResourceId <> CommitmentDiscountId") == 0
    assert count(focus_sql, f"{unused} AND ConsumedQuantity IS NOT NULL") == 0


def test_about_fifteen_percent_of_usage_has_no_team_tag(
    focus_sql: duckdb.DuckDBPyConnection,
) -> None:
    untagged = count(focus_sql, "ChargeCategory = 'Usage' AND json_extract(Tags, '$.team') IS NULL")
    share = untagged / count(focus_sql, "ChargeCategory = 'Usage'")
    assert 0.10 <= share <= 0.20
    assert count(focus_sql, "Tags IS NULL AND ChargeCategory = 'Usage'") > 0
    assert count(focus_sql, "Tags IS NOT NULL AND NOT json_valid(Tags)") == 0


def test_both_tag_styles_and_misspellings_appear(focus_sql: duckdb.DuckDBPyConnection) -> None:
    pascal = "json_exists(Tags, '$.CostCenter') AND json_exists(Tags, '$.Environment')"
    label = "json_exists(Tags, '$.\"cost-center\"') AND json_exists(Tags, '$.environment')"
    assert count(focus_sql, f"ProviderName = 'AWS' AND {pascal}") > 0
    assert count(focus_sql, f"ProviderName = 'Google Cloud' AND {label}") > 0
    assert count(focus_sql, f"ProviderName = 'Google Cloud' AND {pascal}") == 0
    teams = {t for (t,) in rows(focus_sql, "SELECT DISTINCT Tags->>'$.team' FROM focus")}
    environments = {
        e
        for (e,) in rows(
            focus_sql,
            """SELECT DISTINCT
        coalesce(Tags->>'$.Environment', Tags->>'$.environment') FROM focus""",
        )
    }
    assert {t.key for t in NORTHWIND.teams} <= teams
    assert teams & {m for pair in TEAM_MISSPELLINGS.values() for m in pair}
    assert environments & {m for pair in ENVIRONMENT_MISSPELLINGS.values() for m in pair}


def test_weekdays_cost_more_than_weekends(focus_sql: duckdb.DuckDBPyConnection) -> None:
    by_day = rows(
        focus_sql,
        """
        SELECT isodow(ChargePeriodStart::DATE) >= 6, avg(daily) FROM (
            SELECT ChargePeriodStart, sum(PricingCurrencyEffectiveCost::DOUBLE) daily FROM focus
            WHERE ChargeCategory = 'Usage' AND ChargePeriodEnd::DATE - ChargePeriodStart::DATE = 1
            GROUP BY 1) GROUP BY 1""",
    )
    average = dict(by_day)
    assert average[False] > 1.05 * average[True]


def test_spend_grows_and_is_realistic_for_the_size(tmp_path: Path) -> None:
    spec = DemoSpec(seed=7, months=5, end_month=date(2026, 7, 1), rows_per_month=3_000)
    table = read(generate(tmp_path, spec), "BillingPeriodStart", "PricingCurrencyEffectiveCost")
    by_month = table.group_by("BillingPeriodStart").aggregate(
        [("PricingCurrencyEffectiveCost", "sum")]
    )
    spend = by_month.sort_by("BillingPeriodStart")["PricingCurrencyEffectiveCost_sum"].to_pylist()
    first, last = (s / 3_000 * 50_000 for s in (spend[0], spend[-1]))
    assert 300_000 < first < last < 1_000_000 * 1.2  # per 50,000 rows a month
    assert 1.015**4 < last / first < 1.05**4


# --------------------------------------------------------------------------- anomalies


def test_anomalies_stand_out_in_the_data(
    demo: DemoResult, focus_sql: duckdb.DuckDBPyConnection
) -> None:
    written = json.loads((demo.out / "anomalies.json").read_text())
    assert written == [a.to_json() for a in demo.anomalies]
    assert 4 <= len(written) <= 8
    for anomaly in written:
        assert anomaly["BillingCurrency"] == "USD"
        assert anomaly["impact_estimate"] > 0
        where = " AND ".join(f"{k} = '{v}'" for k, v in anomaly["scope"].items())
        daily = dict(
            rows(
                focus_sql,
                f"""
            SELECT ChargePeriodStart::DATE, sum(EffectiveCost::DOUBLE) FROM focus
            WHERE {where} AND ChargeCategory = 'Usage' GROUP BY 1""",
            )
        )
        start, end = date.fromisoformat(anomaly["start"]), date.fromisoformat(anomaly["end"])
        window = [c for d, c in sorted(daily.items()) if start <= d <= end]
        before = sorted(c for d, c in daily.items() if 0 < (start - d).days <= 14)
        if anomaly["kind"] == "new_region":
            assert not before
            assert sum(window) == pytest.approx(anomaly["impact_estimate"], rel=0.01)
        elif anomaly["kind"] == "slow_leak":  # grows day by day, to 3× on its last day
            median = before[len(before) // 2]
            assert window[0] < 1.5 * median < 2 * median < window[-1]
            halves = len(window) // 2
            assert sum(window[:halves]) < sum(window[-halves:])
            extra = sum(window) - median * len(window)
            assert extra == pytest.approx(anomaly["impact_estimate"], rel=0.5)
        else:
            median = before[len(before) // 2] if before else 0.0
            assert min(window) > 2 * median
            extra = sum(window) - median * len(window)
            assert extra == pytest.approx(anomaly["impact_estimate"], rel=0.5)


def test_a_new_region_has_no_earlier_spend_in_its_account(
    demo: DemoResult, focus_sql: duckdb.DuckDBPyConnection
) -> None:
    (new,) = (a for a in demo.anomalies if a.kind == "new_region")
    earlier = count(
        focus_sql,
        f"""SubAccountId = '{new.sub_account_id}'
        AND RegionId = '{new.region_id}' AND ChargePeriodStart::DATE < '{new.start}'""",
    )
    assert earlier == 0
    assert count(focus_sql, f"RegionId = '{new.region_id}'") > 0


# --------------------------------------------------------------------------- size and manifest


def test_rows_per_month_is_honoured(demo: DemoResult, focus_sql: duckdb.DuckDBPyConnection) -> None:
    wanted = json.loads((demo.out / "manifest.json").read_text())["rows_per_month"]
    per_month = rows(focus_sql, "SELECT BillingPeriodStart, count(*) FROM focus GROUP BY 1")
    assert len(per_month) == 2
    for _, n in per_month:
        assert abs(int(str(n)) - wanted) <= 0.1 * wanted


def test_more_rows_mean_more_resources_not_dearer_rows(tmp_path: Path) -> None:
    per_row = []
    for rows_per_month in (2_000, 8_000):
        spec = DemoSpec(seed=5, months=1, end_month=TINY.end_month, rows_per_month=rows_per_month)
        table = read(
            generate(tmp_path / str(rows_per_month), spec),
            "ResourceId",
            "PricingCurrencyEffectiveCost",
        )
        spend = pa.compute.sum(table["PricingCurrencyEffectiveCost"]).as_py()
        per_row.append((len(table["ResourceId"].unique()), spend / table.num_rows))
    (few, cost_small), (many, cost_large) = per_row
    assert many > 3 * few
    assert cost_large == pytest.approx(cost_small, rel=0.35)


def test_the_manifest_lists_files_and_their_rows(
    demo: DemoResult, focus_sql: duckdb.DuckDBPyConnection
) -> None:
    manifest = json.loads((demo.out / "manifest.json").read_text())
    assert manifest["generator"] == "costprism-demo"
    assert (manifest["version"], manifest["seed"], manifest["months"]) == (1, 7, 2)
    assert (manifest["start"], manifest["end"]) == ("2026-04", "2026-05")
    assert manifest["rows_per_month"] == 6_000
    assert manifest["side_inputs"] == {
        "anomalies": "anomalies.json",
        "allocation_rules": "rules.yaml",
        "tag_policy": "tag-policy.yaml",
        "gl_mapping": "gl-mapping.csv",
        "budgets": "budgets.yaml",
        "alerts": "alerts.yaml",
        "owners": "owners.yaml",
    }
    counted = dict(rows(focus_sql, "SELECT filename, count(*) FROM focus GROUP BY 1"))
    listed = {str(demo.out / f["path"]): f["rows"] for f in manifest["files"]}
    assert listed == counted
    assert sum(listed.values()) == demo.rows
    assert {f["provider"] for f in manifest["files"]} == {"aws", "azure", "gcp", "skyglass"}
    company = json.loads((demo.out / "company.json").read_text())
    assert len(company["teams"]) == 8
    assert 18 <= len(company["sub_accounts"]) <= 25


def test_progress_counts_up_to_every_row(tmp_path: Path) -> None:
    calls: list[tuple[int, int]] = []
    result = generate(tmp_path, TINY, progress=lambda done, total: calls.append((done, total)))
    assert [done for done, _ in calls] == sorted(done for done, _ in calls)
    assert calls[-1][0] == result.rows
    assert all(done <= total for done, total in calls)
    assert calls[0][1] == pytest.approx(result.rows, rel=0.1)


def test_the_default_end_is_the_last_complete_month(tmp_path: Path) -> None:
    result = generate(tmp_path, DemoSpec(months=1, rows_per_month=2_000))
    last_month = add_months(datetime.now(UTC).date().replace(day=1), -1)
    manifest = json.loads((result.out / "manifest.json").read_text())
    assert manifest["end"] == f"{last_month:%Y-%m}"


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"months": 0}, "months: 0"),
        ({"rows_per_month": 999}, "rows_per_month: 999"),
        ({"end_month": date(2026, 5, 2)}, "end_month: 2026-05-02"),
        ({"seed": -1}, "seed: -1"),
        ({"file_format": "xlsx"}, "file_format: 'xlsx'"),
    ],
)
def test_a_bad_spec_says_what_is_wrong(changes: dict[str, object], message: str) -> None:
    with pytest.raises(UserError, match=message):
        DemoSpec(**changes)  # type: ignore[arg-type]
