"""Chargeback statements and the GL export against hand-written DuckDB SQL over the ledger's
and the allocation's Parquet files (see tests/chargeback_ledger.py), scopes included; the
GL mapping file's format and its errors."""

from __future__ import annotations

import csv
import io
import re
from collections import defaultdict
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest

from costprism.capabilities.chargeback import (
    UNMAPPED,
    GlMapping,
    GlRow,
    Statement,
    cost_centers,
    gl_csv,
    gl_export,
    gl_mapping_for,
    load_gl_mapping,
    parse_gl_mapping,
    statement,
    statement_csv,
    statement_months,
    store_gl_mapping,
    stored_gl_mapping,
    stored_mapping_path,
)
from costprism.engine.backends import LedgerView, open_ledger
from costprism.engine.filters import parse_filters
from costprism.errors import InputError, QueryError
from costprism.ledger import Ledger
from tests.chargeback_ledger import (
    DESCRIPTIONS,
    MAPPING,
    MONTH,
    HandSql,
    cents,
    chargeback_home,
)

Key = tuple[object, ...]


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return chargeback_home(tmp_path_factory)


@pytest.fixture(scope="module")
def view(home: Path) -> LedgerView:
    return open_ledger(Ledger.at_home(home))


@pytest.fixture(scope="module")
def hand(home: Path) -> Iterator[HandSql]:
    sql = HandSql(home)
    yield sql
    sql.close()


@pytest.fixture(scope="module")
def mapping(home: Path) -> GlMapping:
    stored = stored_gl_mapping(Ledger.at_home(home))
    assert stored is not None
    return stored


def _lines(found: Statement) -> dict[Key, Decimal]:
    return {
        (line.kind, line.service, line.product, line.shared_step, line.gl_account, line.currency):
        line.amount
        for line in found.lines
    }  # fmt: skip


def _hand_lines(
    hand: HandSql, center: str, measure: str = "effective", where: str = "TRUE"
) -> dict[Key, Decimal]:
    direct = hand.rows(
        f"""SELECT 'direct', ServiceName, x_product, NULL, gl_account, BillingCurrency,
            sum({measure}) FROM booked
        WHERE x_cost_center = ? AND x_Shared IS NULL AND {where} GROUP BY ALL""",
        [center],
    )
    shared = hand.rows(
        f"""SELECT 'shared', NULL, NULL, x_Shared, gl_account, BillingCurrency, sum({measure})
        FROM booked WHERE x_cost_center = ? AND x_Shared IS NOT NULL AND {where}
        GROUP BY ALL""",
        [center],
    )
    return {tuple(row[:6]): row[6] for row in [*direct, *shared]}


def test_a_statement_is_the_cost_centers_allocated_rows_by_service_product_and_shared_step(
    view: LedgerView, hand: HandSql, mapping: GlMapping
) -> None:
    found = statement(view, "CC-100", MONTH, gl_mapping=mapping)
    assert found.month == MONTH
    assert (found.dimension, found.basis, found.measure) == (
        "cost_center",
        "effective",
        "EffectiveCost",
    )
    assert found.product_column == "product"  # the rule set has a product dimension
    assert found.rules_version == 1
    assert _lines(found) == _hand_lines(hand, "CC-100")
    assert {line.shared_step for line in found.shared} == {"tax by cost", "platform overhead"}
    assert found.direct
    assert all(line.shared_step is None for line in found.direct)
    # each shared line names its step and how it split the pool
    overhead = next(line for line in found.shared if line.shared_step == "platform overhead")
    assert overhead.rule is not None
    assert "fixed weights CC-100 50%, CC-200 30%, CC-900 20%" in overhead.rule
    tax = next(line for line in found.shared if line.shared_step == "tax by cost")
    assert tax.rule is not None
    assert "in proportion" in tax.rule
    assert [s["name"] for s in found.shared_steps] == ["tax by cost", "platform overhead"]
    # the lines carry the mapping's accounts and descriptions
    assert {line.gl_account for line in found.lines} <= set(DESCRIPTIONS)
    assert all(DESCRIPTIONS[line.gl_account] == line.gl_description for line in found.lines)
    # direct lines first, then shared ones
    kinds = [line.kind for line in found.lines]
    assert kinds == sorted(kinds, key=lambda k: k != "direct")


