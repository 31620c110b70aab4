"""Microsoft Azure cost details and the older usage details: detection of each header
generation, the rules both share (actual and amortized rows alike), tags with and without
braces, regions, resource types, typed (Parquet) input, and bad input refused with the file,
line, column and value, storing nothing."""

from __future__ import annotations

import csv
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import pytest

from costprism.errors import ValidationFailed
from costprism.ingest.checks import literal, quote
from costprism.ingest.pipeline import IngestOptions, ingest, validate
from costprism.ledger import Ledger
from costprism.native import format_named, match_format, native_relation
from costprism.native.azure import AZURE, AZURE_LEGACY
from tests.ingest.conftest import ledger_state
from tests.native.fixture_pairs import csv_header, ledger_rows, rewrite_cells

AZURE_DATA = Path(__file__).resolve().parents[1] / "data" / "azure"
EA = AZURE_DATA / "ea-actual.csv"
MCA_ACTUAL = AZURE_DATA / "mca-actual.csv"
MCA_AMORTIZED = AZURE_DATA / "mca-amortized.csv"
PAYG = AZURE_DATA / "legacy-payg.csv"
LEGACY_EA = AZURE_DATA / "legacy-ea-amortized.csv"


def _mapped(native: Any, rows: list[dict[str, str | None]]) -> list[dict[str, Any]]:
    """``rows`` (text columns) read through the format's rules, in order."""
    header = list(dict.fromkeys(name for row in rows for name in row))
    selects = [
        "SELECT "
        + ", ".join(
            f"CAST({'NULL' if (value := row.get(h)) is None else literal(value)} AS VARCHAR) "
            f"AS {quote(h)}"
            for h in header
        )
        for row in rows
    ]
    source = "(" + " UNION ALL ".join(selects) + ")"
    connection = duckdb.connect()
    connection.execute("SET TimeZone = 'UTC'")
    result = connection.execute(f"SELECT * FROM {native_relation(native, header, source).sql}")
    names = [d[0] for d in result.description]
    return [dict(zip(names, row, strict=True)) for row in result.fetchall()]


def _plain(value: Decimal) -> str:
    return format(value.normalize(), "f")


# --- detection -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        (EA, "azure"),
        (MCA_ACTUAL, "azure"),
        (MCA_AMORTIZED, "azure"),
        (PAYG, "azure-legacy"),
        (LEGACY_EA, "azure-legacy"),
    ],
    ids=lambda value: value.name if isinstance(value, Path) else value,
)
def test_each_header_generation_is_detected(path: Path, expected: str) -> None:
    found = match_format(csv_header(path))
    assert found is not None
    assert found.name == expected


def test_ea_and_mca_spellings_and_the_2019_mca_names_are_one_format() -> None:
    ea = ["BillingProfileId", "BillingPeriodStartDate", "BillingPeriodEndDate", "Date"]
    assert match_format([*ea, "ChargeType", "CostInBillingCurrency"]) is AZURE
    assert match_format([h.lower() for h in (*ea, "ChargeType", "CostInBillingCurrency")]) is AZURE
    # MCA files of 2019 name the subscription SubscriptionGuid but have no UsageDateTime
    mca_2019 = [*ea, "ChargeType", "CostInBillingCurrency", "SubscriptionGuid", "InstanceName"]
    assert match_format(mca_2019) is AZURE
    assert match_format(["SubscriptionGuid", "UsageDateTime", "PreTaxCost", "UsageQuantity"]) is (
        AZURE_LEGACY
    )
    assert match_format(["SubscriptionGuid", "UsageDateTime", "PreTaxCost"]) is None


def test_both_generations_share_one_rule_set() -> None:
    legacy = {rule.column for rule in AZURE_LEGACY.rules}
    current = {rule.column for rule in AZURE.rules}
    assert current - legacy == {
        "InvoiceId",
        "PricingCurrencyListUnitPrice",
        "PricingCurrencyContractedUnitPrice",
    }
    assert legacy <= current
    assert format_named("azure") is AZURE
    assert format_named("azure-legacy") is AZURE_LEGACY


def test_no_two_source_names_differ_only_in_case() -> None:
    for native in (AZURE, AZURE_LEGACY):
        names = native.referenced()
        assert len({name.casefold() for name in names}) == len(names), native.name


# --- actual and amortized rows through the same rules ----------------------------------------

