"""Each native fixture, converted and exported, through the FinOps Foundation's validator.

FOCUS 1.2, every applicability criterion on (:mod:`tests.focus_validator`). A conversion
may fail no rule but the validator's own false positives
(:data:`~tests.focus_validator.KNOWN_FALSE_POSITIVES`) and, per native format, the rules in
:data:`NATIVE_ALLOWED`, each with the reason it is the validator's error or a fact of that
export (information it does not hold), not a defect the conversion adds.

The fixtures are exported as Parquet, not CSV: on CSV the validator infers column types
from the values, so numeric-looking account ids (AWS, Alibaba, Oracle) fail the String type
rules and a cost column whose first values are integers fails the Decimal rules; Parquet
carries the ledger's types.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from costprism.capabilities.export import export_focus, parse_export_request
from costprism.engine.backends import open_ledger
from tests.focus_validator import KNOWN_FALSE_POSITIVES, ValidatorReport, validate_all
from tests.native.fixture_pairs import Case, cases, import_case

_ASCII = (
    "the validator's String Handling check accepts ASCII only (its SQL: "
    "REGEXP_FULL_MATCH(value, '^[\\x00-\\x7F]*$')); FOCUS's String Handling asks for the "
    "provider's casing and spacing, not ASCII, and {}"
)
_INVOICE = (
    "the validator's SQL demands an InvoiceId on every row, FOCUS only on charges of an "
    "issued or provisional invoice; {}"
)


def _composite(child: str) -> str:
    return f"composite: fails only through {child}"


NATIVE_ALLOWED: dict[str, dict[str, str]] = {
    "aws-cur": {
        "BillingAccountName-C-003-C": (
            "the legacy CUR has no account names: bill_payer_account_name came with CUR 2.0"
        ),
        "BillingAccountName-C-000-M": _composite("BillingAccountName-C-003-C"),
        "SubAccountName-C-005-C": (
            "the legacy CUR has no account names: line_item_usage_account_name came with CUR 2.0"
        ),
        "SubAccountName-C-003-C": _composite("SubAccountName-C-005-C"),
        "SubAccountName-C-000-C": _composite("SubAccountName-C-003-C"),
    },
    "azure": {
        "InvoiceId-C-005-C": _INVOICE.format(
            "Azure EA cost details have no invoice id, and MCA rows of a month not yet "
            "invoiced have an empty invoiceId"
        ),
    },
    "azure-legacy": {
        "InvoiceId-C-005-C": _INVOICE.format(
            "Azure's older usage-details layout has no invoice id column"
        ),
        "BillingAccountName-C-003-C": (
            "Azure pay-as-you-go files of the older layout name neither the account nor the "
            "subscription (SubscriptionGuid only); BillingAccountId is the subscription there"
        ),
        "BillingAccountName-C-000-M": _composite("BillingAccountName-C-003-C"),
        "SubAccountName-C-005-C": (
            "Azure pay-as-you-go files of the older layout have no SubscriptionName column"
        ),
        "SubAccountName-C-003-C": _composite("SubAccountName-C-005-C"),
        "SubAccountName-C-000-C": _composite("SubAccountName-C-003-C"),
        "PublisherName-C-003-M": (
            "Azure's older EA layout has PublisherType but no PublisherName column: a "
            "Marketplace row can't say who published the offer, and any value would be made up"
        ),
        "PublisherName-C-000-M": _composite("PublisherName-C-003-M"),
    },
    "gcp-billing-flat": {
        "InvoiceId-C-005-C": _INVOICE.format(
            "Google's billing export has no invoice id (invoice.month only)"
        ),
        "BillingAccountName-C-003-C": (
            "Google's billing export has no billing account name (billing_account_id only)"
        ),
        "BillingAccountName-C-000-M": _composite("BillingAccountName-C-003-C"),
        "SubAccountName-C-002-M": _ASCII.format("the fixture's project names are not ASCII"),
        "SubAccountName-C-000-C": _composite("SubAccountName-C-002-M"),
        "ResourceId-C-002-M": _ASCII.format("the fixture has a resource id with a ü"),
        "ResourceId-C-000-C": _composite("ResourceId-C-002-M"),
        "ResourceName-C-002-M": _ASCII.format("the fixture has a resource name with a ü"),
        "ResourceName-C-000-C": _composite("ResourceName-C-002-M"),
    },
    "gcp-billing": {
        "InvoiceId-C-005-C": _INVOICE.format(
            "Google's billing export has no invoice id (invoice.month only)"
        ),
        "BillingAccountName-C-003-C": (
            "Google's billing export has no billing account name (billing_account_id only)"
        ),
        "BillingAccountName-C-000-M": _composite("BillingAccountName-C-003-C"),
        "SubAccountName-C-002-M": _ASCII.format("the fixture's project names are not ASCII"),
        "SubAccountName-C-000-C": _composite("SubAccountName-C-002-M"),
    },
    "alibaba-bill": {
        "InvoiceId-C-005-C": _INVOICE.format(
            "Alibaba Cloud's bill details have no invoice id (invoices are issued separately)"
        ),
    },
    "alibaba-bill-zh": {
        "InvoiceId-C-005-C": _INVOICE.format(
            "Alibaba Cloud's bill details have no invoice id (invoices are issued separately)"
        ),
        "ChargeDescription-C-002-M": _ASCII.format("the China-site bill is written in Chinese"),
        "ChargeDescription-C-000-M": _composite("ChargeDescription-C-002-M"),
        "RegionName-C-002-M": _ASCII.format("the China-site bill names regions in Chinese"),
        "RegionName-C-000-C": _composite("RegionName-C-002-M"),
        "ResourceName-C-002-M": _ASCII.format("instance names on the China site are Chinese"),
        "ResourceName-C-000-C": _composite("ResourceName-C-002-M"),
        "ServiceName-C-002-M": _ASCII.format("the China-site bill names products in Chinese"),
        "ServiceName-C-000-M": _composite("ServiceName-C-002-M"),
        "SkuMeter-C-002-M": _ASCII.format("the China-site bill names billing items in Chinese"),
        "SkuMeter-C-000-C": _composite("SkuMeter-C-002-M"),
    },
    "oci-cost": {
        "InvoiceId-C-005-C": _INVOICE.format("OCI's cost report has no invoice id"),
        "BillingAccountName-C-003-C": (
            "OCI's cost report has no subscription or tenancy name (cost/subscriptionId and "
            "lineItem/tenantId only)"
        ),
        "BillingAccountName-C-000-M": _composite("BillingAccountName-C-003-C"),
        "SubAccountName-C-005-C": (
            "OCI's cost report has no tenancy name (lineItem/tenantId, an OCID, only)"
        ),
        "SubAccountName-C-003-C": _composite("SubAccountName-C-005-C"),
        "SubAccountName-C-000-C": _composite("SubAccountName-C-003-C"),
    },
}
"""Native format (``--format`` name) → rule id → why a conversion of that format may fail
it: the validator's own error, or information that export does not hold (where FOCUS lets
the column be null when the provider's data has no such thing). Keyed by format, so an
entry can't hide a defect in another format's conversion; composite rules (the AND of their
children) are listed with the one child they fail through."""

CASES = list(cases())


@pytest.fixture(scope="module")
def reports(tmp_path_factory: pytest.TempPathFactory) -> dict[str, ValidatorReport]:
    """Every fixture imported, exported as FOCUS 1.2 Parquet and validated (in parallel)."""
    exports: list[Path] = []
    for case in CASES:
        work = tmp_path_factory.mktemp(case.provider)
        _, ledger = import_case(case, work / "home")
        out = work / f"{case.path.name.split('.')[0]}.parquet"
        export_focus(open_ledger(ledger), out, parse_export_request(out=out))
        exports.append(out)
    return {c.name: r for c, r in zip(CASES, validate_all(exports), strict=True)}


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_a_converted_native_export_passes_the_focus_validator(
    case: Case, reports: dict[str, ValidatorReport]
) -> None:
    report = reports[case.name]
    assert report.passed > 0, "the validator passed no rule"
    allowed = NATIVE_ALLOWED.get(case.meta["format"], {})
    unexpected = {
        rule: message
        for rule, message in report.failed.items()
        if rule not in KNOWN_FALSE_POSITIVES and rule not in allowed
    }
    assert not unexpected, "\n".join(f"{r}: {m}" for r, m in sorted(unexpected.items()))


def test_every_allowed_rule_is_failed_by_a_fixture_of_its_format(
    reports: dict[str, ValidatorReport],
) -> None:
    """An allow-list entry that no fixture needs any more is stale: remove it."""
    failed: dict[str, set[str]] = {}
    for case in CASES:
        failed.setdefault(case.meta["format"], set()).update(reports[case.name].failed)
    stale = {
        f"{native}: {rule}"
        for native, rules in NATIVE_ALLOWED.items()
        for rule in rules
        if rule not in failed.get(native, set())
    }
    assert not stale, sorted(stale)
