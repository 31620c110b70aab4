"""``costprism forecast`` and ``forecast-versions list|accuracy|drift``, run as real
subprocesses over the constructed forecast ledger; the answers are the capability's."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest

from costprism.capabilities.forecast import forecast
from costprism.capabilities.forecast_versions import forecast_drift
from costprism.engine.backends import open_ledger
from costprism.engine.filters import parse_filters
from costprism.ledger import Ledger
from tests.forecast_ledger import apply_team_rules, build_home, forecast_sources
from tests.test_cli import ok, run_cli


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("cli-forecast")
    apply_team_rules(build_home(root, forecast_sources()))
    return root


def test_json_is_the_capabilitys_records(home: Path) -> None:
    out = ok(run_cli("forecast", "--by", "team", "--horizon", "90d", "--format", "json",
                     home=home))  # fmt: skip
    expected = forecast(open_ledger(Ledger.at_home(home)), group_by=["team"], horizon="90d")
    assert json.loads(out) == expected.records()
    first = json.loads(out)[0]
    assert list(first)[:8] == [
        "team", "BillingCurrency", "period", "EffectiveCost", "lo80", "hi80", "lo95", "hi95",
    ]  # fmt: skip
    assert first["period"] == "2026-05-21"


def test_months_where_and_csv(home: Path) -> None:
    out = ok(
        run_cli("forecast", "--by", "ServiceName", "--granularity", "month", "--where",
                "tag:team=payments", "--format", "csv", home=home)
    )  # fmt: skip
    rows = list(csv.DictReader(io.StringIO(out)))
    expected = forecast(
        open_ledger(Ledger.at_home(home)), group_by=["ServiceName"], granularity="month",
        filters=parse_filters(["tag:team=payments"]),
    )  # fmt: skip
    assert [(r["ServiceName"], r["period"]) for r in rows] == [
        (r["ServiceName"], r["period"].isoformat()) for r in expected.rows
    ]
    assert [float(r["EffectiveCost"]) for r in rows] == pytest.approx(
        [r["EffectiveCost"] for r in expected.rows]
    )
    assert {r["period"] for r in rows} == {"2026-05-01", "2026-06-01", "2026-07-01", "2026-08-01"}


def test_the_table_names_the_start_and_the_models(home: Path) -> None:
    out = ok(run_cli("forecast", "--by", "team", "--horizon", "7d", home=home))
    assert "forecast from 2026-05-21 (last complete day 2026-05-20)" in out
    assert "MSTL" in out


def test_save_list_accuracy_and_drift(home: Path) -> None:
    saved = run_cli("forecast", "--by", "team", "--horizon", "30d", "--save", home=home)
    assert "saved as forecast version 1" in ok(saved) + saved.stderr
    ok(run_cli("forecast", "--by", "team", "--horizon", "20d", "--save", home=home))
    listed = json.loads(ok(run_cli("forecast-versions", "list", "--format", "json", home=home)))
    assert [v["version"] for v in listed] == [1, 2]
    assert listed[0]["group_by"] == "team"
    assert listed[0]["start"] == "2026-05-21"
    accuracy = ok(run_cli("forecast-versions", "accuracy", "1", home=home))
    assert "no day to compare yet" in accuracy
    drift = json.loads(
        ok(run_cli("forecast-versions", "drift", "1", "2", "--format", "json", home=home))
    )
    assert drift == forecast_drift(Ledger.at_home(home), 1, 2).record()
    assert drift["last_day"] == "2026-06-09"


def test_errors_say_how_to_fix(home: Path) -> None:
    bad = run_cli("forecast", "--horizon", "soon", home=home)
    assert bad.returncode == 1
    assert "horizon 'soon' is not a number of days like 90d" in bad.stderr
    missing = run_cli("forecast-versions", "accuracy", "42", home=home)
    assert missing.returncode == 1
    assert "error [forecast.unknown]: forecast version 42 does not exist" in missing.stderr
    granularity = run_cli("forecast", "--granularity", "week", home=home)
    assert "granularity 'week' is not one of: day, month, quarter, year" in granularity.stderr
