"""The demo's AWS bill as a legacy CUR: real column names, costs that add up, line types."""

from __future__ import annotations

import re
import subprocess
import sys
from datetime import date
from pathlib import Path

import duckdb
import pytest

from costprism.demo import DemoResult, generate
from costprism.demo.cur import CurResult, CurSpec, focus_to_cur, generate_cur
from costprism.errors import UserError

SPEC = CurSpec(rows=12_000, months=2, end_month=date(2026, 5, 1))
# The columns the task names, and those focus-converter's aws-cur provider reads.
REQUIRED = (
    "identity/LineItemId", "identity/TimeInterval", "bill/InvoiceId", "bill/InvoicingEntity",
    "bill/BillingEntity", "bill/BillType", "bill/PayerAccountId", "bill/BillingPeriodStartDate",
    "bill/BillingPeriodEndDate", "lineItem/UsageAccountId", "lineItem/LineItemType",
    "lineItem/UsageStartDate", "lineItem/UsageEndDate", "lineItem/ProductCode",
    "lineItem/UsageType", "lineItem/Operation", "lineItem/AvailabilityZone",
    "lineItem/ResourceId", "lineItem/UsageAmount", "lineItem/NormalizationFactor",
    "lineItem/NormalizedUsageAmount", "lineItem/CurrencyCode", "lineItem/UnblendedRate",
    "lineItem/UnblendedCost", "lineItem/BlendedRate", "lineItem/BlendedCost",
    "lineItem/LineItemDescription", "lineItem/TaxType", "lineItem/LegalEntity",
    "product/ProductName", "product/productFamily", "product/region", "product/sku",
    "product/servicecode", "product/instanceType", "product/PurchaseOption",
    "pricing/publicOnDemandCost", "pricing/publicOnDemandRate", "pricing/term", "pricing/unit",
    "pricing/RateCode", "pricing/RateId", "reservation/ReservationARN",
    "reservation/EffectiveCost", "reservation/TotalReservedUnits",
    "reservation/UnusedAmortizedUpfrontFeeForBillingPeriod", "reservation/UnusedRecurringFee",
    "savingsPlan/SavingsPlanARN", "savingsPlan/SavingsPlanEffectiveCost",
    "savingsPlan/TotalCommitmentToDate", "savingsPlan/UsedCommitment",
)  # fmt: skip
# EffectiveCost as AWS amortizes a CUR (and focus-converter's aws-cur provider does).
AMORTIZED = """CASE "lineItem/LineItemType"
    WHEN 'SavingsPlanCoveredUsage' THEN "savingsPlan/SavingsPlanEffectiveCost"::DOUBLE
    WHEN 'SavingsPlanRecurringFee'
        THEN "savingsPlan/TotalCommitmentToDate"::DOUBLE - "savingsPlan/UsedCommitment"::DOUBLE
    WHEN 'SavingsPlanNegation' THEN 0 WHEN 'SavingsPlanUpfrontFee' THEN 0
    WHEN 'DiscountedUsage' THEN "reservation/EffectiveCost"::DOUBLE
    WHEN 'RIFee' THEN "reservation/UnusedAmortizedUpfrontFeeForBillingPeriod"::DOUBLE
        + "reservation/UnusedRecurringFee"::DOUBLE
    ELSE "lineItem/UnblendedCost" END"""


@pytest.fixture(scope="module")
def focus(tmp_path_factory: pytest.TempPathFactory) -> DemoResult:
    """The demo the CUR is made from (what generate_cur writes to its scratch folder)."""
    return generate(tmp_path_factory.mktemp("cur-focus"), SPEC.demo_spec())


@pytest.fixture(scope="module")
def cur(focus: DemoResult, tmp_path_factory: pytest.TempPathFactory) -> CurResult:
    return focus_to_cur(list(focus.files), tmp_path_factory.mktemp("cur") / "cur.csv")


@pytest.fixture(scope="module")
def sql(cur: CurResult, focus: DemoResult) -> duckdb.DuckDBPyConnection:
    """Tables ``cur`` (the CSV as DuckDB reads it, text as text) and ``focus`` (AWS rows)."""
    connection = duckdb.connect()
    connection.execute("SET TimeZone = 'UTC'")
    connection.execute(f"CREATE TABLE cur AS SELECT * FROM read_csv('{cur.path}')")
    files = ", ".join(f"'{p}'" for p in focus.files)
    connection.execute(
        f"CREATE TABLE focus AS SELECT * FROM read_parquet([{files}]) WHERE ProviderName = 'AWS'"
    )
    return connection


def one(connection: duckdb.DuckDBPyConnection, query: str) -> object:
    found = connection.execute(query).fetchone()
    assert found is not None
    return found[0]


def header(path: Path) -> list[str]:
    with path.open() as handle:
        return handle.readline().rstrip("\n").split(",")


