"""Opening the ledger on an engine: empty homes, old versions, the daily rollup (opened only
when it sums the version read), and the Spark engine's views.

The FOCUS 1.0 sample's totals (README in shared/data/focus): Σ BilledCost 20.520227 and
Σ EffectiveCost 14.976514 USD; the restated copy doubles every cost column.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from costprism.capabilities.reporting import cost_report
from costprism.engine.backends import LedgerView, open_ledger
from costprism.engine.query import CostQuery, cost_expression
from costprism.errors import LedgerError
from costprism.focus import LEDGER_SCHEMA
from costprism.ingest import pipeline
from costprism.ingest.pipeline import IngestOptions, ingest
from costprism.ledger import Ledger
from costprism.ledger.rollups import DAILY_SCHEMA
from tests.conftest import SAMPLE_1000

MICRO = Decimal("0.000001")
SAMPLE_BILLED = Decimal("20.520227")
SAMPLE_EFFECTIVE = Decimal("14.976514")
BOTH = CostQuery(basis=("billed", "effective"), granularity="total")


def totals(view: LedgerView) -> tuple[Decimal, ...]:
    """Σ BilledCost and Σ EffectiveCost, unrounded."""
    [row] = cost_report(view, BOTH).rows
    return tuple(row[m] for m in BOTH.measures)


def raw_totals(view: LedgerView) -> tuple[Decimal, ...]:
    """Σ BilledCost and Σ EffectiveCost from the raw ledger, whatever the view's rollup."""
    [row] = cost_expression(view.costs, BOTH).to_pyarrow().to_pylist()
    return tuple(row[m] for m in BOTH.measures)


def rounded(amounts: tuple[Decimal, ...]) -> tuple[Decimal, ...]:
    """To the README's precision."""
    return tuple(a.quantize(MICRO) for a in amounts)


def doubled(amounts: tuple[Decimal, ...]) -> tuple[Decimal, ...]:
    return tuple(2 * a for a in amounts)


def test_empty_home_gives_an_empty_table_with_the_ledger_columns(tmp_path: Path) -> None:
    view = open_ledger(Ledger.at_home(tmp_path))
    assert view.version is None
    assert view.engine == "duckdb"
    assert view.costs.columns == tuple(LEDGER_SCHEMA.names)
    assert view.costs.count().execute() == 0
    assert cost_report(view, CostQuery(group_by=("ProviderName",))).rows == ()


def test_empty_home_has_no_old_versions(tmp_path: Path) -> None:
    with pytest.raises(LedgerError) as info:
        open_ledger(Ledger.at_home(tmp_path), as_of=1)
    assert info.value.code == "ledger.no_version"


def test_newest_version_is_the_default(restated_ledger: Ledger) -> None:
    view = open_ledger(restated_ledger)
    assert view.version == 2
    assert totals(view) == doubled(totals(open_ledger(restated_ledger, as_of=1)))


def test_as_of_a_version_reads_the_older_data(restated_ledger: Ledger) -> None:
    view = open_ledger(restated_ledger, as_of=1)
    assert view.version == 1
    assert rounded(totals(view)) == (SAMPLE_BILLED, SAMPLE_EFFECTIVE)


def test_as_of_a_time_reads_the_version_current_then(restated_ledger: Ledger) -> None:
    commits = {c.version: c.timestamp for c in restated_ledger.costs.history()}
    assert commits[2] > commits[1]
    view = open_ledger(restated_ledger, as_of=commits[1] + (commits[2] - commits[1]) / 2)
    assert view.version == 1
    assert rounded(totals(view)) == (SAMPLE_BILLED, SAMPLE_EFFECTIVE)
    assert open_ledger(restated_ledger, as_of=commits[2] + timedelta(days=1)).version == 2


def test_as_of_an_unknown_version_raises(restated_ledger: Ledger) -> None:
    with pytest.raises(LedgerError, match="history") as info:
        open_ledger(restated_ledger, as_of=99)
    assert info.value.code == "ledger.no_version"


