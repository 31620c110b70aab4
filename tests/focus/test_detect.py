"""Tests for costprism.focus.detect: dataset and version detection from real and edge headers."""

from __future__ import annotations

import csv
import gzip
from pathlib import Path

import pytest

from costprism.focus import clean_name, columns_for, detect_header

SAMPLES = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "focus"
EXAMPLES = "spec-examples-1.2"


def _header(name: str) -> list[str]:
    """The first row, read as bytes decode it: a BOM, if any, stays in the first name."""
    path = SAMPLES / name
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8", newline="") as handle:
        return next(csv.reader(handle))


def _names(version: str) -> list[str]:
    return [spec.name for spec in columns_for(version)]


# --- the sample exports -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("sample", "dataset", "version", "unknown"),
    [
        ("focus-1.0_sample_1000.csv", "cost_and_usage", "1.0", ("Id",)),
        ("focus-1.2_synthetic_aws-azure-gcp_10k.csv", "cost_and_usage", "1.2", ()),
        ("focus-1.2_synthetic_aws-azure-gcp_100k.csv.gz", "cost_and_usage", "1.2", ()),
        ("focus-1.3_synthetic_aws-azure-gcp_3k.csv", "cost_and_usage", "1.3", ()),
        (
            "focus-1.3_synthetic_contract-commitment_aws-azure-gcp.csv",
            "contract_commitment",
            "1.3",
            (),
        ),
    ],
)
def test_sample_exports(sample: str, dataset: str, version: str, unknown: tuple[str, ...]) -> None:
    found = detect_header(_header(sample))
    assert (found.dataset, found.version, found.unknown) == (dataset, version, unknown)
    assert found.missing_mandatory == ()
    assert dict(found.renamed) == {}
    assert found.extension == ()
    assert found.duplicates == ()


# --- the spec's example files (column subsets) ------------------------------------------------

SCENARIO_MISSING = (
    "BillingAccountId",
    "BillingAccountName",
    "BillingCurrency",
    "ChargeClass",
    "ChargeDescription",
    "ContractedCost",
    "InvoiceIssuerName",
    "ListCost",
    "PricingQuantity",
    "PricingUnit",
    "ProviderName",
    "PublisherName",
    "ServiceCategory",
    "ServiceName",
)


@pytest.mark.parametrize(
    "scenario",
    [
        *(f"purchase_scenario_{n}" for n in (1, 2, 3)),
        *(f"usage_scenario_{n}" for n in (1, 2, 3, 4)),
    ],
)
def test_commitment_discount_scenarios_miss_mandatory_columns(scenario: str) -> None:
    name = f"{EXAMPLES}/commitment_discount_scenarios/commitment_discount_{scenario}.csv"
    found = detect_header(_header(name))
    assert found.dataset == "cost_and_usage"
    assert found.version == "1.1"  # CommitmentDiscountQuantity/Unit are 1.1 columns
    assert found.missing_mandatory == SCENARIO_MISSING
    assert (dict(found.renamed), found.unknown, found.extension) == ({}, (), ())


def test_commitment_flexibility_example_has_a_wrong_case_sku_price_id() -> None:
    name = (
        f"{EXAMPLES}/commitment_discount_flexibility/"
        "one_hundred_percent_utilization_with_commitment_discount_flexibility_with_1_resource.csv"
    )
    found = detect_header(_header(name))
    assert dict(found.renamed) == {"SkuPriceid": "SkuPriceId"}
    assert found.extension == ("x_CommitmentDiscountUnitPrice",)
    assert found.unknown == ()
    assert "SkuPriceId" not in found.missing_mandatory
    assert {"BillingCurrency", "BillingAccountId", "ProviderName"} <= set(found.missing_mandatory)
    assert len(found.missing_mandatory) == 12


@pytest.mark.parametrize("variant", ["a1", "a2", "b1", "b2", "b3", "c"])
def test_virtual_currency_examples_start_with_a_bom(variant: str) -> None:
    header = _header(f"{EXAMPLES}/saas_examples/virtual_currency_pricing_model_{variant}.csv")
    assert header[0] == "\ufeffBilledCost"
    found = detect_header(header)
    assert found.version == "1.2"  # PricingCurrency* columns
    assert dict(found.renamed) == {"\ufeffBilledCost": "BilledCost"}
    assert "BilledCost" not in found.missing_mandatory
    assert found.missing_mandatory == ("ServiceCategory",)


def test_simple_saas_example_is_a_complete_1_1_header() -> None:
    found = detect_header(
        _header(f"{EXAMPLES}/saas_examples/simple_agreements/simple_saas_agreements_a1.csv")
    )
    assert (found.version, found.missing_mandatory, found.unknown) == ("1.1", (), ())


