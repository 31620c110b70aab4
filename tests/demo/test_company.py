"""Northwind Analytics, the demo company: its data holds together and speaks FOCUS."""

from __future__ import annotations

import json
import re
from collections import Counter

import pytest

from costprism.demo.company import (
    ENVIRONMENT_MISSPELLINGS,
    NORTHWIND,
    TEAM_MISSPELLINGS,
    Service,
    sku_code,
    summary,
    tag_json,
)
from costprism.focus.columns import SERVICE_SUBCATEGORY_PARENT, column

# FOCUS unit forms: "GB", "GB-Hours", "GB/Hour", "1000 Requests" (attributes/unit_format.md)
UNIT = re.compile(r"^(\d+ )?[A-Za-z]+(-[A-Z][a-z]+s)?(/[A-Z][a-z]+)?$")
SKU_PRICE_DETAIL_KEYS = {
    "CoreCount",
    "DiskMaxIops",
    "DiskSpace",
    "GpuCount",
    "MemorySize",
    "NetworkMaxIops",
    "NetworkMaxThroughput",
    "DiskType",
    "InstanceType",
    "InstanceSeries",
    "OperatingSystem",
    "Redundancy",
    "StorageClass",
}
SERVICES = {s.service for s in NORTHWIND.skus} | {c.service for c in NORTHWIND.monthly_charges}


def test_the_company_has_the_size_of_the_brief() -> None:
    assert len(NORTHWIND.providers) == 4
    assert 18 <= len(NORTHWIND.sub_accounts) <= 25
    assert len(NORTHWIND.teams) == 8
    assert len(NORTHWIND.products) >= 5
    assert set(NORTHWIND.environments) == {"prod", "staging", "dev", "sandbox"}
    for provider in NORTHWIND.providers:
        accounts = [a for a in NORTHWIND.billing_accounts if a.provider == provider.key]
        assert 1 <= len(accounts) <= 2
    assert sum(p.row_share for p in NORTHWIND.providers) == pytest.approx(1.0)


def test_billing_accounts_bill_in_iso_currencies_and_more_than_one() -> None:
    currencies = {a.currency for a in NORTHWIND.billing_accounts}
    assert currencies == {"USD", "EUR"}
    assert all(re.fullmatch("[A-Z]{3}", c) for c in currencies)


def test_sub_accounts_point_at_what_exists() -> None:
    accounts = {(a.provider, a.id) for a in NORTHWIND.billing_accounts}
    regions = {(r.provider, r.id) for r in NORTHWIND.regions}
    teams = {t.key for t in NORTHWIND.teams}
    for sub in NORTHWIND.sub_accounts:
        assert (sub.provider, sub.billing_account_id) in accounts
        assert {(sub.provider, r) for r in sub.regions} <= regions
        assert sub.team in teams
        assert sub.environment in NORTHWIND.environments
    ids = Counter((s.provider, s.id) for s in NORTHWIND.sub_accounts)
    assert max(ids.values()) == 1
    names = {s.name for s in NORTHWIND.sub_accounts}
    assert {"prod-payments", "sandbox-alice", "shared-platform", "data-lake-prod"} <= names


def test_teams_have_products_and_cost_centers() -> None:
    products = {p.key for p in NORTHWIND.products}
    assert all(t.product in products for t in NORTHWIND.teams)
    codes = [t.cost_center for t in NORTHWIND.teams]
    assert len(set(codes)) == len(codes)
    assert all(re.fullmatch(r"CC-1\d\d", c) for c in codes)
    assert {c.code for c in NORTHWIND.cost_centers} == set(codes)


@pytest.mark.parametrize("service", sorted(SERVICES, key=lambda s: (s.provider, s.name, s.role)))
def test_services_use_focus_categories(service: Service) -> None:
    assert service.category in (column("ServiceCategory").allowed_values or ())
    assert SERVICE_SUBCATEGORY_PARENT[service.subcategory] == service.category


def test_a_service_name_has_one_category() -> None:
    categories: dict[tuple[str, str], set[str]] = {}
    for service in SERVICES:
        categories.setdefault((service.provider, service.name), set()).add(service.category)
    assert all(len(found) == 1 for found in categories.values())


def test_skus_have_unique_ids_focus_units_and_details() -> None:
    codes = [s.code for s in NORTHWIND.skus]
    assert len(set(codes)) == len(codes)
    for sku in NORTHWIND.skus:
        assert UNIT.match(sku.pricing_unit), sku.pricing_unit
        assert UNIT.match(sku.consumed_unit), sku.consumed_unit
        assert sku.list_price > 0
        assert sku.daily_quantity > 0
        details = json.loads(sku.details) if sku.details else {}
        assert all(k in SKU_PRICE_DETAIL_KEYS or k.startswith("x_") for k in details)
        assert not (sku.instance and sku.per_month)