def test_totals_are_per_currency_and_match_the_ledger(view: LedgerView, hand: HandSql) -> None:
    for center in ("CC-100", "CC-200", "CC-900", "(unallocated)"):
        found = statement(view, center, MONTH)
        expected = dict(
            hand.rows(
                "SELECT BillingCurrency, sum(effective) FROM booked WHERE x_cost_center = ? "
                "GROUP BY 1",
                [center],
            )
        )
        assert {t.currency: t.total for t in found.totals} == expected
        for total in found.totals:
            shared = sum(
                (line.amount for line in found.shared if line.currency == total.currency),
                Decimal(0),
            )
            assert total.shared == shared
    # CC-300 (platform) passed everything on: no statement lines remain
    assert statement(view, "CC-300", MONTH).lines == ()
    currencies = {t.currency for t in statement(view, "CC-100", MONTH).totals}
    assert currencies == {"USD", "EUR"}  # never summed across currencies


def test_the_billed_basis_sums_billed_cost(
    view: LedgerView, hand: HandSql, mapping: GlMapping
) -> None:
    found = statement(view, "CC-200", MONTH, basis="billed", gl_mapping=mapping)
    assert found.measure == "BilledCost"
    assert _lines(found) == _hand_lines(hand, "CC-200", measure="billed")
    effective = statement(view, "CC-200", MONTH, gl_mapping=mapping)
    assert _lines(found) != _lines(effective)


def test_any_dimension_can_hold_cost_centers_and_the_product_column_is_configurable(
    view: LedgerView, hand: HandSql
) -> None:
    found = statement(view, "payments", MONTH, dimension_name="team", product="tag:Environment")
    assert (found.dimension, found.product_column) == ("team", "tag:Environment")
    expected = hand.rows(
        """SELECT ServiceName, list_filter(map_entries(Tags), e -> lower(replace(replace(
                e.key, '-', ''), '_', '')) = 'environment')[1].value,
            BillingCurrency, sum(effective)
        FROM allocated WHERE x_team = 'payments' AND x_Shared IS NULL
        AND BillingPeriodStart = TIMESTAMPTZ '2026-05-01 00:00:00+00' GROUP BY ALL"""
    )
    assert {(line.service, line.product, line.currency): line.amount for line in found.direct} == {
        tuple(row[:3]): row[3] for row in expected
    }
    assert {line.gl_account for line in found.lines} == {UNMAPPED}  # no mapping given


def test_a_scoped_caller_sees_exactly_the_allocated_rows_of_its_scope(
    view: LedgerView, hand: HandSql, mapping: GlMapping
) -> None:
    scope = parse_filters(["product=checkout"])
    for center in ("CC-100", "CC-200", "CC-900"):
        found = statement(view, center, MONTH, gl_mapping=mapping, scope=scope)
        assert _lines(found) == _hand_lines(hand, center, where="x_product = 'checkout'")
    # checkout's tax moved to CC-200 by the tax step: shared lines only, all of them tax
    other = statement(view, "CC-200", MONTH, gl_mapping=mapping, scope=scope)
    assert other.lines
    assert {line.shared_step for line in other.lines} == {"tax by cost"}
    assert cost_centers(view, MONTH, scope=scope) == ["CC-100", "CC-200", "CC-900"]
    assert statement_months(view, scope) == [MONTH]
    nobody = parse_filters(["product=nothing"])
    assert statement(view, "CC-100", MONTH, scope=nobody).lines == ()
    assert cost_centers(view, MONTH, scope=nobody) == []


