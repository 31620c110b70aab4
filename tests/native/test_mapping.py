"""The native mapping framework: SQL built from rules, unread columns kept, detection, and
bad native input refused with the file, line, column and value, storing nothing."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from costprism.errors import InputError, ValidationFailed
from costprism.ingest.pipeline import IngestOptions, ingest, validate
from costprism.ledger import Ledger
from costprism.native import (
    FORMATS,
    NativeFormat,
    Rule,
    attempts,
    extension_name,
    format_named,
    mapping_table,
    match_format,
    native_relation,
)
from costprism.native.aws import CUR
from tests.ingest.conftest import ledger_state
from tests.native.fixture_pairs import csv_header, rewrite_cells

AWS = Path(__file__).resolve().parents[1] / "data" / "aws"
TOY = NativeFormat(
    name="toy",
    provider="Toy",
    title="Toy export",
    required=("Cost", "Day"),
    rules=(
        Rule(column="BilledCost", sql="`Cost`", explain="as is"),
        Rule(column="EffectiveCost", sql="`Cost` - coalesce(`Discount`, 0)", explain="net"),
        Rule(column="ChargePeriodStart", sql="`Day`", explain="as UTC"),
    ),
    numbers=frozenset({"Cost", "Discount"}),
    times={"Day": ("%d.%m.%Y",)},
)


def _rows(sql: str) -> list[dict[str, object]]:
    connection = duckdb.connect()
    connection.execute("SET TimeZone = 'UTC'")
    result = connection.execute(f"SELECT * FROM {sql}")
    names = [d[0] for d in result.description]
    return [dict(zip(names, row, strict=True)) for row in result.fetchall()]


def test_rules_read_typed_source_columns_and_absent_ones_as_null() -> None:
    source = "(SELECT '12.50' AS cost, '03.09.2024' AS DAY, 'x' AS \"Region Name\")"
    relation = native_relation(TOY, ["cost", "DAY", "Region Name"], source)
    (row,) = _rows(relation.sql)
    assert str(row["BilledCost"]) == "12.500000000000"
    assert str(row["EffectiveCost"]) == "12.500000000000"  # Discount is absent: null → 0
    assert row["ChargePeriodStart"].isoformat() == "2024-09-03T00:00:00+00:00"
    assert row["ListCost"] is None  # no rule
    assert row["x_Region_Name"] == "x"  # unread columns are kept, never dropped
    assert row["raw:cost"] == "12.50"
    assert row["bad:cost"] is False
    assert relation.extras == (("x_Region_Name", "Region Name"),)
    assert relation.sources["EffectiveCost"] == ("cost",)


def test_an_unparseable_number_or_time_raises_its_bad_flag() -> None:
    source = "(SELECT '12,50 €' AS Cost, '2024-09-03' AS Day)"
    (row,) = _rows(native_relation(TOY, ["Cost", "Day"], source).sql)
    assert row["BilledCost"] is None
    assert row["bad:Cost"] is True
    assert row["bad:Day"] is True


def test_extension_names_are_safe_and_unique() -> None:
    assert extension_name("lineItem/UsageType") == "x_lineItem_UsageType"
    assert extension_name("Deducted By Coupons") == "x_Deducted_By_Coupons"
    relation = native_relation(TOY, ["Cost", "Day", "a b", "a/b", "x_a_b"], "(SELECT 1)")
    names = [name for name, _ in relation.extras]
    assert len(set(names)) == len(names) == 3


def test_a_format_refuses_rules_for_unknown_or_repeated_columns() -> None:
    with pytest.raises(ValueError, match=r"not a FOCUS 1\.2 column"):
        NativeFormat(
            name="bad", provider="X", title="X", required=(),
            rules=(Rule(column="Cost", sql="1", explain="x"),),
        )  # fmt: skip
    with pytest.raises(ValueError, match="two rules"):
        NativeFormat(
            name="bad", provider="X", title="X", required=(),
            rules=(Rule(column="BilledCost", sql="1", explain="x"),) * 2,
        )  # fmt: skip


def test_every_format_has_a_unique_name_and_maps_the_key_columns() -> None:
    names = [native.name for native in FORMATS]
    assert len(names) == len(set(names))
    key = {"BilledCost", "EffectiveCost", "ListCost", "ContractedCost", "BillingAccountId"}
    key |= {"BillingCurrency", "BillingPeriodStart", "BillingPeriodEnd", "ChargeCategory"}
    key |= {"ChargePeriodStart", "ChargePeriodEnd", "ProviderName", "ServiceName"}
    for native in FORMATS:
        assert key <= {rule.column for rule in native.rules}, native.name
        assert native.required, native.name
        assert "| BilledCost |" in mapping_table(native)


def test_detection_picks_the_format_whose_columns_are_all_there() -> None:
    header = csv_header(AWS / "cur-legacy.csv")
    assert match_format(header) is CUR
    assert match_format(header[:5]) is None
    closest = attempts([h for h in header if h != "lineItem/UsageStartDate"])[0]
    assert (closest.name, closest.missing) == ("aws-cur", ("lineItem/UsageStartDate",))


def test_an_unknown_format_name_lists_the_known_ones() -> None:
    assert format_named("focus") is None
    with pytest.raises(InputError, match="aws-cur2") as caught:
        format_named("aws-cur3")
    assert caught.value.code == "input.bad_option"


@pytest.fixture
def loaded(tmp_path: Path) -> Ledger:
    ledger = Ledger.at_home(tmp_path / "home")
    ingest([AWS / "cur-legacy.csv"], ledger, IngestOptions(source="aws"))
    return ledger


def test_a_bad_cost_names_file_line_column_and_value_and_stores_nothing(
    loaded: Ledger, tmp_path: Path
) -> None:
    before = ledger_state(loaded)
    bad = rewrite_cells(
        AWS / "cur-legacy.csv", tmp_path / "bad.csv", {(4, "lineItem/UnblendedCost"): "1,5"}
    )
    with pytest.raises(ValidationFailed) as caught:
        ingest([bad], loaded, IngestOptions(source="aws"))
    found = [f for f in caught.value.findings if f.rule == "bad-decimal"]
    assert [(f.file, f.line, f.column, f.value) for f in found] == [
        (str(bad), 4, "lineItem/UnblendedCost", "1,5")
    ]
    assert "plain decimals" in found[0].hint
    assert ledger_state(loaded) == before


def test_a_bad_date_is_an_error_on_its_source_column(tmp_path: Path) -> None:
    bad = rewrite_cells(
        AWS / "cur-legacy.csv", tmp_path / "bad.csv", {(3, "lineItem/UsageStartDate"): "tomorrow"}
    )
    result = validate([bad], IngestOptions(source="aws"))
    found = [
        (f.line, f.column, f.value) for f in result.report.examples if f.rule == "bad-datetime"
    ]
    assert found == [(3, "lineItem/UsageStartDate", "tomorrow")]


def test_an_empty_key_column_names_the_source_it_comes_from(tmp_path: Path) -> None:
    bad = rewrite_cells(
        AWS / "cur-legacy.csv", tmp_path / "bad.csv", {(2, "bill/PayerAccountId"): ""}
    )
    result = validate([bad], IngestOptions(source="aws"))
    (found,) = [f for f in result.report.examples if f.rule == "not-null"]
    assert (found.line, found.column) == (2, "BillingAccountId")
    assert "from bill/PayerAccountId" in found.message


def test_a_column_set_from_no_known_format_lists_what_the_closest_lacks(
    loaded: Ledger, tmp_path: Path
) -> None:
    before = ledger_state(loaded)
    header = [h for h in csv_header(AWS / "cur-legacy.csv") if h != "lineItem/CurrencyCode"]
    path = tmp_path / "odd.csv"
    path.write_text(",".join(header) + "\n" + ",".join("1" for _ in header) + "\n")
    with pytest.raises(InputError) as caught:
        ingest([path], loaded, IngestOptions(source="aws"))
    message = str(caught.value)
    assert caught.value.code == "input.missing_columns"
    assert f"{path}:1: the header matches no known format" in message
    assert "the closest is aws-cur, which lacks lineItem/CurrencyCode" in message
    assert "formats tried: FOCUS 1.0–1.3, aws-cur" in message
    assert ledger_state(loaded) == before


def test_duplicated_native_header_names_are_refused(loaded: Ledger, tmp_path: Path) -> None:
    before = ledger_state(loaded)
    text = (AWS / "cur-legacy.csv").read_text(encoding="utf-8").splitlines()
    path = tmp_path / "dup.csv"
    path.write_text(
        "\n".join(line + (",x" if i else ",lineItem/unblendedcost") for i, line in enumerate(text))
        + "\n",
        encoding="utf-8",
    )
    with pytest.raises(InputError, match=r"repeats column.*lineItem/UnblendedCost") as caught:
        ingest([path], loaded, IngestOptions(source="aws"))
    assert caught.value.code == "input.duplicate_columns"
    assert ledger_state(loaded) == before


def test_a_semicolon_separated_export_is_refused(loaded: Ledger, tmp_path: Path) -> None:
    before = ledger_state(loaded)
    text = (AWS / "cur-legacy.csv").read_text(encoding="utf-8")
    path = tmp_path / "semi.csv"
    path.write_text(next(iter(text.splitlines())).replace(",", ";") + "\n1;2\n", encoding="utf-8")
    with pytest.raises(InputError, match="separated by ';'") as caught:
        ingest([path], loaded, IngestOptions(source="aws"))
    assert caught.value.code == "input.delimiter"
    assert ledger_state(loaded) == before


def test_a_forced_format_must_fit_thecsv_header(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"missing columns for AWS CUR 2\.0") as caught:
        validate([AWS / "cur-legacy.csv"], IngestOptions(source="x", input_format="aws-cur2"))
    assert caught.value.code == "input.missing_columns"
    result = validate([AWS / "cur-legacy.csv"], IngestOptions(source="x", input_format="aws-cur"))
    assert [f.source_format for f in result.files] == ["aws-cur"]


def test_a_focus_file_forced_as_focus_keeps_the_focus_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="missing mandatory columns for FOCUS"):
        validate([AWS / "cur-legacy.csv"], IngestOptions(source="x", input_format="focus"))


def test_files_of_two_layouts_in_one_import_get_distinct_row_ids(tmp_path: Path) -> None:
    ledger = Ledger.at_home(tmp_path / "home")
    result = ingest([AWS / "cur-legacy.csv", AWS / "cur2.csv"], ledger, IngestOptions(source="a"))
    assert [f.source_format for f in result.files] == ["aws-cur", "aws-cur2"]
    files, _ = ledger.costs.files()
    listed = ", ".join(f"'{f}'" for f in files)
    ids = duckdb.sql(f"SELECT x_RowId FROM read_parquet([{listed}], union_by_name = true)")
    row_ids = [r[0] for r in ids.fetchall()]
    assert len(row_ids) == len(set(row_ids)) == 30
