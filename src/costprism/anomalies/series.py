"""Daily cost series per scope, read through the engine.

One grouped query (:func:`~costprism.capabilities.reporting.cost_report`, on the daily
rollup when it can answer) sums ``EffectiveCost`` by the ``--by`` dimensions, the billing
currency and the UTC day, within the caller's scope and filters; the result becomes a
matrix, one row per (scope, currency) and one column per day. Days before a scope's first
charge are NaN (no history yet); later days without charges are 0.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np
import numpy.typing as npt
import pandas as pd

from costprism.capabilities.reporting import cost_report
from costprism.engine.backends import LedgerView
from costprism.engine.filters import Filter
from costprism.engine.query import CostQuery

FloatMatrix = npt.NDArray[np.float64]
MEASURE = "EffectiveCost"


@dataclass(frozen=True, kw_only=True, eq=False)
class DailySeries:
    """``values[i, t]``: the cost of scope ``scopes[i]`` (in ``currencies[i]``) on ``days[t]``."""

    dimensions: tuple[str, ...]
    scopes: tuple[dict[str, str], ...]
    currencies: tuple[str, ...]
    days: tuple[date, ...]
    values: FloatMatrix

    @property
    def last_day(self) -> date | None:
        return self.days[-1] if self.days else None


def read_series(
    view: LedgerView,
    dimensions: Sequence[str],
    *,
    scope: Sequence[Filter] = (),
    filters: Sequence[Filter] = (),
    start: date | None = None,
    end: date | None = None,
) -> DailySeries:
    """The daily series of every combination of ``dimensions`` in ``[start, end)``."""
    query = CostQuery(
        group_by=tuple(dimensions), filters=tuple(filters), start=start, end=end,
        granularity="day",
    )  # fmt: skip
    report = cost_report(view, query, scope)
    frame = pd.DataFrame(list(report.rows), columns=list(report.columns))
    return series_from_frame(frame, tuple(dimensions))


def series_from_frame(frame: pd.DataFrame, dimensions: tuple[str, ...]) -> DailySeries:
    """Pivot rows (the dimensions, ``BillingCurrency``, ``period``, ``EffectiveCost``)."""
    if frame.empty:
        return DailySeries(
            dimensions=dimensions, scopes=(), currencies=(), days=(), values=np.zeros((0, 0))
        )
    frame = frame.assign(
        period=pd.to_datetime(frame["period"]).dt.date,
        EffectiveCost=frame[MEASURE].astype("float64"),
        **{d: frame[d].astype("string").fillna("") for d in dimensions},
    )
    keys = [*dimensions, "BillingCurrency"]
    wide = frame.pivot_table(index=keys, columns="period", values=MEASURE, aggfunc="sum")
    first, last = min(wide.columns), max(wide.columns)
    days = tuple(first + timedelta(days=i) for i in range((last - first).days + 1))
    wide = wide.reindex(columns=list(days))
    values = wide.to_numpy(dtype=np.float64)
    started = np.cumsum(~np.isnan(values), axis=1) > 0
    values = np.where(started & np.isnan(values), 0.0, values)
    index = [k if isinstance(k, tuple) else (k,) for k in wide.index]
    scopes = tuple(dict(zip(dimensions, (str(v) for v in k[:-1]), strict=True)) for k in index)
    return DailySeries(
        dimensions=dimensions, scopes=scopes, currencies=tuple(str(k[-1]) for k in index),
        days=days, values=values,
    )  # fmt: skip
