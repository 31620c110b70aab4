"""Broken input files: each gives a clear, coded error and leaves the ledger as it was.

Every broken file is made in a fresh folder from a valid 20-row cut of the 10k sample, after a
good import of that cut; the test then checks the ledger's version, history, row count and
totals are unchanged. Cases the code gets wrong today are strict expected failures, with the
bug in the reason.
"""

from __future__ import annotations

import csv
import gzip
import json
import zlib
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

import pytest

from costprism.errors import CostPrismError, InputError, ValidationFailed
from costprism.ingest.pipeline import IngestOptions, ingest
from costprism.ledger import Ledger
from tests.ingest.conftest import (
    FocusCsv,
    LedgerState,
    focus_csv,
    ledger_query,
    ledger_rows,
    ledger_state,
    ledger_totals,
)

SOURCE = IngestOptions(source="acme")
Build = Callable[[Path], Path]


@pytest.fixture
def loaded(ledger: Ledger, tmp_path: Path) -> LedgerState:
    """The ledger after a good import of the 20 rows every broken file is made from."""
    ingest([focus_csv(20).write(tmp_path / "good" / "good.csv")], ledger, SOURCE)
    state = ledger_state(ledger)
    assert (state.version, state.rows) == (1, 20)
    return state


@pytest.fixture
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where broken files go: a neutral path, since messages quote it (not the test's name)."""
    return tmp_path_factory.mktemp("in")


def _refused(ledger: Ledger, path: Path, before: LedgerState) -> CostPrismError:
    with pytest.raises(CostPrismError) as caught:
        ingest([path], ledger, SOURCE)
    assert caught.value.exit_code == 1
    assert ledger_state(ledger) == before
    return caught.value


def _after_path(error: CostPrismError, path: Path) -> str:
    """The message after the file name (tmp_path names hold the test's name)."""
    message = str(error)
    assert message.startswith(str(path))
    return message[len(str(path)) :]


# --- unreadable files and bad headers ------------------------------------------------------------


def _missing_column(tmp: Path) -> Path:
    return focus_csv(20).drop("BilledCost").write(tmp / "no-billed-cost.csv")


def _truncated_gzip(tmp: Path) -> Path:
    data = gzip.compress(focus_csv(20).text().encode())
    path = tmp / "cut.csv.gz"
    path.write_bytes(data[: len(data) // 2])
    return path


def _non_utf8_header(tmp: Path) -> Path:
    path = tmp / "latin1-header.csv"
    text = focus_csv(20).text().replace("ProviderName", "Provider\xe9Name", 1)
    path.write_bytes(text.encode("latin-1", errors="replace"))
    return path


def _empty(tmp: Path) -> Path:
    path = tmp / "empty.csv"
    path.write_bytes(b"")
    return path


def _header_only(tmp: Path) -> Path:
    return FocusCsv(header=focus_csv(0).header, rows=[]).write(tmp / "header-only.csv")


def _colon_delimited(tmp: Path) -> Path:
    return focus_csv(20).write(tmp / "colons.csv", delimiter=":")


def _duplicate_header(tmp: Path) -> Path:
    table = focus_csv(20)
    table.header.append("BilledCost")
    for row in table.rows:
        row.append(row[table.header.index("BilledCost")])
    return table.write(tmp / "twice.csv")


@pytest.mark.parametrize(
    ("build", "code", "says"),
    [
        pytest.param(
            _missing_column,
            "input.missing_columns",
            [":1: missing mandatory columns", "BilledCost", "export the full FOCUS dataset"],
            id="missing-column",
        ),
        pytest.param(
            _truncated_gzip,
            "input.unreadable",
            ["Compressed file ended before the end-of-stream marker", "not damaged"],
            id="truncated-gzip",
        ),
        pytest.param(
            _non_utf8_header,
            "input.encoding",
            [":1 column 9: the header is not UTF-8 (byte 0xe9)", "re-save the file as UTF-8"],
            id="non-utf8-header",
        ),
        pytest.param(
            _empty, "input.empty_file", [":1: the file is empty", "export the data"], id="empty"
        ),
        pytest.param(
            _header_only,
            "input.no_rows",
            [":2: the file has a header but no data rows", "export a billing period"],
            id="header-only",
        ),
        pytest.param(
            _colon_delimited,
            "input.delimiter",
            [":1: the header has a single column", "export it as CSV with ','"],
            id="single-column-header",
        ),
        pytest.param(
            _duplicate_header,
            "input.duplicate_columns",
            [":1: the header repeats column(s) BilledCost", "remove the duplicates"],
            id="duplicate-header",
        ),
    ],
)
def test_unreadable_file_is_refused_with_a_clear_error(
    build: Build,
    code: str,
    says: list[str],
    ledger: Ledger,
    loaded: LedgerState,
    folder: Path,
) -> None:
    path = build(folder)

    error = _refused(ledger, path, loaded)

    assert isinstance(error, InputError)
    assert error.code == code
    assert str(error).startswith(str(path))
    for fragment in says:
        assert fragment in _after_path(error, path)


@pytest.mark.parametrize(
    ("column", "value"),
    [("ChargeDescription", "caf\udcff"), ("ServiceCategory", "Comp\udcffute")],
    ids=["free-text", "checked"],
)
def test_non_utf8_byte_is_refused_with_its_line(
    ledger: Ledger, loaded: LedgerState, folder: Path, column: str, value: str
) -> None:
    text = focus_csv(20).set(4, column, value).text()
    path = folder / "latin1.csv"
    path.write_bytes(text.encode("utf-8", errors="surrogateescape"))

    error = _refused(ledger, path, loaded)

    assert error.code == "input.encoding"
    assert str(error).startswith(f"{path}:5: byte 0xff at character ")
    assert str(error).endswith("is not UTF-8; re-save the file as UTF-8")


def test_gzip_truncated_after_the_header_says_it_is_truncated(
    ledger: Ledger, loaded: LedgerState, folder: Path
) -> None:
    data = gzip.compress(focus_csv(5_000).text().encode())  # cut part over 1 MiB
    path = folder / "cut.csv.gz"
    path.write_bytes(data[: len(data) // 2])

    error = _refused(ledger, path, loaded)

    assert error.code == "input.truncated"
    assert "truncated" in _after_path(error, path)


def test_gzip_truncated_on_a_line_end_is_refused(ledger: Ledger, folder: Path) -> None:
    table = focus_csv(5_000)
    head = FocusCsv(header=table.header, rows=table.rows[:2_500]).text().encode()
    compressor = zlib.compressobj(6, zlib.DEFLATED, 31)  # gzip framing
    cut = compressor.compress(head) + compressor.flush(zlib.Z_FULL_FLUSH)
    path = folder / "cut.csv.gz"
    path.write_bytes(cut)
    with pytest.raises(EOFError):
        gzip.decompress(cut)  # Python's own reader sees the truncation

    with pytest.raises(InputError) as caught:
        ingest([path], ledger, SOURCE)

    assert caught.value.code == "input.truncated"
    assert "damaged or truncated" in str(caught.value)
    assert not ledger.costs.exists()


def test_a_row_with_an_extra_field_is_refused_with_its_line(
    ledger: Ledger, loaded: LedgerState, folder: Path
) -> None:
    table = focus_csv(20)
    table.rows[3].append("extra")
    path = table.write(folder / "ragged.csv")

    error = _refused(ledger, path, loaded)

    assert error.code == "input.unreadable"
    assert _after_path(error, path).startswith(":5: the file can't be read")
    assert _after_path(error, path).endswith(
        "a different number of fields than the header; check quoting"
    )


def test_the_fix_hint_does_not_depend_on_the_file_name(
    ledger: Ledger, loaded: LedgerState, folder: Path
) -> None:
    table = focus_csv(20)
    table.rows[3].append("extra")
    path = table.write(folder / "gzip-utf8-export.csv")

    error = _refused(ledger, path, loaded)

    assert _after_path(error, path).endswith("check quoting")


# --- bad values: findings with file, line, column, value and a fix -------------------------------


@pytest.mark.parametrize(
    ("row", "column", "value", "rule", "hint"),
    [
        pytest.param(5, "BilledCost", "12,5x", "bad-decimal", "thousands separators", id="number"),
        pytest.param(
            7, "ChargePeriodStart", "2026-13-45", "bad-datetime", "2024-09-01T00:00:00Z", id="date"
        ),
        pytest.param(
            3,
            "ChargeCategory",
            "Bogus",
            "bad-enum",
            "Usage, Purchase, Tax, Credit, Adjustment",
            id="enum",
        ),
        pytest.param(9, "BillingCurrency", "US$", "bad-currency", "USD, EUR or JPY", id="currency"),
        pytest.param(11, "Tags", "[1, 2]", "bad-json", "JSON object", id="tags"),
        pytest.param(
            6,
            "Tags",
            '{"team": "a", "team": "b"}',
            "duplicate-key",
            "one value per key",
            id="tags-key-twice",
        ),
        pytest.param(13, "BillingAccountId", "", "not-null", "fill BillingAccountId", id="empty"),
    ],
)
def test_bad_value_is_refused_with_its_place(
    row: int,
    column: str,
    value: str,
    rule: str,
    hint: str,
    ledger: Ledger,
    loaded: LedgerState,
    folder: Path,
) -> None:
    path = focus_csv(20).set(row, column, value).write(folder / "bad.csv")

    error = _refused(ledger, path, loaded)

    assert isinstance(error, ValidationFailed)
    assert error.code == "validation.failed"
    assert error.counts == {rule: 1}
    assert f"1 error(s) ({rule}: 1)" in str(error)
    assert "nothing was stored" in str(error)
    assert "--quarantine" in str(error)
    assert len(error.findings) == 1
    finding = error.findings[0]
    assert (finding.file, finding.line, finding.column) == (str(path), row + 1, column)
    assert finding.value == (value or None)
    assert (finding.rule, finding.severity) == (rule, "error")
    assert hint in finding.hint
    shown = str(finding)
    assert shown.startswith(f"{path}:{row + 1} column {column}")
    assert f"fix: {finding.hint}" in shown
    if value:
        assert repr(value) in shown


def test_every_bad_row_is_counted_and_the_first_are_shown_in_file_order(
    ledger: Ledger, loaded: LedgerState, folder: Path
) -> None:
    table = focus_csv(300)
    for row in range(30, 301, 10):  # 28 rows
        table.set(row, "BilledCost", f"{row}x")
    table.set(2, "ChargeCategory", "Bogus")

    error = _refused(ledger, table.write(folder / "bad.csv"), loaded)

    assert isinstance(error, ValidationFailed)
    assert error.counts == {"bad-decimal": 28, "bad-enum": 1}
    assert [f.line for f in error.findings] == [3, *range(31, 212, 10)]  # 20 examples kept
    assert error.findings[0].rule == "bad-enum"


def test_malformed_json_in_tags_is_a_finding(
    ledger: Ledger, loaded: LedgerState, folder: Path
) -> None:
    path = focus_csv(20).set(3, "Tags", "not json").write(folder / "bad.csv")

    error = _refused(ledger, path, loaded)

    assert isinstance(error, ValidationFailed)
    assert [(f.line, f.column, f.rule) for f in error.findings] == [(4, "Tags", "bad-json")]


def test_line_numbers_count_lines_after_a_multi_line_field(
    ledger: Ledger, loaded: LedgerState, folder: Path
) -> None:
    table = focus_csv(20).set(2, "ChargeDescription", "two\nlines").set(5, "BilledCost", "12,5x")
    path = table.write(folder / "bad.csv")
    line = 1 + path.read_text().split("\n").index(
        next(text for text in path.read_text().split("\n") if "12,5x" in text)
    )
    assert line == 7

    error = _refused(ledger, path, loaded)

    assert isinstance(error, ValidationFailed)
    assert error.findings[0].line == line


def test_one_bad_file_among_good_ones_stores_nothing(
    ledger: Ledger, loaded: LedgerState, folder: Path
) -> None:
    good = focus_csv(range(5_000, 5_020)).write(folder / "a-good.csv")
    bad = focus_csv(20).set(5, "BilledCost", "12,5x").write(folder / "b-bad.csv")

    with pytest.raises(ValidationFailed) as caught:
        ingest([good, bad], ledger, SOURCE)

    assert [(f.file, f.line) for f in caught.value.findings] == [(str(bad), 6)]
    assert ledger_state(ledger) == loaded


# --- valid oddities ------------------------------------------------------------------------------


def test_a_100_000_character_field_imports(ledger: Ledger, folder: Path) -> None:
    long_text = "descr " * 16_666 + "end."
    assert len(long_text) == 100_000
    path = focus_csv(20).set(3, "ChargeDescription", long_text).write(folder / "long.csv")

    result = ingest([path], ledger, SOURCE)

    assert result.report.errors == 0
    assert ledger_rows(ledger.costs) == 20
    lengths = ledger_query(
        ledger.costs, "SELECT max(length(ChargeDescription)), count(*) FROM costs"
    )
    assert lengths == [(100_000, 20)]


def test_semicolon_delimited_file_is_refused(
    ledger: Ledger, loaded: LedgerState, folder: Path
) -> None:
    path = focus_csv(20).write(folder / "semicolons.csv", delimiter=";")
    assert "," not in path.read_text().split("\n", 1)[0]

    with pytest.raises(InputError) as caught:
        ingest([path], ledger, SOURCE)

    assert caught.value.code == "input.delimiter"
    assert ledger_state(ledger) == loaded


# --- quarantine ----------------------------------------------------------------------------------


def test_quarantine_imports_the_valid_rows_and_keeps_the_rejects(
    ledger: Ledger, folder: Path
) -> None:
    table = focus_csv(30).set(4, "BilledCost", "12,5x").set(9, "ChargeCategory", "Bogus")
    path = table.write(folder / "mixed.csv")
    valid = [r for i, r in enumerate(table.rows, start=1) if i not in (4, 9)]
    billed = sum(Decimal(r[table.header.index("BilledCost")]) for r in valid)

    result = ingest([path], ledger, IngestOptions(source="acme", quarantine=True))

    assert (result.rows, result.rejected) == (28, 2)
    assert result.report.per_rule("error") == {"bad-decimal": 1, "bad-enum": 1}
    assert set(result.versions) == {"cost_and_usage", "quarantine"}
    assert ledger_rows(ledger.costs) == 28
    assert round(ledger_totals(ledger.costs)["USD"][0], 6) == round(billed, 6)
    rejects = ledger_query(
        ledger.quarantine,
        "SELECT line, file, x_SourceId, findings, row['BilledCost'], row['ChargeCategory'] "
        "FROM costs ORDER BY line",
    )
    assert [(line, file, source) for line, file, source, *_ in rejects] == [
        (5, str(path), "acme"),
        (10, str(path), "acme"),
    ]
    first, second = (json.loads(r[3]) for r in rejects)
    assert [(f["rule"], f["column"], f["value"]) for f in first] == [
        ("bad-decimal", "BilledCost", "12,5x")
    ]
    assert [(f["rule"], f["column"], f["value"]) for f in second] == [
        ("bad-enum", "ChargeCategory", "Bogus")
    ]
    assert all(f["hint"] for f in first + second)
    assert rejects[0][4] == "12,5x"
    assert rejects[1][5] == "Bogus"

    ingest([path], ledger, IngestOptions(source="acme", quarantine=True))
    assert ledger_rows(ledger.quarantine) == 2  # the file's earlier rejects are replaced
    assert ledger_rows(ledger.costs) == 28


def test_quarantine_with_every_row_rejected_says_there_is_nothing_to_import(
    ledger: Ledger, folder: Path
) -> None:
    path = focus_csv(3).map_column("BilledCost", lambda _: "x").write(folder / "all-bad.csv")

    with pytest.raises(InputError) as caught:
        ingest([path], ledger, IngestOptions(source="acme", quarantine=True))

    assert caught.value.code == "input.no_rows"
    assert ledger.costs.history() == []


def test_quarantine_without_findings_writes_no_quarantine_version(
    ledger: Ledger, folder: Path
) -> None:
    path = focus_csv(20).write(folder / "clean.csv")
    result = ingest([path], ledger, IngestOptions(source="acme", quarantine=True))
    assert result.versions == {"cost_and_usage": 1}
    assert not ledger.quarantine.exists()


def test_csv_module_reads_what_the_builder_writes(folder: Path) -> None:
    """The fixtures themselves: an edit lands on the file line the tests name."""
    path = focus_csv(5).set(3, "BilledCost", "12,5x").write(folder / "f.csv")
    with path.open(newline="") as handle:
        lines = list(csv.reader(handle))
    assert lines[3][lines[0].index("BilledCost")] == "12,5x"  # file line 4 = data row 3
