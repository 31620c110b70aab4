"""OCI cost reports: detection, tag columns, corrections, the billing period worked out from
the usage interval, and bad numbers."""

from __future__ import annotations

import csv
import io
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from costprism.errors import ValidationFailed
from costprism.ingest.pipeline import IngestOptions, ingest
from costprism.ledger import Ledger
from costprism.native import oracle
from costprism.native.registry import format_named, match_format
from tests.native.fixture_pairs import DATA, ledger_rows

FIXTURE = DATA / "oracle" / "cost-report.csv"
MINIMAL = [
    "lineItem/referenceNo",
    "lineItem/tenantId",
    "lineItem/intervalUsageStart",
    "lineItem/intervalUsageEnd",
    "product/service",
    "cost/myCost",
    "cost/currencyCode",
]


def _table(path: Path) -> tuple[list[str], list[list[str]]]:
    with path.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.reader(handle))
    return rows[0], rows[1:]


def _write(path: Path, header: list[str], rows: list[list[str]]) -> Path:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(buffer.getvalue(), encoding="utf-8")
    return path


def _import(path: Path, home: Path) -> list[dict[str, Any]]:
    ledger = Ledger.at_home(home)
    result = ingest([path], ledger, IngestOptions(source="oci"))
    assert [f.source_format for f in result.files] == ["oci-cost"]
    return ledger_rows(ledger)


def _row(ref: str, start: str, end: str, cost: str, *more: str) -> list[str]:
    return [ref, "ocid1.tenancy.oc1..t", start, end, "COMPUTE", cost, "USD", *more]


# --- detection ------------------------------------------------------------------------------


def test_the_cost_report_is_detected() -> None:
    header, _ = _table(FIXTURE)
    assert match_format(header) is oracle.COST_REPORT
    assert format_named("oci-cost") is oracle.COST_REPORT


def test_the_documented_spelling_lineitem_tenantid_is_matched() -> None:
    header = [name.replace("tenantId", "TenantId") for name in MINIMAL]
    assert match_format(header) is oracle.COST_REPORT


def test_a_usage_report_has_no_costs_and_is_not_taken_for_a_cost_report() -> None:
    usage_report = [
        "lineItem/referenceNo",
        "lineItem/tenantId",
        "lineItem/intervalUsageStart",
        "lineItem/intervalUsageEnd",
        "product/service",
        "product/resource",
        "product/compartmentId",
        "product/region",
        "product/resourceId",
        "usage/consumedQuantity",
        "usage/billedQuantity",
        "usage/consumedQuantityUnits",
        "usage/consumedQuantityMeasure",
        "lineItem/isCorrection",
    ]
    assert match_format(usage_report) is None
    assert oracle.COST_REPORT.missing(usage_report) == ("cost/myCost", "cost/currencyCode")


# --- tags -------------------------------------------------------------------------------------


def test_each_tag_column_is_a_key_with_its_namespace(tmp_path: Path) -> None:
    header = [
        *MINIMAL,
        "tags/Oracle-Tags.CreatedBy",
        "tags/team",
        'tags/Ops."quoted" key',
        "tags/Équipe.Nom",
        "tags/empty",
    ]
    rows = [
        _row("R1", "2024-09-01T00:00Z", "2024-09-01T01:00Z", "1", "default/a@b.c", "x", "", "", ""),
        _row("R2", "2024-09-01T00:00Z", "2024-09-01T01:00Z", "1", "", "", 'a, "b" = c:d', "Ça", ""),
        _row("R3", "2024-09-01T00:00Z", "2024-09-01T01:00Z", "1", "", "", "", "", ""),
    ]
    found = {
        r["x_lineItem_referenceNo"]: r["Tags"]
        for r in _import(_write(tmp_path / "t.csv", header, rows), tmp_path / "home")
    }
    assert dict(found["R1"]) == {"Oracle-Tags.CreatedBy": "default/a@b.c", "team": "x"}
    assert dict(found["R2"]) == {'Ops."quoted" key': 'a, "b" = c:d', "Équipe.Nom": "Ça"}
    assert not found["R3"]


def test_a_report_without_tag_columns_has_no_tags(tmp_path: Path) -> None:
    path = _write(
        tmp_path / "t.csv", MINIMAL, [_row("R1", "2024-09-01T00:00Z", "2024-09-01T01:00Z", "1")]
    )
    (row,) = _import(path, tmp_path / "home")
    assert not row["Tags"]


