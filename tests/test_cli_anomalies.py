"""``costprism anomalies …`` as a subprocess on a copy of the shop ledger
(tests/anomaly_ledger.py): detect (by any dimensions, never duplicating), list as JSON,
show, the triage commands with history, KPIs, errors."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tests.anomaly_ledger import SPIKE, shop_home
from tests.test_cli import ok, records, run_cli


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    copy = tmp_path_factory.mktemp("cli-anomalies")
    shutil.copytree(shop_home(tmp_path_factory), copy, dirs_exist_ok=True)
    detect = ("anomalies", "detect", "--by", "SubAccountId", "--by", "ServiceName")
    assert "7 anomalies found, 7 new" in ok(run_cli(*detect, home=copy))
    return copy


def test_list_prints_the_json_objects(home: Path) -> None:
    found = records("anomalies", "list", home=home)
    assert len(found) == 7
    spike = next(r for r in found if r["kind"] == "cost" and r["start"] == SPIKE[0].isoformat())
    assert spike["scope"] == {"SubAccountId": "111", "ServiceName": "Compute Service"}
    assert (spike["end"], spike["severity"], spike["state"]) == (
        SPIKE[1].isoformat(),
        "medium",
        "open",
    )
    assert isinstance(spike["impact"], float)
    assert spike["drivers"][0]["dimension"] in ("ResourceId", "SkuId")
    assert {"dimension", "value", "share"} <= set(spike["drivers"][0])
    table = ok(run_cli("anomalies", "list", "--kind", "security", home=home))
    assert "new_region" in table
    assert "SubAccountId=222, RegionId=eu-west-1" in table


def test_detect_again_adds_nothing(home: Path) -> None:
    again = json.loads(ok(run_cli("anomalies", "detect", "--format", "json", home=home)))
    assert (again["new"], len(again["updated"])) == ([], 7)
    assert again["dimensions"] == ["SubAccountId", "ServiceName"]


def test_triage_commands_keep_history(home: Path) -> None:
    spike = next(r for r in records("anomalies", "list", "--kind", "cost", home=home)
                 if r["start"] == SPIKE[0].isoformat())  # fmt: skip
    anomaly = str(spike["id"])
    ok(run_cli("anomalies", "ack", anomaly, "--comment", "looking", home=home))
    ok(run_cli("anomalies", "assign", anomaly, "ada", home=home))
    shown = json.loads(ok(run_cli("anomalies", "resolve", anomaly, "--format", "json", home=home)))
    assert (shown["state"], shown["owner"]) == ("resolved", "ada")
    history = [(h["kind"], h["from"], h["to"], h["text"]) for h in shown["history"]]
    assert history == [
        ("detected", None, "open", "detected"),
        ("state", "open", "acknowledged", "looking"),
        ("owner", None, None, "owner - → ada"),
        ("state", "acknowledged", "resolved", ""),
    ]
    assert shown["history"][1]["actor"].startswith("cli:")
    refused = run_cli("anomalies", "ack", anomaly, home=home)
    assert refused.returncode == 1
    assert "it can move to open, not acknowledged" in refused.stderr
    assert records("anomalies", "list", "--state", "resolved", home=home)[0]["id"] == spike["id"]


def test_show_and_scope_and_kpis(home: Path) -> None:
    found = records("anomalies", "list", "--scope", "tag:team=data", home=home)
    assert {r["scope"]["SubAccountId"] for r in found} == {"222"}
    hidden = next(r for r in records("anomalies", "list", home=home)
                  if r["scope"].get("SubAccountId") == "111")  # fmt: skip
    refused = run_cli("anomalies", "show", str(hidden["id"]), "--scope", "tag:team=data", home=home)
    assert refused.returncode == 1
    assert "does not exist" in refused.stderr
    kpis = json.loads(ok(run_cli("anomalies", "kpis", "--format", "json", home=home)))
    assert kpis["anomalies"] == 7
    assert kpis["anomaly_cost_percent"]["USD"] > 0


def test_a_bad_option_is_refused_with_its_name(home: Path) -> None:
    result = run_cli("anomalies", "detect", "--sensitivity", "-1", home=home)
    assert result.returncode == 1
    assert "--sensitivity -1.0" in result.stderr
    result = run_cli("anomalies", "detect", "--by", "Nope", home=home)
    assert result.returncode == 1
    assert "'Nope' is not in the ledger" in result.stderr