RI = "/providers/Microsoft.Capacity/reservationOrders/o1/reservations/r1"
SP = "/providers/Microsoft.BillingBenefits/savingsPlanOrders/o2/savingsPlans/s2"


def _row(charge: str, model: str | None, cost: str, benefit: str | None = None) -> dict[str, Any]:
    return {
        "billingProfileId": "P1",
        "billingPeriodStartDate": "2024-09-01",
        "billingPeriodEndDate": "2024-09-30",
        "date": "2024-09-03",
        "chargeType": charge,
        "pricingModel": model,
        "costInBillingCurrency": cost,
        "billingCurrency": "EUR",
        "benefitId": benefit,
    }


def test_the_rows_of_both_datasets_map_as_microsofts_focus_conversion_does() -> None:
    rows = _mapped(
        AZURE,
        [
            _row("Usage", "OnDemand", "5"),  # both datasets: plain usage
            _row("Usage", "Reservation", "0", RI),  # actual: covered usage costs 0
            _row("Usage", "Reservation", "3", RI),  # amortized: its share of the reservation
            _row("UnusedReservation", "Reservation", "1", RI),  # amortized only
            _row("Purchase", "Reservation", "700", RI),  # actual only
            _row("Refund", "Reservation", "-350", RI),  # actual only
            _row("Usage", "SavingsPlan", "2", SP),  # amortized covered usage
            _row("UnusedSavingsPlan", "SavingsPlan", "0.5", SP),  # amortized only
            _row("Purchase", "SavingsPlan", "100", SP),  # actual only
            _row("Purchase", "OnDemand", "99"),  # Marketplace purchase: both datasets
            _row("Usage", "Spot", "0.4"),
            _row("Tax", None, "12"),
            _row("Credit", None, "-20"),
            _row("RoundingAdjustment", None, "0.01"),
        ],
    )
    got = [
        (
            row["ChargeCategory"],
            row["ChargeClass"],
            row["PricingCategory"],
            row["CommitmentDiscountType"],
            row["CommitmentDiscountCategory"],
            row["CommitmentDiscountStatus"],
            _plain(row["BilledCost"]),
            _plain(row["EffectiveCost"]),
        )
        for row in rows
    ]
    assert got == [
        ("Usage", None, "Standard", None, None, None, "5", "5"),
        ("Usage", None, "Committed", "Reservation", "Usage", "Used", "0", "0"),
        ("Usage", None, "Committed", "Reservation", "Usage", "Used", "0", "3"),
        ("Usage", None, "Committed", "Reservation", "Usage", "Unused", "0", "1"),
        ("Purchase", None, "Standard", "Reservation", "Usage", None, "700", "0"),
        ("Purchase", "Correction", "Standard", "Reservation", "Usage", None, "-350", "0"),
        ("Usage", None, "Committed", "Savings Plan", "Spend", "Used", "0", "2"),
        ("Usage", None, "Committed", "Savings Plan", "Spend", "Unused", "0", "0.5"),
        ("Purchase", None, "Standard", "Savings Plan", "Spend", None, "100", "0"),
        ("Purchase", None, "Standard", None, None, None, "99", "99"),
        ("Usage", None, "Dynamic", None, None, None, "0.4", "0.4"),
        ("Tax", None, None, None, None, None, "12", "12"),
        ("Credit", None, None, None, None, None, "-20", "-20"),
        ("Adjustment", None, None, None, None, None, "0.01", "0.01"),
    ]
    assert {row["ProviderName"] for row in rows} == {"Microsoft"}
    assert {row["BillingPeriodEnd"].isoformat() for row in rows} == {"2024-10-01T00:00:00+00:00"}


