"""Usage rows: commitment coverage, and the rows of one block."""

from __future__ import annotations

from datetime import date

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from costprism.demo.anomalies import plan_anomalies
from costprism.demo.catalog import build_catalog
from costprism.demo.company import NORTHWIND
from costprism.demo.focus_file import days_for
from costprism.demo.provider import provider_model, rng_for
from costprism.demo.timeline import build_timeline
from costprism.demo.usage import MonthState, cover, month_context, usage_block


def test_cover_fills_each_key_in_row_order() -> None:
    remaining = np.array([10.0, 5.0])
    key = np.array([0, 1, 0, 0, 1])
    units = np.array([4.0, 5.0, 4.0, 4.0, 1.0])
    assert cover(key, units, remaining).tolist() == [True, True, True, False, False]
    assert remaining.tolist() == [2.0, 0.0]


@given(
    st.lists(st.tuples(st.integers(0, 3), st.floats(0, 50)), max_size=60),
    st.lists(st.floats(0, 200), min_size=4, max_size=4),
)
def test_cover_never_exceeds_what_is_left(rows: list[tuple[int, float]], left: list[float]) -> None:
    key = np.array([k for k, _ in rows], dtype=np.int64)
    units = np.array([u for _, u in rows], dtype=np.float64)
    remaining = np.array(left)
    covered = cover(key, units, remaining)
    for k in range(4):
        mine = key == k
        used = units[mine & covered].sum()
        assert used <= left[k] + 1e-6
        assert np.isclose(remaining[k], left[k] - used)
        # a prefix: once a row of the key does not fit, no later row of it is covered
        flags = covered[mine].tolist()
        assert flags == sorted(flags, reverse=True)


def test_a_block_prices_and_covers_its_rows() -> None:
    timeline = build_timeline(1, date(2026, 4, 1))
    planned = plan_anomalies(NORTHWIND, timeline)
    model = provider_model(NORTHWIND, 0)  # AWS
    cat = build_catalog(model, 7, 4_000, timeline, planned)
    ctx = month_context(
        model, cat, timeline.months[0], timeline, planned, days_for(timeline, "parquet"), csv=False
    )
    state = MonthState(
        remaining=np.repeat(cat.capacity, 30),
        billed=np.zeros(len(model.subs) * len(model.services)),
        impact=np.zeros(len(planned)),
    )
    block = usage_block(ctx, cat.alive(0, 29), rng_for(7, 0, 1), state)
    rows = {
        name: block.rows[name].to_numpy(zero_copy_only=False)
        for name in block.rows
        if name not in ("ChargePeriodStart", "ChargePeriodEnd")
    }
    covered = ~np.isnan(rows["CommitmentDiscountQuantity"])
    assert 0 < covered.sum() < len(covered)
    assert (rows["BilledCost"][covered] == 0).all()
    assert (rows["EffectiveCost"][covered] < rows["ContractedCost"][covered]).all()
    assert (rows["BilledCost"][~covered] == rows["ContractedCost"][~covered]).all()
    assert np.isclose(state.billed.sum(), rows["BilledCost"].sum())
    assert block.num_rows == cat.days_alive(0, 29)