def test_every_workload_of_a_sub_account_has_skus() -> None:
    for sub in NORTHWIND.sub_accounts:
        offered = [s for s in NORTHWIND.skus if s.provider == sub.provider]
        assert any(dict(s.workloads).get(sub.workload, 0) > 0 for s in offered), sub.name


def test_marketplace_services_have_another_publisher() -> None:
    providers = {p.key: p for p in NORTHWIND.providers}
    sellers = {s.provider for s in SERVICES if s.publisher is not None}
    assert sellers == {"aws", "azure", "gcp"}
    for service in (s for s in SERVICES if s.publisher is not None):
        assert service.publisher != providers[service.provider].publisher


def test_commitments_cover_what_exists() -> None:
    skus = {s.code: s for s in NORTHWIND.skus}
    categories = column("CommitmentDiscountCategory").allowed_values or ()
    assert {c.provider for c in NORTHWIND.commitments} == {"aws", "azure", "gcp"}
    for c in NORTHWIND.commitments:
        assert c.category in categories
        assert 0 < c.discount < 1
        account = next(a for a in NORTHWIND.billing_accounts if a.id == c.billing_account_id)
        assert account.currency == "USD"
        assert any(s.id == c.sub_account_id for s in NORTHWIND.sub_accounts)
        if c.category == "Usage":
            assert skus[str(c.sku_code)].service.name == c.service
            assert any(r.id == c.region for r in NORTHWIND.regions)
        else:
            assert (c.sku_code, c.region) == (None, None)


def test_anomalies_point_at_usd_scopes_that_exist() -> None:
    kinds = {a.kind for a in NORTHWIND.anomalies}
    assert kinds == {
        "spike",
        "new_region",
        "gpu_burst",
        "egress_spike",
        "idle_resource",
        "slow_leak",
        "one_day_spike",
    }
    assert 4 <= len(NORTHWIND.anomalies) <= 8
    (one_day,) = (a for a in NORTHWIND.anomalies if a.kind == "one_day_spike")
    assert one_day.days == 1
    for plan in NORTHWIND.anomalies:
        sub = next(s for s in NORTHWIND.sub_accounts if s.id == plan.sub_account_id)
        account = next(a for a in NORTHWIND.billing_accounts if a.id == sub.billing_account_id)
        assert (sub.provider, account.currency) == (plan.provider, "USD")
        assert any(
            s.service.name == plan.service for s in NORTHWIND.skus if s.provider == sub.provider
        )
        assert 0 < plan.at < 1
        if plan.sku_code is not None:
            assert NORTHWIND.sku(plan.sku_code).service.name == plan.service
    (new_region,) = (a for a in NORTHWIND.anomalies if a.kind == "new_region")
    sub = next(s for s in NORTHWIND.sub_accounts if s.id == new_region.sub_account_id)
    assert new_region.region not in sub.regions


def test_pascal_tags_keep_team_and_product_keys_and_case() -> None:
    tags = json.loads(str(tag_json(NORTHWIND, "pascal", "payments", "prod", 0)))
    assert tags == {
        "team": "payments",
        "product": "checkout",
        "CostCenter": "CC-110",
        "Environment": "prod",
    }


def test_label_tags_are_lowercase_with_hyphens() -> None:
    for variant in range(7):
        text = tag_json(NORTHWIND, "label", "payments", "prod", variant)
        if text is not None:
            assert text == text.lower()
            assert "CostCenter" not in text
    tags = json.loads(str(tag_json(NORTHWIND, "label", "ml", "dev", 0)))
    assert tags == {
        "team": "ml",
        "product": "recommendations",
        "cost-center": "cc-160",
        "environment": "dev",
    }


def test_tag_variants_untag_drop_the_team_or_misspell() -> None:
    assert tag_json(NORTHWIND, "pascal", "payments", "prod", 1) is None
    assert "team" not in json.loads(str(tag_json(NORTHWIND, "pascal", "payments", "prod", 2)))
    misspelled = {
        json.loads(str(tag_json(NORTHWIND, "pascal", "payments", "prod", v)))["team"]
        for v in (3, 4)
    }
    assert misspelled == set(TEAM_MISSPELLINGS["payments"]) == {"Payments", "paymnts"}
    environments = {
        json.loads(str(tag_json(NORTHWIND, "pascal", "payments", "prod", v)))["Environment"]
        for v in (5, 6)
    }
    assert environments == set(ENVIRONMENT_MISSPELLINGS["prod"])


def test_sku_codes_are_stable_and_shaped_like_the_provider_s() -> None:
    assert sku_code("aws", "x") == sku_code("aws", "x")
    assert re.fullmatch("[0-9A-F]{16}", sku_code("aws", "x"))
    assert re.fullmatch("[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{4}", sku_code("gcp", "x"))


def test_the_summary_is_plain_json() -> None:
    text = json.dumps(summary(NORTHWIND))
    back = json.loads(text)
    assert len(back["sub_accounts"]) == len(NORTHWIND.sub_accounts)
    assert back["tag_keys"]["Google Cloud"] == ["team", "product", "cost-center", "environment"]