# --- renames, case, whitespace --------------------------------------------------------------


def test_old_focus_names_are_renamed() -> None:
    header = [n for n in _names("1.0") if n not in {"ChargeCategory", "EffectiveCost", "RegionId"}]
    found = detect_header([*header, "ChargeType", "AmortizedCost", "Region"])
    assert dict(found.renamed) == {
        "ChargeType": "ChargeCategory",
        "AmortizedCost": "EffectiveCost",
        "Region": "RegionId",
    }
    assert found.version == "1.0"
    assert found.missing_mandatory == ()
    assert found.unknown == ()


def test_case_and_whitespace_differences_are_renamed() -> None:
    found = detect_header(["billedcost", " BillingCurrency ", "SKUPRICEID", "x_Team"])
    assert dict(found.renamed) == {
        "billedcost": "BilledCost",
        " BillingCurrency ": "BillingCurrency",
        "SKUPRICEID": "SkuPriceId",
    }
    assert found.extension == ("x_Team",)
    assert "BilledCost" not in found.missing_mandatory
    assert "BillingCurrency" not in found.missing_mandatory


@pytest.mark.parametrize(
    ("raw", "clean"),
    [("\ufeffBilledCost", "BilledCost"), ("  Tags\t", "Tags"), (" \ufeff Id ", "Id"), ("", "")],
)
def test_clean_name(raw: str, clean: str) -> None:
    assert clean_name(raw) == clean


# --- unknown, extension and duplicate names -------------------------------------------------


def test_unknown_and_extension_names_keep_header_order() -> None:
    found = detect_header(["Id", "BilledCost", "x_b", "Cost Center", "x_a", "ContractId"])
    assert found.unknown == ("Id", "Cost Center", "ContractId")
    assert found.extension == ("x_b", "x_a")


def test_duplicates_ignore_case_and_are_reported_once() -> None:
    found = detect_header(["BilledCost", "Id", "billedcost", "ID", "BilledCost", "Tags"])
    assert found.duplicates == ("BilledCost", "Id")


def test_an_old_name_beside_its_new_name_is_a_duplicate() -> None:
    found = detect_header(["ChargeType", "ChargeCategory"])
    assert found.duplicates == ("ChargeType",)


# --- version evidence and mandatory columns ---------------------------------------------------


@pytest.mark.parametrize(
    ("extra", "version"),
    [
        ([], "1.0"),
        (["SkuMeter"], "1.1"),
        (["ServiceSubcategory", "InvoiceId"], "1.2"),
        (["AllocatedTags"], "1.3"),
        (["HostProviderName"], "1.3"),
    ],
)
def test_version_is_the_newest_evidenced(extra: list[str], version: str) -> None:
    assert detect_header([*_names("1.0"), *extra]).version == version


@pytest.mark.parametrize("version", ["1.0", "1.1", "1.2"])
def test_1_3_mandatory_columns_are_not_missing_before_1_3(version: str) -> None:
    found = detect_header(_names(version))
    assert found.version == version
    assert found.missing_mandatory == ()


def test_a_1_3_header_without_service_provider_name() -> None:
    header = [name for name in _names("1.3") if name != "ServiceProviderName"]
    found = detect_header(header)
    assert found.version == "1.3"
    assert found.missing_mandatory == ("ServiceProviderName",)


def test_empty_header_misses_every_1_0_mandatory_column() -> None:
    found = detect_header([])
    assert (found.dataset, found.version) == ("cost_and_usage", "1.0")
    assert len(found.missing_mandatory) == 21
    assert found.missing_mandatory[0] == "BilledCost"


# --- the contract commitment dataset ----------------------------------------------------------


def test_contract_commitment_missing_mandatory() -> None:
    found = detect_header(["contractcommitmentid", "ContractCommitmentCost", "Tags"])
    assert found.dataset == "contract_commitment"
    assert found.version == "1.3"
    assert dict(found.renamed) == {"contractcommitmentid": "ContractCommitmentId"}
    assert found.unknown == ("Tags",)
    assert found.missing_mandatory == (
        "BillingCurrency",
        "ContractCommitmentCategory",
        "ContractCommitmentPeriodEnd",
        "ContractCommitmentPeriodStart",
        "ContractId",
    )


def test_a_header_with_billed_cost_is_cost_and_usage() -> None:
    found = detect_header([*_names("1.2"), "ContractCommitmentId"])
    assert found.dataset == "cost_and_usage"
    assert found.unknown == ("ContractCommitmentId",)