def test_the_columns_are_real_cur_names(cur: CurResult) -> None:
    names = header(cur.path)
    assert names == list(cur.columns)
    assert set(REQUIRED) <= set(names)
    pattern = re.compile(
        r"(identity|bill|lineItem|product|pricing|reservation|savingsPlan)/[A-Za-z]+"
        r"|resourceTags/user:[A-Za-z-]+"
    )
    assert [n for n in names if not pattern.fullmatch(n)] == []


def test_one_tag_column_per_key(cur: CurResult, sql: duckdb.DuckDBPyConnection) -> None:
    keys = sql.execute(
        "SELECT DISTINCT unnest(json_keys(Tags)) AS k FROM focus ORDER BY k"
    ).fetchall()
    assert cur.tag_keys == tuple(k for (k,) in keys)
    assert cur.columns[-len(keys) :] == tuple(f"resourceTags/user:{k}" for (k,) in keys)
    # Every tagged FOCUS row's team is on its CUR line (negations repeat the covered line).
    tagged = one(sql, "SELECT count(*) FROM focus WHERE Tags->>'team' IS NOT NULL")
    lines = one(
        sql,
        """SELECT count(*) FROM cur WHERE "resourceTags/user:team" IS NOT NULL
        AND "lineItem/LineItemType" <> 'SavingsPlanNegation'""",
    )
    assert lines == tagged
    teams = one(sql, "SELECT list(DISTINCT Tags->>'team' ORDER BY Tags->>'team') FROM focus")
    cur_teams = one(
        sql,
        'SELECT list(DISTINCT t ORDER BY t) FROM (SELECT "resourceTags/user:team" t FROM cur)',
    )
    assert cur_teams == teams


def test_unblended_cost_sums_to_billed_cost_per_billing_period(
    sql: duckdb.DuckDBPyConnection,
) -> None:
    billed = dict(
        sql.execute("SELECT BillingPeriodStart, sum(BilledCost) FROM focus GROUP BY ALL").fetchall()
    )
    unblended = dict(
        sql.execute(
            """SELECT "bill/BillingPeriodStartDate", sum("lineItem/UnblendedCost")
            FROM cur GROUP BY ALL"""
        ).fetchall()
    )
    assert len(billed) == 2
    assert unblended.keys() == billed.keys()
    for period, cost in billed.items():
        assert unblended[period] == pytest.approx(cost, rel=1e-9, abs=1e-6)


def test_amortizing_the_cur_gives_the_effective_cost(sql: duckdb.DuckDBPyConnection) -> None:
    effective = dict(
        sql.execute(
            "SELECT BillingPeriodStart, sum(EffectiveCost) FROM focus GROUP BY ALL"
        ).fetchall()
    )
    amortized = dict(
        sql.execute(
            f"""SELECT "bill/BillingPeriodStartDate", sum({AMORTIZED}) FROM cur GROUP BY ALL"""
        ).fetchall()
    )
    for period, cost in effective.items():
        assert amortized[period] == pytest.approx(cost, rel=1e-9, abs=1e-6)


def test_line_item_types(sql: duckdb.DuckDBPyConnection, cur: CurResult) -> None:
    types = dict(
        sql.execute('SELECT "lineItem/LineItemType", count(*) FROM cur GROUP BY ALL').fetchall()
    )
    assert set(types) == {
        "Usage", "SavingsPlanCoveredUsage", "SavingsPlanNegation", "SavingsPlanRecurringFee",
        "Fee", "Tax", "Credit",
    }  # fmt: skip
    assert types["SavingsPlanNegation"] == types["SavingsPlanCoveredUsage"]
    focus_rows = one(sql, "SELECT count(*) FROM focus")
    assert cur.focus_rows == focus_rows
    assert cur.rows == sum(types.values()) == focus_rows + types["SavingsPlanNegation"]


def test_a_negation_takes_back_its_covered_line(sql: duckdb.DuckDBPyConnection) -> None:
    covered, negated, free = sql.execute(
        """SELECT
            sum(cost) FILTER (kind = 'SavingsPlanCoveredUsage'),
            sum(cost) FILTER (kind = 'SavingsPlanNegation'),
            count(*) FILTER (kind = 'SavingsPlanCoveredUsage'
                AND "savingsPlan/SavingsPlanEffectiveCost" >= cost)
        FROM (SELECT *, "lineItem/UnblendedCost" AS cost, "lineItem/LineItemType" AS kind
            FROM cur)"""
    ).fetchall()[0]
    assert covered > 0
    assert negated == pytest.approx(-covered)
    assert free == 0  # the plan's rate is below the on-demand one


