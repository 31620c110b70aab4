"""Tests for costprism.focus.columns: per-version column sets, specs, renames and enums."""

from __future__ import annotations

import csv
import dataclasses
import gzip
import re
from pathlib import Path

import pyarrow as pa
import pytest

from costprism.focus import (
    CONTRACT_COMMITMENT_COLUMNS,
    ENUMS,
    FOCUS_VERSIONS,
    RENAMES,
    SERVICE_SUBCATEGORY_PARENT,
    ColumnSpec,
    FocusLookupError,
    column,
    columns_for,
)

SAMPLES = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "focus"


def _header(name: str) -> list[str]:
    path = SAMPLES / name
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8", newline="") as handle:
        return next(csv.reader(handle))


def _names(version: str, dataset: str = "cost_and_usage") -> list[str]:
    return [spec.name for spec in columns_for(version, dataset)]


# --- per-version column sets ------------------------------------------------------------------


@pytest.mark.parametrize(("version", "count"), [("1.0", 43), ("1.1", 50), ("1.2", 57), ("1.3", 65)])
def test_column_count_per_version(version: str, count: int) -> None:
    assert len(columns_for(version)) == count


@pytest.mark.parametrize(
    ("version", "sample", "extra"),
    [
        ("1.0", "focus-1.0_sample_1000.csv", {"Id"}),
        ("1.2", "focus-1.2_synthetic_aws-azure-gcp_10k.csv", set()),
        ("1.2", "focus-1.2_synthetic_aws-azure-gcp_100k.csv.gz", set()),
        ("1.3", "focus-1.3_synthetic_aws-azure-gcp_3k.csv", set()),
    ],
)
def test_version_columns_equal_the_sample_header(
    version: str, sample: str, extra: set[str]
) -> None:
    header = _header(sample)
    assert len(header) == len(set(header))
    assert set(_names(version)) == set(header) - extra


def test_simple_saas_spec_example_has_exactly_the_1_1_columns() -> None:
    header = _header(
        "spec-examples-1.2/saas_examples/simple_agreements/simple_saas_agreements_a1.csv"
    )
    assert set(_names("1.1")) == set(header)


def test_contract_commitment_columns_equal_the_sample_header() -> None:
    header = _header("focus-1.3_synthetic_contract-commitment_aws-azure-gcp.csv")
    assert [spec.name for spec in CONTRACT_COMMITMENT_COLUMNS] == sorted(header)
    assert _names("1.3", "contract_commitment") == sorted(header)


@pytest.mark.parametrize(
    ("older", "newer", "added"),
    [
        (
            "1.0",
            "1.1",
            {
                "CapacityReservationId",
                "CapacityReservationStatus",
                "CommitmentDiscountQuantity",
                "CommitmentDiscountUnit",
                "ServiceSubcategory",
                "SkuMeter",
                "SkuPriceDetails",
            },
        ),
        (
            "1.1",
            "1.2",
            {
                "BillingAccountType",
                "InvoiceId",
                "PricingCurrency",
                "PricingCurrencyContractedUnitPrice",
                "PricingCurrencyEffectiveCost",
                "PricingCurrencyListUnitPrice",
                "SubAccountType",
            },
        ),
        (
            "1.2",
            "1.3",
            {
                "ServiceProviderName",
                "HostProviderName",
                "ContractApplied",
                "AllocatedMethodId",
                "AllocatedMethodDetails",
                "AllocatedResourceId",
                "AllocatedResourceName",
                "AllocatedTags",
            },
        ),
    ],
)
def test_each_version_adds_its_columns_and_removes_none(
    older: str, newer: str, added: set[str]
) -> None:
    assert set(_names(newer)) - set(_names(older)) == added
    assert set(_names(older)) <= set(_names(newer))


@pytest.mark.parametrize("version", FOCUS_VERSIONS)
def test_columns_are_in_alphabetical_spec_order(version: str) -> None:
    names = _names(version)
    assert names == sorted(names)


@pytest.mark.parametrize("version", ["1.4", "0.5", "1.0-preview", "1.2.0", ""])
def test_unknown_version_raises_a_lookup_error_naming_it(version: str) -> None:
    with pytest.raises(FocusLookupError, match=r"FOCUS version .* is not supported") as info:
        columns_for(version)
    assert isinstance(info.value, KeyError)
    assert isinstance(info.value, ValueError)
    assert repr(version) in str(info.value)
    assert "1.0, 1.1, 1.2, 1.3" in str(info.value)


def test_unknown_dataset_raises() -> None:
    with pytest.raises(ValueError, match="FOCUS dataset 'invoice_detail' is unknown"):
        columns_for("1.3", "invoice_detail")


def test_contract_commitment_dataset_exists_only_from_1_3() -> None:
    assert len(columns_for("1.3", "contract_commitment")) == 13
    with pytest.raises(
        ValueError, match=re.escape("FOCUS 1.2 has no 'contract_commitment' dataset")
    ):
        columns_for("1.2", "contract_commitment")


