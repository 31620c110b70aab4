"""Every native fixture pair: detected as its format, converted row by row as expected, and
its billed (and amortized) totals per billing period and currency kept to the cent."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.native.fixture_pairs import (
    CENT,
    Case,
    cases,
    expected_rows,
    import_case,
    ledger_rows,
    ledger_totals,
    mismatches,
    source_totals,
)

CASES = list(cases())


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_fixture_pair(case: Case, tmp_path: Path) -> None:
    result, ledger = import_case(case, tmp_path / "home")
    assert [f.source_format for f in result.files] == [case.meta["format"]]
    rows = ledger_rows(ledger)
    assert result.rows == len(rows)

    by_key = {row[case.meta["key"]]: row for row in rows}
    expected = expected_rows(case)
    assert expected, f"{case.expected} has no rows"
    problems = []
    for want in expected:
        key = want[case.meta["key"]]
        if key not in by_key:
            problems.append(f"{key}: no ledger row")
            continue
        problems += [f"{key}: {m}" for m in mismatches(want, by_key[key])]
    assert not problems, "\n".join(problems)

    source = source_totals(case)
    stored = ledger_totals(rows)
    assert set(source) == set(stored)
    for key, (billed, amortized) in source.items():
        assert abs(stored[key][0] - billed) < CENT, f"BilledCost {key}"
        if amortized is not None:
            assert abs(stored[key][1] - amortized) < CENT, f"EffectiveCost {key}"