def test_older_files_take_commitments_from_the_reservation_id_and_periods_from_the_month() -> None:
    base = {"SubscriptionGuid": "s", "UsageQuantity": "1", "Currency": "USD"}
    rows = _mapped(
        AZURE_LEGACY,
        [
            {**base, "UsageDateTime": "10/31/2019", "PreTaxCost": "2", "ChargeType": None},
            {
                **base,
                "UsageDateTime": "2019-11-01",
                "PreTaxCost": "0",
                "ChargeType": "Usage",
                "ReservationId": "r-guid",
            },
            {
                **base,
                "UsageDateTime": "11/02/2019",
                "PreTaxCost": "70",
                "ChargeType": "Purchase",
                "ReservationId": "r-guid",
            },
        ],
    )
    assert [(r["ChargeCategory"], r["PricingCategory"]) for r in rows] == [
        ("Usage", "Standard"),
        ("Usage", "Committed"),
        ("Purchase", "Standard"),
    ]
    assert [r["CommitmentDiscountType"] for r in rows] == [None, "Reservation", "Reservation"]
    assert [_plain(r["EffectiveCost"]) for r in rows] == ["2", "0", "0"]
    assert [r["BillingPeriodStart"].isoformat()[:10] for r in rows] == [
        "2019-10-01",
        "2019-11-01",
        "2019-11-01",
    ]
    assert rows[0]["BillingPeriodEnd"].isoformat()[:10] == "2019-11-01"
    assert rows[0]["ChargePeriodEnd"].isoformat()[:10] == "2019-11-01"
    assert rows[0]["BillingAccountId"] == "s"  # pay-as-you-go: the subscription


# --- tags --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('{"team": "payments", "env": "prod"}', {"team": "payments", "env": "prod"}),
        ('"team": "payments","env": "prod"', {"team": "payments", "env": "prod"}),
        ('  "team": "payments"  ', {"team": "payments"}),
        (
            '"cost-center": "CC-100, EU","expr": "a=b:c"',
            {"cost-center": "CC-100, EU", "expr": "a=b:c"},
        ),
        ('"note": "say \\"hi\\""', {"note": 'say "hi"'}),
        ('{"Équipe": "données", "owner": "zoë"}', {"Équipe": "données", "owner": "zoë"}),
        ('{"a/b": "1", "c~d": "2", "$x": "3"}', {"a/b": "1", "c~d": "2", "$x": "3"}),
        ('{"env": "prod", "env": "dup"}', {"env": "prod"}),
        ('{"n": 5, "flag": true, "obj": {"k": 1}}', {"n": "5", "flag": "true", "obj": '{"k":1}'}),
        ('"owner": ""', {"owner": ""}),
        ("{}", None),
        ("{ }", None),
        ("", None),
        (None, None),
    ],
)
def test_tags_with_or_without_braces(text: str | None, expected: dict[str, str] | None) -> None:
    (row,) = _mapped(AZURE, [{**_row("Usage", "OnDemand", "1"), "tags": text}])
    assert (None if row["Tags"] is None else json.loads(row["Tags"])) == expected


def test_tags_that_are_no_object_are_an_error_on_their_line(tmp_path: Path) -> None:
    bad = rewrite_cells(EA, tmp_path / "bad-tags.csv", {(5, "Tags"): "team=payments"})
    result = validate([bad], IngestOptions(source="azure"))
    found = [(f.line, f.column, f.value) for f in result.report.examples if f.rule == "bad-json"]
    assert found == [(5, "Tags", "team=payments")]


# --- regions and resources ----------------------------------------------------------------------


def test_locations_become_azure_region_ids() -> None:
    locations = ["EastUS", "East US", "eastus", "US East", "EU West", "AP Southeast", "global"]
    locations += ["Zone 1", "Unassigned", "Mars North", None]
    rows = _mapped(
        AZURE, [{**_row("Usage", "OnDemand", "1"), "resourceLocation": x} for x in locations]
    )
    assert [(r["RegionId"], r["RegionName"]) for r in rows] == [
        ("eastus", "East US"),
        ("eastus", "East US"),
        ("eastus", "East US"),
        ("eastus", "East US"),
        ("westeurope", "West Europe"),
        ("southeastasia", "Southeast Asia"),
        (None, None),
        (None, None),
        (None, None),
        ("marsnorth", "Mars North"),  # a region the table does not know yet: kept
        (None, None),
    ]


def test_resource_names_and_types_come_from_the_resource_id() -> None:
    ids = [
        "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Sql/servers/sql1/databases/db1",
        "/subscriptions/s/resourcegroups/rg/providers/microsoft.compute/virtualmachines/vm1"
        "/providers/Microsoft.Insights/diagnosticSettings/diag",
        "/subscriptions/s/resourceGroups/rg",
        "not-an-arm-id",
    ]
    rows = _mapped(AZURE, [{**_row("Usage", "OnDemand", "1"), "ResourceId": x} for x in ids])
    assert [(r["ResourceName"], r["ResourceType"]) for r in rows] == [
        ("db1", "Microsoft.Sql/servers/databases"),
        ("diag", "Microsoft.Insights/diagnosticSettings"),
        ("rg", None),
        ("not-an-arm-id", None),
    ]


