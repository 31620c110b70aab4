"""The security rules on the shop: first spend in a region and on a service, GPU spend and
egress spikes; nothing for steady accounts; all within the caller's scope."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pytest

from costprism.anomalies.detection import DetectionSettings, Finding
from costprism.anomalies.security import first_spend, security_findings
from costprism.anomalies.series import DailySeries
from costprism.engine.backends import LedgerView
from costprism.engine.filters import parse_filters
from tests.anomaly_ledger import EGRESS, FIRST, GPU, NEW_REGION

SETTINGS = DetectionSettings()


def by_rule(view: LedgerView, scope: str | None = None) -> dict[str, list[Finding]]:
    found: dict[str, list[Finding]] = {}
    filters = parse_filters([scope]) if scope else ()
    for rule, finding in security_findings(view, SETTINGS, scope=filters):
        found.setdefault(rule, []).append(finding)
    return found


def test_each_rule_finds_its_event_and_nothing_else(shop_view: LedgerView) -> None:
    found = by_rule(shop_view)
    (region,) = found["new_region"]
    assert region.scope == {"SubAccountId": "222", "RegionId": "eu-west-1"}
    assert (region.start, region.end) == (NEW_REGION, NEW_REGION + timedelta(days=6))
    assert region.impact == pytest.approx(7 * 60.0)
    (service,) = found["new_service"]
    assert service.scope == {"SubAccountId": "222", "ServiceName": "Compute Service"}
    (gpu,) = found["gpu_spend"]
    assert (gpu.scope, gpu.start, gpu.end) == ({"SubAccountId": "222"}, *GPU)
    assert gpu.impact == pytest.approx(2_400.0, rel=0.01)
    (egress,) = found["egress_spike"]
    assert (egress.scope, egress.start, egress.end) == ({"SubAccountId": "111"}, *EGRESS)


def test_rules_see_only_the_callers_scope(shop_view: LedgerView) -> None:
    found = by_rule(shop_view, "tag:team=payments")
    assert set(found) == {"egress_spike"}


def test_a_first_spend_before_enough_history_is_not_reported() -> None:
    days = tuple(FIRST + timedelta(days=i) for i in range(40))
    values = np.full((2, 40), np.nan)
    values[0, 0:] = 100.0  # the account's first region, from day 0
    values[1, 5:] = 500.0  # a second region on day 5: the account is too new to judge
    series = DailySeries(
        dimensions=("SubAccountId", "RegionId"),
        scopes=({"SubAccountId": "1", "RegionId": "a"}, {"SubAccountId": "1", "RegionId": "b"}),
        currencies=("USD", "USD"), days=days, values=values,
    )  # fmt: skip
    assert first_spend(series, SETTINGS) == []
    values[1, :] = np.nan
    values[1, 20:] = 500.0
    (found,) = first_spend(series, SETTINGS)
    assert found.start == days[20]