def test_the_gl_export_sums_every_cost_center_per_account_and_currency(
    view: LedgerView, hand: HandSql, mapping: GlMapping
) -> None:
    rows = gl_export(view, MONTH, gl_mapping=mapping)
    expected = hand.rows(
        "SELECT x_cost_center, gl_account, BillingCurrency, sum(effective) FROM booked GROUP BY ALL"
    )
    assert {(r.cost_center, r.gl_account, r.currency): r.amount for r in rows} == {
        tuple(row[:3]): row[3] for row in expected
    }
    assert all(r.period == MONTH for r in rows)
    assert all(r.description == DESCRIPTIONS[r.gl_account] for r in rows)
    assert rows[-1].cost_center == "(unallocated)"  # listed last, so the export adds up
    ledger_total = dict(
        hand.rows(
            "SELECT BillingCurrency, sum(EffectiveCost) FROM costs WHERE BillingPeriodStart = "
            "TIMESTAMPTZ '2026-05-01 00:00:00+00' GROUP BY 1"
        )
    )
    exported: dict[str, Decimal] = defaultdict(Decimal)
    for row in rows:
        exported[row.currency] += row.amount
    for currency, total in ledger_total.items():
        # shares are exact to 12 places; the parts of a row add up to within rounding
        assert abs(exported[currency] - total) < Decimal("0.000001")

    # the CSV: the six columns, amounts to the cent
    table = list(csv.DictReader(io.StringIO(gl_csv(rows))))
    assert list(table[0]) == ["period", "cost_center", "gl_account", "amount", "currency",
                              "description"]  # fmt: skip
    assert [Decimal(r["amount"]) for r in table] == [cents(r.amount) for r in rows]


def test_the_gl_export_of_a_scoped_caller_holds_only_its_rows(
    view: LedgerView, hand: HandSql, mapping: GlMapping
) -> None:
    scope = parse_filters(["product=checkout"])
    rows = gl_export(view, MONTH, gl_mapping=mapping, scope=scope, basis="billed")
    expected = hand.rows(
        "SELECT x_cost_center, gl_account, BillingCurrency, sum(billed) FROM booked "
        "WHERE x_product = 'checkout' GROUP BY ALL"
    )
    assert {(r.cost_center, r.gl_account, r.currency): r.amount for r in rows} == {
        tuple(row[:3]): row[3] for row in expected
    }
    assert "(unallocated)" not in {r.cost_center for r in rows}


def test_the_gl_export_by_another_dimension(view: LedgerView, hand: HandSql) -> None:
    rows = gl_export(view, MONTH, dimension_name="team")
    expected = hand.rows("SELECT x_team, BillingCurrency, sum(effective) FROM booked GROUP BY ALL")
    assert {(r.cost_center, r.currency): r.amount for r in rows} == {
        tuple(row[:2]): row[2] for row in expected
    }
    assert {r.gl_account for r in rows} == {UNMAPPED}


def test_bad_requests_name_the_fix(view: LedgerView, sample_view: LedgerView) -> None:
    with pytest.raises(InputError, match="write YYYY-MM") as month:
        statement(view, "CC-100", "2026-5")
    assert month.value.code == "chargeback.bad_month"
    with pytest.raises(InputError, match="write YYYY-MM"):
        gl_export(view, "2026-13")
    with pytest.raises(InputError, match="effective, billed") as basis:
        statement(view, "CC-100", MONTH, basis="list")
    assert basis.value.code == "chargeback.bad_basis"
    with pytest.raises(QueryError, match="team, cost_center, product") as dimension:
        statement(view, "CC-100", MONTH, dimension_name="department")
    assert dimension.value.code == "chargeback.unknown_dimension"
    with pytest.raises(InputError, match="rules apply") as none:
        statement(sample_view, "CC-100", MONTH)  # the sample ledger has no rules applied
    assert none.value.code == "rules.none"
    assert statement(view, "CC-999", MONTH).lines == ()  # a value with no rows: empty


# --- the GL mapping file -------------------------------------------------------------------


def test_the_mapping_format(monkeypatch: pytest.MonkeyPatch) -> None:
    parsed = parse_gl_mapping(MAPPING, "gl.csv")
    assert [e.account for e in parsed.entries] == ["6900", "6110", "6500", "6100", "6200"]
    assert [str(f) for f in parsed.entries[1].filters] == [
        "ServiceCategory=Compute", "ProviderName=AWS",
    ]  # fmt: skip
    assert parsed.entries[4].line == 6
    assert (parsed.default_account, parsed.default_description) == ("6000", "Other cloud services")
    # description may be left out, columns in any order, a BOM is fine
    short = parse_gl_mapping("\ufeffgl_account,filter\n7000,RegionId=us-east-1\n")
    assert short.entries[0].description == ""
    assert short.default_account == UNMAPPED
    monkeypatch.setenv("COSTPRISM_GL_DEFAULT_ACCOUNT", "9999")
    assert parse_gl_mapping("filter,gl_account\nRegionId=x,1\n").default_account == "9999"
    # blank lines are skipped and lines are counted as in the file
    spaced = parse_gl_mapping("filter,gl_account\n\nRegionId=x,1\n\n*,2\n")
    assert spaced.entries[0].line == 3


