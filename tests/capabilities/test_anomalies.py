"""The anomalies capability on the shop (tests/anomaly_ledger.py): detection recorded once,
the JSON shape, scope isolation through the engine, triage, KPIs and owners."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from costprism.anomalies.detection import DetectionSettings
from costprism.capabilities.anomalies import (
    anomaly_detail,
    anomaly_kpis,
    detect_anomalies,
    list_anomalies,
    owners_for,
    triage_anomaly,
    visible,
)
from costprism.db import Database
from costprism.db.models import Anomaly
from costprism.engine.backends import LedgerView, open_ledger
from costprism.engine.filters import parse_filters
from costprism.errors import InputError, NotFound
from costprism.ledger import Ledger
from tests.anomaly_ledger import SPIKE, shop_charges, shop_home

KEYS = {"id", "scope", "start", "end", "impact", "severity", "state", "drivers"}


@pytest.fixture(scope="module")
def view(tmp_path_factory: pytest.TempPathFactory) -> LedgerView:
    return open_ledger(Ledger.at_home(shop_home(tmp_path_factory)))


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    database = Database.open(f"sqlite:///{tmp_path / 'metadata.db'}")
    yield database
    database.dispose()


@pytest.fixture
def detected(view: LedgerView, db: Database) -> list[dict[str, Any]]:
    detect_anomalies(view, db, actor="test")
    return list_anomalies(view, db)


def test_detect_records_once_and_lists_the_json_shape(
    view: LedgerView, db: Database, detected: list[dict[str, Any]]
) -> None:
    assert len(detected) == 7  # 3 cost anomalies, 4 security findings
    for record in detected:
        assert set(record) >= KEYS
        assert isinstance(record["impact"], float)
        assert all(set(d) >= {"dimension", "value", "share"} for d in record["drivers"])
    spike = next(r for r in detected if r["start"] == SPIKE[0].isoformat() and r["kind"] == "cost")
    assert spike["scope"] == {"SubAccountId": "111", "ServiceName": "Compute Service"}
    assert spike["end"] == SPIKE[1].isoformat()
    usual = sum(u.amount for u in shop_charges(unfinished_spike=False)
                if u.resource == "r2" and SPIKE[0] <= u.day <= SPIKE[1]) / 6  # fmt: skip
    assert spike["impact"] == pytest.approx(5 * usual, rel=0.1)
    assert spike["state"] == "open"
    again = detect_anomalies(view, db, actor="test")
    assert (again.recorded.new, len(again.recorded.updated)) == ((), 7)
    assert [r["id"] for r in list_anomalies(view, db)] == [r["id"] for r in detected]


def test_a_scoped_caller_sees_only_anomalies_wholly_inside_their_scope(
    view: LedgerView, db: Database, detected: list[dict[str, Any]]
) -> None:
    payments = list_anomalies(view, db, scope=parse_filters(["tag:team=payments"]))
    assert {r["scope"]["SubAccountId"] for r in payments} == {"111"}
    assert len(payments) == 3  # spike, egress (cost), egress_spike (security)
    compute = list_anomalies(view, db, scope=parse_filters(["ServiceName=Compute Service"]))
    assert {tuple(r["scope"].items()) for r in compute} == {
        (("SubAccountId", "111"), ("ServiceName", "Compute Service")),
        (("SubAccountId", "222"), ("ServiceName", "Compute Service")),
    }  # not 222's account-wide gpu_spend: its cost includes Storage Service
    hidden = next(r for r in detected if r["scope"] == {"SubAccountId": "222"})
    with pytest.raises(NotFound):
        anomaly_detail(view, db, int(hidden["id"]), scope=parse_filters(["tag:team=payments"]))


def test_triage_moves_state_and_the_kpis_follow(
    view: LedgerView, db: Database, detected: list[dict[str, Any]]
) -> None:
    first = int(detected[0]["id"])
    triage_anomaly(view, db, first, "acknowledged", actor="ada", comment="on it")
    detail = triage_anomaly(view, db, first, "resolved", actor="ada")
    assert [h["to"] for h in detail["history"]] == ["open", "acknowledged", "resolved"]
    assert detail["series"]
    kpis = anomaly_kpis(view, list_anomalies(view, db))
    assert kpis["anomalies"] == 7
    assert kpis["open"] == 6
    assert kpis["mean_time_to_acknowledge_hours"] >= 0
    assert kpis["mean_time_to_resolve_hours"] >= kpis["mean_time_to_acknowledge_hours"]
    assert kpis["mean_time_to_detect_hours"] > 24 * 30  # the shop's anomalies are months old
    cost = [r for r in detected if r["kind"] == "cost"]
    start = min(date.fromisoformat(str(r["start"])) for r in cost)
    end = max(date.fromisoformat(str(r["end"])) for r in cost)
    total = sum(u.amount for u in shop_charges() if start <= u.day <= end)
    impact = sum(float(r["impact"]) for r in cost)
    # the KPI is given to 4 decimal places
    assert kpis["anomaly_cost_percent"]["USD"] == pytest.approx(100 * impact / total, abs=5e-5)
    with pytest.raises(InputError, match="--state 'closed'"):
        list_anomalies(view, db, state="closed")


def test_owners_come_from_the_owners_file(view: LedgerView, db: Database, tmp_path: Path) -> None:
    (tmp_path / "owners.yaml").write_text(
        "owners:\n  - match: SubAccountId=111\n    users: [ada]\n    emails: [pay@example.com]\n",
        encoding="utf-8",
    )
    owners = owners_for(tmp_path)
    assert owners is not None
    assert owners_for(tmp_path / "elsewhere") is None
    detect_anomalies(view, db, owners=owners)
    records = list_anomalies(view, db)
    owned = {r["scope"].get("SubAccountId"): r["owner"] for r in records if r["kind"] == "cost"}
    assert owned == {"111": "ada", "222": None}
    routes = {r["rule"]: r["route"] for r in records}
    assert routes["new_region"] == "role:security"


def test_bad_settings_are_refused(view: LedgerView, db: Database) -> None:
    with pytest.raises(InputError, match="--sensitivity 0"):
        detect_anomalies(view, db, settings=DetectionSettings(sensitivity=0))
    with pytest.raises(InputError, match="at least one --by"):
        detect_anomalies(view, db, by=())


def test_a_scope_without_a_value_is_checked_as_null(view: LedgerView) -> None:
    """Account 111's Support charge has no region: its anomaly scope says RegionId ""."""
    support = Anomaly(
        id=1, scope={"SubAccountId": "111", "RegionId": ""}, start=date(2026, 3, 1),
        end=date(2026, 3, 1), currency="USD",
    )  # fmt: skip
    assert visible(view, [support], parse_filters(["tag:team=payments"])) == {1}
    assert visible(view, [support], parse_filters(["tag:team=data"])) == set()
    assert visible(view, [support], parse_filters(["ServiceName=Compute Service"])) == set()