# --- individual specs ---------------------------------------------------------------------------


def test_billed_cost_spec() -> None:
    assert column("BilledCost") == ColumnSpec(
        name="BilledCost",
        kind="metric",
        focus_type="decimal",
        level="mandatory",
        nullable=False,
        introduced="0.5",
    )


def test_mandatory_columns_of_1_2() -> None:
    mandatory = [spec.name for spec in columns_for("1.2") if spec.level == "mandatory"]
    assert mandatory == [
        "BilledCost",
        "BillingAccountId",
        "BillingAccountName",
        "BillingCurrency",
        "BillingPeriodEnd",
        "BillingPeriodStart",
        "ChargeCategory",
        "ChargeClass",
        "ChargeDescription",
        "ChargePeriodEnd",
        "ChargePeriodStart",
        "ContractedCost",
        "EffectiveCost",
        "InvoiceIssuerName",
        "ListCost",
        "PricingQuantity",
        "PricingUnit",
        "ProviderName",
        "PublisherName",
        "ServiceCategory",
        "ServiceName",
    ]


def test_metrics_of_1_2_are_the_twelve_decimals() -> None:
    metrics = {spec.name for spec in columns_for("1.2") if spec.kind == "metric"}
    decimals = {spec.name for spec in columns_for("1.2") if spec.focus_type == "decimal"}
    assert metrics == decimals
    assert len(metrics) == 12
    assert {"BilledCost", "EffectiveCost", "ListCost", "ContractedCost"} <= metrics


def test_datetime_and_structured_columns() -> None:
    by_type: dict[str, set[str]] = {}
    for spec in columns_for("1.3"):
        by_type.setdefault(spec.focus_type, set()).add(spec.name)
    assert by_type["datetime"] == {
        "BillingPeriodStart",
        "BillingPeriodEnd",
        "ChargePeriodStart",
        "ChargePeriodEnd",
    }
    assert by_type["key_value"] == {"Tags", "AllocatedTags"}
    assert by_type["json"] == {"SkuPriceDetails", "ContractApplied", "AllocatedMethodDetails"}


@pytest.mark.parametrize(
    ("name", "level", "nullable"),
    [
        ("ChargeFrequency", "recommended", False),
        ("ServiceSubcategory", "recommended", False),
        ("ChargeClass", "mandatory", True),
        ("PricingCurrency", "conditional", True),
        ("PricingCurrencyEffectiveCost", "conditional", True),
        ("BillingAccountType", "conditional", False),
        ("PricingQuantity", "mandatory", True),
        ("ServiceProviderName", "mandatory", False),
        ("HostProviderName", "mandatory", True),
        ("AllocatedMethodDetails", "recommended", True),
        ("AllocatedTags", "conditional", True),
    ],
)
def test_level_and_nullability_follow_the_constraint_tables(
    name: str, level: str, nullable: bool
) -> None:
    spec = column(name)
    assert (spec.level, spec.nullable) == (level, nullable)


def test_only_provider_and_publisher_name_are_deprecated() -> None:
    deprecated = {
        spec.name: spec.deprecated_in for spec in columns_for("1.3") if spec.deprecated_in
    }
    assert deprecated == {"ProviderName": "1.3", "PublisherName": "1.3"}


@pytest.mark.parametrize(
    ("focus_type", "arrow_type"),
    [
        ("string", pa.string()),
        ("decimal", pa.decimal128(38, 12)),
        ("datetime", pa.timestamp("us", tz="UTC")),
        ("key_value", pa.map_(pa.string(), pa.string())),
        ("json", pa.string()),
    ],
)
def test_arrow_type_of_each_focus_type(focus_type: str, arrow_type: pa.DataType) -> None:
    spec = next(s for s in columns_for("1.3") if s.focus_type == focus_type)
    assert spec.arrow_type == arrow_type


def test_column_spec_is_frozen_and_keyword_only() -> None:
    spec = column("Tags")
    with pytest.raises(dataclasses.FrozenInstanceError):
        spec.name = "Labels"  # type: ignore[misc]
    with pytest.raises(TypeError):
        ColumnSpec("Tags", "dimension", "key_value", "conditional", True, "1.0")  # type: ignore[misc]


def test_column_spec_rejects_an_unknown_release() -> None:
    with pytest.raises(FocusLookupError, match=re.escape("FOCUS release '2.0' is unknown")):
        dataclasses.replace(column("Tags"), introduced="2.0")


def test_present_in() -> None:
    assert column("SkuMeter").present_in("1.1")
    assert not column("SkuMeter").present_in("1.0")
    assert column("ProviderName").present_in("1.3")


def test_column_lookup_errors_and_rename_hint() -> None:
    with pytest.raises(ValueError, match="'ChargeType' is not a FOCUS column name; it was renamed"):
        column("ChargeType")
    with pytest.raises(KeyError):
        column("billedcost")