# --- the daily rollup ----------------------------------------------------------------------------


def test_the_newest_view_opens_its_rollup(restated_ledger: Ledger) -> None:
    view = open_ledger(restated_ledger)
    assert view.daily is not None
    assert set(DAILY_SCHEMA.names) <= set(view.daily.columns)
    assert view.daily.x_Rows.sum().to_pyarrow().as_py() == view.costs.count().to_pyarrow().as_py()


def test_an_as_of_view_opens_the_rollup_of_its_version(restated_ledger: Ledger) -> None:
    view = open_ledger(restated_ledger, as_of=1)
    assert view.daily is not None
    assert totals(view) == raw_totals(view)
    assert rounded(totals(view)) == (SAMPLE_BILLED, SAMPLE_EFFECTIVE)


def test_a_stale_rollup_is_not_used(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, doubled_sample_csv: Path
) -> None:
    """Version 2 is committed without its rollup: the newest view reads the raw ledger, and
    the rollup of version 1 still serves as-of reads of version 1."""
    ledger = Ledger.at_home(tmp_path)
    ingest([SAMPLE_1000], ledger, IngestOptions(source="sample"))
    with monkeypatch.context() as patch:
        patch.setattr(pipeline, "refresh_rollup", lambda *args: None)
        ingest([doubled_sample_csv], ledger, IngestOptions(source="sample"))

    newest, first = open_ledger(ledger), open_ledger(ledger, as_of=1)

    assert newest.version == 2
    assert newest.daily is None
    assert totals(newest) == doubled(totals(first))
    assert first.daily is not None
    assert rounded(totals(first)) == (SAMPLE_BILLED, SAMPLE_EFFECTIVE)


def test_a_vacuumed_rollup_leaves_as_of_reads_on_the_raw_ledger(
    tmp_path: Path, doubled_sample_csv: Path
) -> None:
    ledger = Ledger.at_home(tmp_path)
    ingest([SAMPLE_1000], ledger, IngestOptions(source="sample"))
    ingest([doubled_sample_csv], ledger, IngestOptions(source="sample"))
    ledger.costs_daily.vacuum()  # the rollup of version 1 is gone, its costs files are not

    old = open_ledger(ledger, as_of=1)

    assert old.daily is None
    assert rounded(totals(old)) == (SAMPLE_BILLED, SAMPLE_EFFECTIVE)
    assert open_ledger(ledger).daily is not None


@pytest.mark.spark
def test_spark_empty_home_gives_an_empty_table(tmp_path: Path, spark: Any) -> None:
    view = open_ledger(Ledger.at_home(tmp_path), engine="spark", spark_session=spark)
    assert view.engine == "spark"
    assert set(view.costs.columns) == set(LEDGER_SCHEMA.names)
    assert view.costs.count().execute() == 0


@pytest.mark.spark
def test_spark_as_of_reads_the_older_data(restated_ledger: Ledger, spark: Any) -> None:
    view = open_ledger(restated_ledger, as_of=1, engine="spark", spark_session=spark)
    assert rounded(totals(view)) == (SAMPLE_BILLED, SAMPLE_EFFECTIVE)


@pytest.mark.spark
def test_spark_opens_the_rollup_too(restated_ledger: Ledger, spark: Any) -> None:
    view = open_ledger(restated_ledger, as_of=1, engine="spark", spark_session=spark)
    assert view.daily is not None
    assert rounded(totals(view)) == (SAMPLE_BILLED, SAMPLE_EFFECTIVE)


@pytest.mark.spark
def test_spark_views_on_one_session_stay_independent(restated_ledger: Ledger, spark: Any) -> None:
    old = open_ledger(restated_ledger, as_of=1, engine="spark", spark_session=spark)
    new = open_ledger(restated_ledger, engine="spark", spark_session=spark)
    assert rounded(totals(old)) == (SAMPLE_BILLED, SAMPLE_EFFECTIVE)
    assert totals(new) == doubled(totals(old))
