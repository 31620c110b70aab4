"""``GET /api/v1/chargeback/statement`` and ``/chargeback/gl-export`` on the chargeback
ledger (tests/chargeback_ledger.py): the numbers of hand-written SQL, and a caller scoped to
``product=checkout`` sees exactly the allocated rows of that product."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from costprism.capabilities.access import add_user, create_token
from costprism.server import ServerConfig, create_app
from tests.chargeback_ledger import (
    DESCRIPTIONS,
    MONTH,
    ChargebackSite,
    HandSql,
    cents,
    chargeback_site,
)

STATEMENT = "/api/v1/chargeback/statement"
GL_EXPORT = "/api/v1/chargeback/gl-export"


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> ChargebackSite:
    return chargeback_site(tmp_path_factory)


@pytest.fixture(scope="module")
def hand(site: ChargebackSite) -> Iterator[HandSql]:
    sql = HandSql(site.home)
    yield sql
    sql.close()


def _line_sums(record: dict[str, object]) -> dict[tuple[object, ...], float]:
    lines = record["lines"]
    assert isinstance(lines, list)
    return {
        (line["kind"], line["service"], line["product"], line["shared_step"],
         line["gl_account"], line["currency"]): line["amount"]
        for line in lines
    }  # fmt: skip


def _hand_lines(hand: HandSql, center: str, where: str = "TRUE") -> dict[tuple[object, ...], float]:
    rows = hand.rows(
        f"""SELECT CASE WHEN x_Shared IS NULL THEN 'direct' ELSE 'shared' END,
            CASE WHEN x_Shared IS NULL THEN ServiceName END,
            CASE WHEN x_Shared IS NULL THEN x_product END,
            x_Shared, gl_account, BillingCurrency, sum(effective)
        FROM booked WHERE x_cost_center = ? AND {where} GROUP BY ALL""",
        [center],
    )
    return {tuple(row[:6]): float(row[6]) for row in rows}


def test_a_statement_as_json(site: ChargebackSite, hand: HandSql) -> None:
    response = site.api("cb-finance").get(
        STATEMENT, params={"cost_center": "CC-200", "month": MONTH}
    )
    assert response.status_code == 200, response.text
    found = response.json()
    assert (found["dimension"], found["cost_center"], found["month"]) == (
        "cost_center", "CC-200", MONTH,
    )  # fmt: skip
    assert found["gl_mapping"] == "<ledger>/chargeback/gl-mapping.csv"
    assert _line_sums(found) == pytest.approx(_hand_lines(hand, "CC-200"))
    assert all(
        DESCRIPTIONS[line["gl_account"]] == line["gl_description"] for line in found["lines"]
    )
    assert {s["name"] for s in found["shared_steps"]} == {"tax by cost", "platform overhead"}

    billed = site.api("cb-finance").get(
        STATEMENT, params={"cost_center": "payments", "month": MONTH, "dimension": "team",
                           "basis": "billed"},
    ).json()  # fmt: skip
    assert (billed["dimension"], billed["measure"]) == ("team", "BilledCost")


def test_a_scoped_caller_sees_only_its_products_rows(site: ChargebackSite, hand: HandSql) -> None:
    api = site.api("cb-checkout")
    for center in ("CC-100", "CC-200", "CC-300", "(unallocated)"):
        found = api.get(STATEMENT, params={"cost_center": center, "month": MONTH}).json()
        assert _line_sums(found) == pytest.approx(
            _hand_lines(hand, center, "x_product = 'checkout'")
        )
    everything = (
        site.api("cb-finance")
        .get(STATEMENT, params={"cost_center": "CC-100", "month": MONTH})
        .json()
    )
    scoped = api.get(STATEMENT, params={"cost_center": "CC-100", "month": MONTH}).json()
    assert scoped["totals"][0]["total"] < everything["totals"][0]["total"]


def test_the_gl_export_is_csv_within_the_callers_scope(site: ChargebackSite, hand: HandSql) -> None:
    for user, where in (("cb-finance", "TRUE"), ("cb-checkout", "x_product = 'checkout'")):
        response = site.api(user).get(GL_EXPORT, params={"month": MONTH})
        assert response.status_code == 200, response.text
        assert response.headers["content-type"].startswith("text/csv")
        assert 'filename="costprism-gl-2026-05.csv"' in response.headers["content-disposition"]
        rows = list(csv.DictReader(io.StringIO(response.text)))
        expected = hand.rows(
            "SELECT x_cost_center, gl_account, BillingCurrency, sum(effective) FROM booked "
            f"WHERE {where} GROUP BY ALL"
        )
        assert {(r["cost_center"], r["gl_account"], r["currency"]): Decimal(r["amount"])
                for r in rows} == {tuple(e[:3]): cents(e[3]) for e in expected}  # fmt: skip
        assert {r["period"] for r in rows} == {MONTH}


@pytest.mark.parametrize(
    ("path", "params", "code"),
    [
        (STATEMENT, {"cost_center": "CC-100", "month": "2026-5"}, "chargeback.bad_month"),
        (STATEMENT, {"cost_center": "CC-100", "month": MONTH, "basis": "list"},
         "chargeback.bad_basis"),
        (STATEMENT, {"cost_center": "CC-100", "month": MONTH, "dimension": "dept"},
         "chargeback.unknown_dimension"),
        (GL_EXPORT, {"month": "May 2026"}, "chargeback.bad_month"),
        (STATEMENT, {"month": MONTH}, "request.invalid"),
    ],
)  # fmt: skip
def test_bad_parameters_are_400_with_the_code(
    site: ChargebackSite, path: str, params: dict[str, str], code: str
) -> None:
    response = site.api("cb-finance").get(path, params=params)
    assert response.status_code == (422 if code == "request.invalid" else 400)
    assert response.json()["error"]["code"] == code


def test_callers_must_sign_in(site: ChargebackSite) -> None:
    for path in (STATEMENT, GL_EXPORT):
        response = site.api().get(path, params={"cost_center": "CC-100", "month": MONTH})
        assert response.status_code == 401


def test_the_gl_export_needs_a_stored_mapping(tmp_path: Path) -> None:
    app = create_app(ServerConfig.load(tmp_path, database_url=f"sqlite:///{tmp_path / 'm.db'}"))
    try:
        db = app.state.services.db
        add_user(db, actor=None, username="fin", roles=["finance"])
        _, token = create_token(db, "fin", actor=None, name="t")
        client = TestClient(app, headers={"Authorization": f"Bearer {token}"})
        response = client.get(GL_EXPORT, params={"month": MONTH})
        assert response.status_code == 400
        assert response.json()["error"]["code"] == "chargeback.no_mapping"
        assert "gl-mapping apply" in response.json()["error"]["message"]
    finally:
        app.state.services.close()
