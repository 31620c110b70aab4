"""Drivers: the values whose cost rose, with their share of the rise and lift, computed by
the engine inside the anomaly's scope and the caller's."""

from __future__ import annotations

import pytest

from costprism.anomalies.drivers import drivers, rank
from costprism.engine.backends import LedgerView
from costprism.engine.filters import parse_filters
from tests.anomaly_ledger import GPU, SPIKE


def test_the_spiking_resource_drives_the_spike(shop_view: LedgerView) -> None:
    found = drivers(
        shop_view, {"SubAccountId": "111", "ServiceName": "Compute Service"}, "USD", *SPIKE
    )
    top = found[0]
    assert (top.dimension, top.value) in {("ResourceId", "r2"), ("SkuId", "S2")}
    r2 = next(d for d in found if d.dimension == "ResourceId" and d.value == "r2")
    assert r2.share > 0.9  # r1 only wobbles
    assert r2.lift > 0.5  # r2 is a third of the usual cost
    region = next(d for d in found if d.dimension == "RegionId")
    assert (region.value, region.share) == ("us-east-1", pytest.approx(1.0))
    assert region.lift == pytest.approx(0.0, abs=1e-6)  # all cost is there: explains nothing
    assert all(d.dimension not in ("SubAccountId", "ServiceName") for d in found)


def test_an_account_wide_anomaly_names_the_service(shop_view: LedgerView) -> None:
    found = drivers(shop_view, {"SubAccountId": "222"}, "USD", *GPU)
    assert (found[0].dimension, found[0].value) == ("ServiceName", "Compute Service")
    assert {(d.dimension, d.value) for d in found} >= {("SkuId", "G1"), ("ResourceId", "g1")}


def test_drivers_stay_inside_the_callers_scope(shop_view: LedgerView) -> None:
    hidden = drivers(
        shop_view, {"SubAccountId": "222"}, "USD", *GPU, caller=parse_filters(["tag:team=payments"])
    )
    assert hidden == []


def test_rank_orders_by_lift_and_keeps_the_shares_of_a_dimension() -> None:
    rows = [
        {"dimension": "RegionId", "value": "a", "change": 90.0, "baseline": 100.0},
        {"dimension": "RegionId", "value": "b", "change": 10.0, "baseline": 0.0},
        {"dimension": "ResourceId", "value": "x", "change": 95.0, "baseline": 10.0},
        {"dimension": "ResourceId", "value": "y", "change": 5.0, "baseline": 90.0},
        {"dimension": "ResourceId", "value": "z", "change": -3.0, "baseline": 5.0},
    ]
    found = rank(rows, ["RegionId", "ResourceId"], per_dimension=3, min_share=0.05)
    assert [(d.dimension, d.value) for d in found] == [
        ("ResourceId", "x"),
        ("RegionId", "b"),
        ("RegionId", "a"),
        ("ResourceId", "y"),
    ]
    assert sum(d.share for d in found if d.dimension == "RegionId") == pytest.approx(1.0)
    assert found[0].lift == pytest.approx(0.95 - 10 / 105)