@pytest.mark.parametrize(
    ("text", "where", "says"),
    [
        ("", "m.csv:1:1", "the file is empty"),
        ("filter,account\n", "m.csv:1:2", "unknown column 'account'"),
        ("filter,gl_account,filter\n", "m.csv:1:3", "appears twice"),
        ("filter,description\n", "m.csv:1:1", "lacks 'gl_account'"),
        ("filter,gl_account\n,6100\n", "m.csv:2:1", "the filter is empty"),
        ("filter,gl_account\nRegionId=x,\n", "m.csv:2:2", "gl_account is empty"),
        ("gl_account,filter\n1,RegionId ~ x\n", "m.csv:2:2", "is not understood"),
        ("filter,gl_account\nServiceName in (a, b),1\n", "m.csv:2:3", "quote a value"),
        ("filter,gl_account\n*,1\nRegionId=x,2\n", "m.csv:3:1", "move '*' to the end"),
    ],
)
def test_mapping_errors_name_file_line_column_and_fix(text: str, where: str, says: str) -> None:
    with pytest.raises(InputError, match=re.escape(says)) as caught:
        parse_gl_mapping(text, "m.csv")
    assert caught.value.message.startswith(f"{where}: ")
    assert caught.value.code == "chargeback.bad_mapping"


def test_a_filter_on_an_unknown_column_is_refused_with_its_line(view: LedgerView) -> None:
    mapping = parse_gl_mapping("gl_account,filter\n1,RegionId=x\n2,Nope=y\n", "m.csv")
    with pytest.raises(InputError, match=r"m\.csv:3:2: filter 'Nope=y': column 'Nope'") as caught:
        statement(view, "CC-100", MONTH, gl_mapping=mapping)
    assert caught.value.code == "chargeback.bad_mapping"


def test_the_mapping_is_stored_in_the_ledger_only_when_it_is_good(tmp_path: Path) -> None:
    ledger = Ledger.at_home(tmp_path / "home")
    assert stored_gl_mapping(ledger) is None
    good = tmp_path / "good.csv"
    good.write_text(MAPPING, encoding="utf-8")
    store_gl_mapping(ledger, good)
    assert stored_mapping_path(ledger) == ledger.root / "chargeback" / "gl-mapping.csv"
    assert stored_mapping_path(ledger).read_text(encoding="utf-8") == MAPPING
    bad = tmp_path / "bad.csv"
    bad.write_text("filter,gl_account\nRegionId=x,\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"bad\.csv:2:2"):
        store_gl_mapping(ledger, bad)
    kept = stored_gl_mapping(ledger)
    assert kept is not None
    assert kept.text == MAPPING
    # a file given wins over the stored one
    other = tmp_path / "other.csv"
    other.write_text("filter,gl_account\n*,1\n", encoding="utf-8")
    chosen = gl_mapping_for(ledger, other)
    assert chosen is not None
    assert chosen.default_account == "1"
    with pytest.raises(InputError, match="can't read the GL mapping"):
        load_gl_mapping(tmp_path / "missing.csv")


def test_csv_text_that_a_spreadsheet_would_run_is_defused(
    view: LedgerView, mapping: GlMapping
) -> None:
    row = GlRow(period=MONTH, cost_center="=cmd()", gl_account="1", amount=Decimal("-1.005"),
                currency="USD", description="@SUM(A1)")  # fmt: skip
    (line,) = list(csv.reader(io.StringIO(gl_csv([row]))))[1:]
    assert line == [MONTH, "'=cmd()", "1", "-1.00", "USD", "'@SUM(A1)"]
    found = statement(view, "CC-100", MONTH, gl_mapping=mapping)
    table = list(csv.DictReader(io.StringIO(statement_csv(found))))
    assert len(table) == len(found.lines)
    assert sum(Decimal(r["amount"]) for r in table) == sum(t.total for t in found.totals)