def test_cur_semantics(sql: duckdb.DuckDBPyConnection) -> None:
    rows = sql.execute(
        """SELECT DISTINCT "lineItem/LineItemType", "bill/BillType", "pricing/term",
            "lineItem/ProductCode" IS NOT NULL, "lineItem/UsageAccountId" IS NOT NULL
        FROM cur"""
    ).fetchall()
    assert all(code and account for *_, code, account in rows)
    kinds = {(t, b) for t, b, *_ in rows}
    assert ("Usage", "Anniversary") in kinds
    assert {term for t, _, term, *_ in rows if t == "SavingsPlanCoveredUsage"} == {"OnDemand"}


def test_dates_and_ids_are_written_as_in_a_cur(cur: CurResult) -> None:
    connection = duckdb.connect()
    text = f"read_csv('{cur.path}', all_varchar = true)"
    stamp = r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$"
    bad_dates, bad_intervals, duplicate_ids, spot = connection.execute(
        f"""SELECT
            count(*) FILTER (NOT regexp_matches("lineItem/UsageStartDate", '{stamp}')
                OR NOT regexp_matches("bill/BillingPeriodEndDate", '{stamp}')),
            count(*) FILTER ("identity/TimeInterval" <> "lineItem/UsageStartDate" || '/'
                || "lineItem/UsageEndDate"),
            count(*) - count(DISTINCT "identity/LineItemId"),
            count(*) FILTER ("lineItem/UsageType" LIKE '%SpotUsage:%')
        FROM {text}"""
    ).fetchall()[0]
    assert (bad_dates, bad_intervals, duplicate_ids) == (0, 0, 0)
    assert spot > 0


def test_only_aws_rows_from_a_whole_demo_in_csv(demo: DemoResult, tmp_path: Path) -> None:
    result = focus_to_cur(list(demo.files), tmp_path / "cur.csv")
    connection = duckdb.connect()
    aws = one(
        connection,
        "SELECT count(*) FROM read_csv([{}], all_varchar = true) WHERE ProviderName = 'AWS'".format(
            ", ".join(f"'{p}'" for p in demo.files)
        ),
    )
    assert result.focus_rows == aws
    accounts = connection.execute(
        f"""SELECT DISTINCT "bill/PayerAccountId" FROM read_csv('{result.path}',
        all_varchar = true)"""
    ).fetchall()
    assert {a for (a,) in accounts} <= {"741852963001", "741852963094"}


def test_about_the_rows_asked_for_and_the_same_bytes_twice(tmp_path: Path) -> None:
    spec = CurSpec(rows=20_000, months=1, end_month=date(2026, 4, 1), seed=3)
    first = generate_cur(tmp_path / "a.csv", spec)
    second = generate_cur(tmp_path / "b.csv", spec)
    assert abs(first.rows - 20_000) <= 2_000
    assert first.path.read_bytes() == second.path.read_bytes()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.csv", "b.csv"]  # no scratch left


def test_bad_requests() -> None:
    with pytest.raises(UserError):
        CurSpec(rows=0)
    with pytest.raises(UserError):
        focus_to_cur([], Path("unused.csv"))


def test_the_command(tmp_path: Path) -> None:
    out = tmp_path / "cur.csv"
    result = subprocess.run(
        [sys.executable, "-m", "costprism", "demo", "cur", "--out", str(out), "--rows", "5000"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "CUR lines" in result.stdout
    assert header(out)[0] == "identity/LineItemId"


def test_costprism_reads_it_back_to_the_focus_costs(
    cur: CurResult, sql: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    """``costprism ingest`` detects the CUR (aws-cur) and gives back the demo's AWS costs."""
    from costprism.ingest.pipeline import IngestOptions, ingest
    from costprism.ledger import Ledger

    ledger = Ledger.at_home(tmp_path / "home")
    result = ingest([str(cur.path)], ledger, IngestOptions(source="cur"))
    assert result.report.errors == 0
    assert [f.source_format for f in result.files] == ["aws-cur"]
    files, _ = ledger.costs.files()
    read = sql.execute(
        "SELECT BillingPeriodStart, sum(BilledCost)::DOUBLE, sum(EffectiveCost)::DOUBLE, "
        f"count(*) FROM read_parquet({[str(f) for f in files]!r}) GROUP BY ALL ORDER BY 1"
    ).fetchall()
    demo = sql.execute(
        "SELECT BillingPeriodStart, sum(BilledCost), sum(EffectiveCost) FROM focus "
        "GROUP BY ALL ORDER BY 1"
    ).fetchall()
    assert [r[0] for r in read] == [r[0] for r in demo]
    for (_, billed, effective, _), (_, demo_billed, demo_effective) in zip(read, demo, strict=True):
        assert billed == pytest.approx(demo_billed, rel=1e-9, abs=1e-6)
        assert effective == pytest.approx(demo_effective, rel=1e-9, abs=1e-6)
    assert sum(r[3] for r in read) == cur.rows