def test_tag_columns_are_read_not_kept_as_extension_columns(tmp_path: Path) -> None:
    header, _ = _table(FIXTURE)
    rows = _import(FIXTURE, tmp_path / "home")
    assert not [name for name in rows[0] if name.startswith("x_tags")]
    assert "x_cost_overageFlag" in rows[0]
    assert len([h for h in header if h.startswith(oracle.TAG_PREFIX)]) == 7


# --- corrections, credits, periods -----------------------------------------------------------


@pytest.mark.parametrize(
    ("flag", "charge_class"),
    [
        ("true", "Correction"),
        ("TRUE", "Correction"),
        ("Y", "Correction"),
        ("false", None),
        ("", None),
    ],
)
def test_is_correction_marks_a_correction(
    flag: str, charge_class: str | None, tmp_path: Path
) -> None:
    header = [*MINIMAL, "lineItem/isCorrection"]
    path = _write(
        tmp_path / "c.csv",
        header,
        [_row("R1", "2024-09-01T00:00Z", "2024-09-01T01:00Z", "-0.5", flag)],
    )
    (row,) = _import(path, tmp_path / "home")
    assert row["ChargeClass"] == charge_class
    assert row["ChargeCategory"] == ("Usage" if charge_class else "Credit")


def test_the_billing_period_is_the_utc_month_of_the_usage_start(tmp_path: Path) -> None:
    rows = [
        _row("R1", "2024-10-01T01:00+02:00", "2024-10-01T02:00+02:00", "1"),
        _row("R2", "2024-12-31T23:00Z", "2025-01-01T00:00Z", "1"),
    ]
    found = {
        r["x_lineItem_referenceNo"]: r
        for r in _import(_write(tmp_path / "p.csv", MINIMAL, rows), tmp_path / "home")
    }
    assert found["R1"]["BillingPeriodStart"].isoformat() == "2024-09-01T00:00:00+00:00"
    assert found["R1"]["BillingPeriodEnd"].isoformat() == "2024-10-01T00:00:00+00:00"
    assert found["R1"]["ChargePeriodStart"].isoformat() == "2024-09-30T23:00:00+00:00"
    assert found["R2"]["BillingPeriodStart"].isoformat() == "2024-12-01T00:00:00+00:00"
    assert found["R2"]["BillingPeriodEnd"].isoformat() == "2025-01-01T00:00:00+00:00"


def test_without_unit_price_the_contracted_cost_is_my_cost(tmp_path: Path) -> None:
    path = _write(
        tmp_path / "m.csv", MINIMAL, [_row("R1", "2024-09-01T00:00Z", "2024-09-01T01:00Z", "2.5")]
    )
    (row,) = _import(path, tmp_path / "home")
    assert (row["BilledCost"], row["EffectiveCost"], row["ListCost"], row["ContractedCost"]) == (
        Decimal("2.5"),
    ) * 4
    assert (row["ProviderName"], row["BillingAccountId"], row["BillingAccountType"]) == (
        "Oracle",
        "ocid1.tenancy.oc1..t",
        "Tenancy",
    )


# --- bad numbers ------------------------------------------------------------------------------


@pytest.mark.parametrize("column", ["cost/myCost", "usage/billedQuantity", "cost/unitPrice"])
def test_a_bad_number_is_refused_with_its_place_and_nothing_is_stored(
    column: str, tmp_path: Path
) -> None:
    header, rows = _table(FIXTURE)
    rows[2][header.index(column)] = "0,05 USD"
    path = _write(tmp_path / "in" / "cost.csv", header, rows)
    ledger = Ledger.at_home(tmp_path / "home")

    with pytest.raises(ValidationFailed) as caught:
        ingest([path], ledger, IngestOptions(source="oci"))

    error = caught.value
    assert error.counts["bad-decimal"] == 1  # a bad cost/myCost also leaves BilledCost empty
    assert set(error.counts) <= {"bad-decimal", "not-null"}
    assert "nothing was stored" in str(error)
    (finding,) = [f for f in error.findings if f.rule == "bad-decimal"]
    assert (finding.file, finding.line, finding.column, finding.value) == (
        str(path),
        4,
        column,
        "0,05 USD",
    )
    assert str(finding).startswith(f"{path}:4 column {column}")
    assert ledger.costs.files() == ([], None)
