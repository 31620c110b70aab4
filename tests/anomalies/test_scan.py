"""One scan of the shop: the cost anomalies and the security findings, each explained, with
stable fingerprints; unfinished days left out; tax rows left out of cost detection."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from costprism.anomalies.detection import DetectionSettings
from costprism.anomalies.scan import COST, SECURITY, scan, scope_key
from costprism.engine.backends import LedgerView, open_ledger
from costprism.engine.filters import parse_filters
from tests.anomaly_ledger import EGRESS, LAST, NEW_REGION, SPIKE, build_shop

BY = ("SubAccountId", "ServiceName")


def test_the_scan_finds_the_injected_events(shop_view: LedgerView) -> None:
    found = scan(shop_view, BY, DetectionSettings())
    cost = {(d.finding.scope["ServiceName"], d.finding.start) for d in found if d.kind == COST}
    assert cost == {
        ("Compute Service", SPIKE[0]),
        ("Data Transfer", EGRESS[0]),
        ("Storage Service", NEW_REGION),
    }
    spike = next(d for d in found if d.kind == COST and d.finding.start == SPIKE[0])
    assert spike.finding.end == SPIKE[1]
    assert spike.dimensions == BY
    assert (spike.drivers[0].dimension, spike.drivers[0].value) in {
        ("ResourceId", "r2"),
        ("SkuId", "S2"),
    }
    rules = sorted(d.rule for d in found if d.kind == SECURITY)
    assert rules == ["egress_spike", "gpu_spend", "new_region", "new_service"]
    assert all(d.finding.end < LAST - timedelta(days=1) for d in found)


def test_fingerprints_are_stable_and_distinct(shop_view: LedgerView) -> None:
    first = scan(shop_view, BY, DetectionSettings(), explain=False)
    again = scan(shop_view, BY, DetectionSettings(), explain=False)
    assert [d.fingerprint for d in first] == [d.fingerprint for d in again]
    assert len({d.fingerprint for d in first}) == len(first)
    assert scope_key({"b": "2", "a": "1"}) == "a=1\nb=2"
    long = scope_key({"ResourceId": "arn:" + "x" * 2_000})
    assert long.startswith("sha256:")
    assert long != scope_key({"ResourceId": "arn:" + "y" * 2_000})


def test_a_spike_in_the_unfinished_days_waits(tmp_path: Path) -> None:
    view = open_ledger(build_shop(tmp_path, unfinished_spike=True))
    waiting = scan(view, BY, DetectionSettings(), security=False, explain=False)
    assert LAST not in {d.finding.end for d in waiting}
    now = scan(view, BY, DetectionSettings(unfinished_days=0), security=False, explain=False)
    assert LAST in {d.finding.end for d in now}


def test_the_scan_obeys_the_callers_scope(shop_view: LedgerView) -> None:
    data = parse_filters(["tag:team=data"])
    found = scan(shop_view, BY, DetectionSettings(), scope=data, explain=False)
    assert {d.finding.scope["SubAccountId"] for d in found} == {"222"}
    assert pytest.approx(2_400.0, rel=0.01) in [d.finding.impact for d in found]


def test_a_run_explains_only_its_largest_anomalies(shop_view: LedgerView) -> None:
    everything = scan(shop_view, ("SubAccountId", "ServiceName"), DetectionSettings())
    assert len(everything) >= 2
    assert all(d.explained for d in everything)
    limited = scan(shop_view, ("SubAccountId", "ServiceName"), DetectionSettings(explain_limit=1))
    (explained,) = [d for d in limited if d.explained]
    assert abs(explained.finding.impact) == max(abs(d.finding.impact) for d in limited)
    assert all(not d.drivers for d in limited if not d.explained)