def test_mca_prices_are_converted_into_the_billing_currency() -> None:
    (row,) = _mapped(
        AZURE,
        [
            {
                **_row("Usage", "OnDemand", "900"),
                "quantity": "1000",
                "unitPrice": "1",
                "PayGPrice": "1.2",
                "pricingCurrency": "USD",
                "exchangeRatePricingToBilling": "0.9",
            }
        ],
    )
    assert (row["BillingCurrency"], row["PricingCurrency"]) == ("EUR", "USD")
    assert row["ContractedUnitPrice"] == Decimal("0.9")
    assert row["ContractedCost"] == Decimal("900")
    assert row["ListUnitPrice"] == Decimal("1.08")
    assert row["ListCost"] == Decimal("1080")  # no paygCostInBillingCurrency: price × quantity
    assert row["PricingCurrencyListUnitPrice"] == Decimal("1.2")


# --- typed input and bad input ----------------------------------------------------------------


def test_a_parquet_export_with_typed_dates_and_costs_reads_the_same(tmp_path: Path) -> None:
    parquet = tmp_path / "ea-actual.parquet"
    connection = duckdb.connect()
    connection.execute(
        f'COPY (SELECT * REPLACE (CAST(strptime("Date", \'%m/%d/%Y\') AS DATE) AS "Date", '
        'CAST("CostInBillingCurrency" AS DOUBLE) AS "CostInBillingCurrency", '
        'CAST("Quantity" AS DOUBLE) AS "Quantity") '
        f"FROM read_csv('{EA}', header = true, all_varchar = true)) TO '{parquet}' (FORMAT parquet)"
    )
    ledger = Ledger.at_home(tmp_path / "home")
    result = ingest([parquet], ledger, IngestOptions(source="azure"))
    assert [f.source_format for f in result.files] == ["azure"]
    rows = ledger_rows(ledger)
    assert sum(r["BilledCost"] for r in rows) == Decimal("984.451")  # Σ CostInBillingCurrency
    assert {r["ChargePeriodStart"].isoformat()[:10] for r in rows} >= {"2024-09-03", "2024-10-01"}


def test_a_bad_cost_names_file_line_column_and_value_and_stores_nothing(tmp_path: Path) -> None:
    ledger = Ledger.at_home(tmp_path / "home")
    ingest([MCA_ACTUAL], ledger, IngestOptions(source="azure"))
    before = ledger_state(ledger)
    bad = rewrite_cells(EA, tmp_path / "bad.csv", {(4, "CostInBillingCurrency"): "1,5"})
    with pytest.raises(ValidationFailed) as caught:
        ingest([bad], ledger, IngestOptions(source="azure"))
    found = [f for f in caught.value.findings if f.rule == "bad-decimal"]
    assert [(f.file, f.line, f.column, f.value) for f in found] == [
        (str(bad), 4, "CostInBillingCurrency", "1,5")
    ]
    assert ledger_state(ledger) == before


def test_a_bad_date_is_an_error_on_its_source_column(tmp_path: Path) -> None:
    bad = rewrite_cells(PAYG, tmp_path / "bad.csv", {(3, "UsageDateTime"): "31/10/2019"})
    result = validate([bad], IngestOptions(source="azure"))
    found = [
        (f.line, f.column, f.value) for f in result.report.examples if f.rule == "bad-datetime"
    ]
    assert found == [(3, "UsageDateTime", "31/10/2019")]


def test_an_older_file_without_a_currency_is_refused_naming_the_column(tmp_path: Path) -> None:
    with LEGACY_EA.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.reader(handle))
    drop = rows[0].index("Currency")
    path = tmp_path / "no-currency.csv"
    with path.open("w", encoding="utf-8", newline="") as handle:
        csv.writer(handle, lineterminator="\n").writerows(
            [row[:drop] + row[drop + 1 :] for row in rows]
        )
    result = validate([path], IngestOptions(source="azure"))
    found = [f for f in result.report.examples if f.rule == "not-null"]
    assert found
    assert {f.column for f in found} == {"BillingCurrency"}
