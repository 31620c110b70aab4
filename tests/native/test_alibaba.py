"""Alibaba Cloud bill details: detection of both header languages, the Chinese rules derived
from the English ones, older header spellings, the tag text, and bad numbers."""

from __future__ import annotations

import csv
import io
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import pytest

from costprism.errors import ValidationFailed
from costprism.ingest.pipeline import IngestOptions, ingest
from costprism.ledger import Ledger
from costprism.native import alibaba
from costprism.native.registry import format_named, match_format
from tests.native.fixture_pairs import DATA, ledger_rows

FOLDER = DATA / "alibaba"


def _table(path: Path) -> tuple[list[str], list[list[str]]]:
    with path.open(newline="", encoding="utf-8-sig") as handle:
        rows = list(csv.reader(handle))
    return rows[0], rows[1:]


def _write(path: Path, header: list[str], rows: list[list[str]], *, bom: bool = False) -> Path:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(buffer.getvalue(), encoding="utf-8-sig" if bom else "utf-8")
    return path


def _import(path: Path, home: Path) -> tuple[str, list[dict[str, Any]]]:
    ledger = Ledger.at_home(home)
    result = ingest([path], ledger, IngestOptions(source="alibaba"))
    return result.files[0].source_format, ledger_rows(ledger)


# --- detection ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fixture", "name"),
    [
        ("bill-en.csv", "alibaba-bill"),
        ("bill-en-daily.csv", "alibaba-bill"),
        ("bill-zh.csv", "alibaba-bill-zh"),
    ],
)
def test_each_header_language_is_detected(fixture: str, name: str) -> None:
    header, _ = _table(FOLDER / fixture)
    found = match_format(header)
    assert found is not None
    assert found.name == name


def test_the_2019_english_billing_item_header_is_detected() -> None:
    """The OSS-delivered ``BillingItemDetail`` of 2019: no Pretax Amount, no Currency."""
    line = (
        "Billing Cycle,Cost Center,Account ID,Account Name,Owner Account ID,Owner Account Name,"
        "Product Code,Product Name,Product Type,Product Detail,Subscription Type,Payment Time,"
        "Usage Start Time,Usage End Time,Service Duration,Order No./Bill No.,Item,Billing Type,"
        "Instance ID,Instance Name,Resource Group,Instance Tag,Instance Config,Instance Spec,"
        "Internet IP,Intranet IP,Region,Zone,Billing Item,List Price,List Price Unit,Usage,"
        "Usage Unit,Deducted By Resource Package,Pretax Gross Amount,Invoice Discount,"
        "Deducted By Coupons"
    )
    assert match_format(next(csv.reader([line]))) is alibaba.ENGLISH


def test_header_names_are_matched_without_regard_to_case() -> None:
    header = ["billing cycle", "ACCOUNT ID", "Product code", "subscription type"]
    assert match_format([*header, "pretax gross amount"]) is alibaba.ENGLISH


def test_a_chinese_header_is_not_taken_for_english_and_back() -> None:
    english, _ = _table(FOLDER / "bill-en.csv")
    chinese, _ = _table(FOLDER / "bill-zh.csv")
    assert alibaba.ENGLISH.missing(chinese)
    assert alibaba.CHINESE_FORMAT.missing(english)


# --- one rule list, two languages -------------------------------------------------------------


def test_the_chinese_rules_are_the_english_rules_translated() -> None:
    english = {rule.column: rule for rule in alibaba.ENGLISH.rules}
    chinese = {rule.column: rule for rule in alibaba.CHINESE_FORMAT.rules}
    assert list(english) == list(chinese)
    translated = {n for names in alibaba.CHINESE.values() for n in names}
    untranslated = set(alibaba.CHINESE)
    for column, rule in chinese.items():
        assert not set(rule.sources()) & untranslated, column
        if column not in ("BillingCurrency", "PricingCurrency"):
            assert {n for s in english[column].sources() for n in alibaba.chinese(s)} == set(
                rule.sources()
            ), column
    assert set(alibaba.CHINESE_FORMAT.referenced()) <= translated
    assert set(alibaba.CHINESE_FORMAT.numbers) == {
        n for name in alibaba.ENGLISH.numbers for n in alibaba.chinese(name)
    }


def test_a_bill_reads_the_same_in_either_language(tmp_path: Path) -> None:
    """The English fixture with its header translated gives the same FOCUS rows (the values
    stay English, which the rules accept in both languages; only the currency default and
    the x_ names differ)."""
    header, rows = _table(FOLDER / "bill-en.csv")
    translated = [alibaba.chinese(name)[0] for name in header]
    zh = _write(tmp_path / "zh" / "bill.csv", translated, rows, bom=True)
    en_format, en_rows = _import(FOLDER / "bill-en.csv", tmp_path / "en-home")
    zh_format, zh_rows = _import(zh, tmp_path / "zh-home")
    assert (en_format, zh_format) == ("alibaba-bill", "alibaba-bill-zh")
    compared = [rule.column for rule in alibaba.ENGLISH.rules]
    assert len(en_rows) == len(zh_rows) == len(rows)
    for en, zh_row in zip(en_rows, zh_rows, strict=True):
        assert {c: en[c] for c in compared} == {c: zh_row[c] for c in compared}