def test_billing_currency_resolves_to_the_cost_and_usage_column() -> None:
    assert column("BillingCurrency").introduced == "0.5"
    assert column("ContractCommitmentId").introduced == "1.3"


# --- renames ------------------------------------------------------------------------------------


def test_renames() -> None:
    assert dict(RENAMES) == {
        "ChargeType": "ChargeCategory",
        "AmortizedCost": "EffectiveCost",
        "Region": "RegionId",
        "UsageQuantity": "ConsumedQuantity",
        "UsageUnit": "ConsumedUnit",
    }
    assert column("ChargeCategory").previous_names == ("ChargeType",)


# --- enums ----------------------------------------------------------------------------------------


def test_enum_columns() -> None:
    assert set(ENUMS) == {
        "ChargeCategory",
        "ChargeClass",
        "ChargeFrequency",
        "PricingCategory",
        "CommitmentDiscountCategory",
        "CommitmentDiscountStatus",
        "CapacityReservationStatus",
        "ServiceCategory",
        "ServiceSubcategory",
        "ContractCommitmentCategory",
    }
    assert ENUMS["ChargeCategory"] == ("Usage", "Purchase", "Tax", "Credit", "Adjustment")
    assert ENUMS["ChargeFrequency"] == ("One-Time", "Recurring", "Usage-Based")
    assert ENUMS["PricingCategory"] == ("Standard", "Dynamic", "Committed", "Other")
    assert ENUMS["ChargeClass"] == ("Correction",)
    assert ENUMS["ContractCommitmentCategory"] == ("Spend", "Usage")
    assert column("CommitmentDiscountStatus").allowed_values == ("Used", "Unused")


def test_service_categories_and_subcategories() -> None:
    categories = ENUMS["ServiceCategory"]
    subcategories = ENUMS["ServiceSubcategory"]
    assert len(categories) == 19
    assert len(subcategories) == 82
    assert len(set(subcategories)) == 82
    assert set(SERVICE_SUBCATEGORY_PARENT) == set(subcategories)
    assert set(SERVICE_SUBCATEGORY_PARENT.values()) == set(categories)
    for category in categories:
        assert SERVICE_SUBCATEGORY_PARENT[f"Other ({category})"] == category


@pytest.mark.parametrize(
    ("subcategory", "category"),
    [
        ("Generative AI", "AI and Machine Learning"),
        ("Continuous Integration and Deployment", "Developer Tools"),
        ("IoT Platforms", "Internet of Things"),
        ("Observability", "Management and Governance"),
        ("Network Security", "Networking"),
        ("Other (Mobile)", "Mobile"),
        ("Other (Other)", "Other"),
    ],
)
def test_service_subcategory_parent(subcategory: str, category: str) -> None:
    assert SERVICE_SUBCATEGORY_PARENT[subcategory] == category


def test_mobile_has_only_its_other_subcategory() -> None:
    mobile = [sub for sub, cat in SERVICE_SUBCATEGORY_PARENT.items() if cat == "Mobile"]
    assert mobile == ["Other (Mobile)"]


def test_enum_values_in_the_1_2_sample_are_allowed() -> None:
    path = SAMPLES / "focus-1.2_synthetic_aws-azure-gcp_10k.csv"
    seen: dict[str, set[str]] = {name: set() for name in ENUMS}
    pairs: set[tuple[str, str]] = set()
    with path.open(encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            for name in seen.keys() & row.keys():
                seen[name].add(row[name])
            pairs.add((row["ServiceSubcategory"], row["ServiceCategory"]))
    for name, values in seen.items():
        assert values - {""} <= set(ENUMS[name]), name
    assert len(pairs) == 10
    assert all(SERVICE_SUBCATEGORY_PARENT[sub] == cat for sub, cat in pairs)


# --- the contract commitment dataset ------------------------------------------------------------


def test_contract_commitment_specs() -> None:
    specs = {spec.name: spec for spec in CONTRACT_COMMITMENT_COLUMNS}
    mandatory = {name for name, spec in specs.items() if spec.level == "mandatory"}
    assert mandatory == {
        "ContractId",
        "ContractCommitmentId",
        "ContractCommitmentCategory",
        "ContractCommitmentPeriodStart",
        "ContractCommitmentPeriodEnd",
        "BillingCurrency",
    }
    assert all(spec.nullable == (spec.level != "mandatory") for spec in specs.values())
    assert {n for n, s in specs.items() if s.kind == "metric"} == {
        "ContractCommitmentCost",
        "ContractCommitmentQuantity",
    }
    assert {n for n, s in specs.items() if s.focus_type == "datetime"} == {
        "ContractCommitmentPeriodStart",
        "ContractCommitmentPeriodEnd",
        "ContractPeriodStart",
        "ContractPeriodEnd",
    }
    assert specs["ContractCommitmentCategory"].allowed_values == ("Spend", "Usage")
    assert all(spec.introduced == "1.3" for spec in specs.values())