def test_older_chinese_exports_spell_the_gross_amount_yuanjia(tmp_path: Path) -> None:
    header = ["账期", "账号ID", "产品Code", "消费类型", "原价", "优惠金额", "应付金额"]
    path = _write(tmp_path / "old.csv", header, [["2024-09", "1", "ecs", "后付费", "10", "2", "8"]])
    name, rows = _import(path, tmp_path / "home")
    assert name == "alibaba-bill-zh"
    assert (rows[0]["ListCost"], rows[0]["ContractedCost"], rows[0]["BilledCost"]) == (
        Decimal(10),
        Decimal(8),
        Decimal(8),
    )
    assert rows[0]["BillingCurrency"] == "CNY"


def test_without_a_pretax_amount_the_payable_amount_is_worked_out(tmp_path: Path) -> None:
    header = [
        "Billing Cycle",
        "Account ID",
        "Product Code",
        "Subscription Type",
        "Pretax Gross Amount",
        "Invoice Discount",
        "Deducted By Coupons",
    ]
    path = _write(
        tmp_path / "2019.csv", header, [["2019-07", "1", "ecs", "PayAsYouGo", "10", "1", "2"]]
    )
    _, rows = _import(path, tmp_path / "home")
    row = rows[0]
    assert (row["BilledCost"], row["ContractedCost"], row["ListCost"]) == (
        Decimal(7),
        Decimal(9),
        Decimal(10),
    )
    assert (row["BillingCurrency"], row["ChargeCategory"]) == ("USD", "Usage")
    assert row["BillingPeriodStart"].isoformat() == "2019-07-01T00:00:00+00:00"
    assert row["ChargePeriodEnd"].isoformat() == "2019-08-01T00:00:00+00:00"


# --- tags -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "tags"),
    [
        ("key:env value:prod; key:team value:payments", {"env": "prod", "team": "payments"}),
        ("env:prod;team:payments", {"env": "prod", "team": "payments"}),
        ("key:url value:https://x.example:8443/a", {"url": "https://x.example:8443/a"}),
        ("url:https://x.example:8443/a", {"url": "https://x.example:8443/a"}),
        ("key:acs:rm:rgId value:rg-1", {"acs:rm:rgId": "rg-1"}),
        ('key:note value:a = b, "c"', {"note": 'a = b, "c"'}),
        ("key:部门 value:数据平台; 项目:账单:迁移", {"部门": "数据平台", "项目": "账单:迁移"}),
        ("key:env value:dev; key:env value:test", {"env": "test"}),
        ("key:env value:", {"env": ""}),
        ("  env : prod ;; ", {"env": "prod"}),
        ("standalone", {"standalone": ""}),
        (":orphan", None),
        ("; ;", None),
        ("", None),
        (None, None),
    ],
)
def test_tag_text_becomes_a_map(text: str | None, tags: dict[str, str] | None) -> None:
    connection = duckdb.connect()
    sql = alibaba._tags("t").replace("`", "")
    found = connection.execute(f"SELECT {sql} FROM (SELECT ?::VARCHAR AS t)", [text]).fetchone()
    assert found is not None
    assert found[0] == tags


def test_tags_reach_the_ledger_as_a_map(tmp_path: Path) -> None:
    _, rows = _import(FOLDER / "bill-en.csv", tmp_path / "home")
    by_bill = {row["x_Order_No_Bill_No"]: row for row in rows}
    assert dict(by_bill["EN-B-0002"]["Tags"]) == json.loads(
        '{"cost-center": "CC-100, EU", "owner": "\\"alice\\" = admin", '
        '"url": "https://example.com:8443/x", "部门": "数据平台"}'
    )


# --- bad numbers ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fixture", "column"),
    [("bill-en.csv", "Pretax Amount"), ("bill-zh.csv", "应付金额")],
)
def test_a_bad_cost_is_refused_with_its_place_and_nothing_is_stored(
    fixture: str, column: str, tmp_path: Path
) -> None:
    header, rows = _table(FOLDER / fixture)
    rows[3][header.index(column)] = "12,5x"
    path = _write(tmp_path / "in" / fixture, header, rows)
    ledger = Ledger.at_home(tmp_path / "home")

    with pytest.raises(ValidationFailed) as caught:
        ingest([path], ledger, IngestOptions(source="alibaba"))

    error = caught.value
    assert error.counts == {"bad-decimal": 1}
    assert "nothing was stored" in str(error)
    finding = error.findings[0]
    assert (finding.file, finding.line, finding.column, finding.value) == (
        str(path),
        5,
        column,
        "12,5x",
    )
    assert str(finding).startswith(f"{path}:5 column {column}")
    assert ledger.costs.files() == ([], None)


def test_a_bad_billing_cycle_is_refused(tmp_path: Path) -> None:
    header, rows = _table(FOLDER / "bill-en.csv")
    rows[0][header.index("Billing Cycle")] = "Sept 2024"
    path = _write(tmp_path / "in" / "bill.csv", header, rows)
    with pytest.raises(ValidationFailed) as caught:
        ingest([path], Ledger.at_home(tmp_path / "home"), IngestOptions(source="alibaba"))
    assert caught.value.counts["bad-datetime"] == 1  # and the billing period it leaves empty
    bad = [f for f in caught.value.findings if f.rule == "bad-datetime"]
    assert [(f.line, f.column, f.value) for f in bad] == [(2, "Billing Cycle", "Sept 2024")]


def test_the_formats_are_named_for_format_option() -> None:
    assert format_named("alibaba-bill") is alibaba.ENGLISH
    assert format_named("alibaba-bill-zh") is alibaba.CHINESE_FORMAT
