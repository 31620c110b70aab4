"""Security rules, a kind of anomaly routed to the ``security`` role.

* ``new_region``: the first spend of an account (``SubAccountId``) in a region it never
  used before, once the account has ``min_history_days`` of history;
* ``new_service``: likewise, the first spend of an account on a service;
* ``gpu_spend``: sudden GPU spend in an account — detection (:mod:`.detection`) on the
  daily cost of GPU rows only (a SKU meter, price details or description naming a GPU),
  counting days without GPU spend as 0, so the first GPU day of an account is judged too;
* ``egress_spike``: detection on the daily cost of data leaving a provider (meters or
  descriptions naming egress, data transfer out, internet out, outbound).

Every rule reads through the engine within the caller's scope. The first-spend rules
report the first ``FIRST_SPEND_DAYS`` days of spend (expected 0) as the anomaly.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

import ibis
import ibis.expr.types as ir
import pandas as pd

from costprism.anomalies.detection import DetectionSettings, Finding, chart_number, detect
from costprism.anomalies.series import DailySeries, series_from_frame
from costprism.engine.backends import LedgerView
from costprism.engine.filters import Filter
from costprism.engine.query import CostQuery, cost_rows_in_range, restrict
from costprism.engine.rollups import cost_source

ACCOUNT = "SubAccountId"
FIRST_SPEND_DAYS = 7
FIRST_SPEND_MIN = 1.0  # a day counts as spend from this much EffectiveCost
GPU_PATTERNS = ("%gpu%", "%nvidia%", "%a100%", "%h100%", "%v100%", "%tensor core%")
EGRESS_PATTERNS = ("%egress%", "%data transfer out%", "%transfer out%", "%internet out%",
                   "%outbound%", "%internetout%")  # fmt: skip
TEXT_COLUMNS = ("SkuMeter", "SkuPriceDetails", "ChargeDescription")
RULES = ("new_region", "new_service", "gpu_spend", "egress_spike")


def security_findings(
    view: LedgerView,
    settings: DetectionSettings,
    *,
    scope: Sequence[Filter] = (),
    start: date | None = None,
    end: date | None = None,
) -> list[tuple[str, Finding]]:
    """Every security rule's findings, as (rule, finding)."""
    found: list[tuple[str, Finding]] = []
    for rule, column in (("new_region", "RegionId"), ("new_service", "ServiceName")):
        series = _daily(view, (ACCOUNT, column), scope, start, end, None)
        found += [(rule, f) for f in first_spend(series, settings)]
    for rule, patterns in (("gpu_spend", GPU_PATTERNS), ("egress_spike", EGRESS_PATTERNS)):
        series = _daily(view, (ACCOUNT,), scope, start, end, patterns)
        found += [(rule, f) for f in detect(series, settings)]
    return found


def first_spend(series: DailySeries, settings: DetectionSettings) -> list[Finding]:
    """The first days of spend of each (account, X) that its account had not spent on."""
    complete = len(series.days) - max(settings.unfinished_days, 0)
    if complete <= 0:
        return []
    values = series.values[:, :complete]
    account_start = _account_starts(series)
    found = []
    for row, scope in enumerate(series.scopes):
        spent = (values[row] >= FIRST_SPEND_MIN).nonzero()[0]
        if not len(spent) or "" in scope.values():  # no region: global charges
            continue
        first = int(spent[0])
        if first - account_start[scope[ACCOUNT]] < settings.min_history_days:
            continue
        last = min(first + FIRST_SPEND_DAYS, complete)
        actual = float(values[row, first:last].sum())
        if actual < settings.min_impact:
            continue
        found.append(
            Finding(
                scope=dict(scope),
                currency=series.currencies[row],
                start=series.days[first],
                end=series.days[last - 1],
                actual=actual,
                expected=0.0,
                severity=settings.severity(actual),
                daily=_days(series, row, first, last),
            )
        )
    return found


def _account_starts(series: DailySeries) -> dict[str, int]:
    starts: dict[str, int] = {}
    for row, scope in enumerate(series.scopes):
        spent = (series.values[row] >= FIRST_SPEND_MIN).nonzero()[0]
        if len(spent):
            account = scope[ACCOUNT]
            starts[account] = min(starts.get(account, len(series.days)), int(spent[0]))
    return starts


def _days(series: DailySeries, row: int, first: int, last: int) -> tuple[dict[str, object], ...]:
    lo = max(0, first - 28)
    return tuple(
        {
            "day": series.days[t].isoformat(),
            "actual": chart_number(series.values[row, t]),
            "expected": 0.0 if t >= first else None,
            "anomalous": first <= t < last,
        }
        for t in range(lo, min(last + 7, len(series.days)))
    )


def _daily(
    view: LedgerView,
    dimensions: tuple[str, ...],
    scope: Sequence[Filter],
    start: date | None,
    end: date | None,
    patterns: Sequence[str] | None,
) -> DailySeries:
    """Daily EffectiveCost by ``dimensions`` (rows matching ``patterns`` only, if given);
    with patterns, days without such rows count as 0 from the ledger's first day."""
    query = CostQuery(group_by=dimensions, start=start, end=end, granularity="day")
    if patterns is None:
        table = restrict(cost_source(view, query, scope), scope)
    else:
        table = _matching(restrict(view.costs, scope), patterns)
    rows = cost_rows_in_range(table, query)
    day = rows["ChargePeriodStart"].truncate("D").date().name("period")
    grouped = rows.group_by([*dimensions, "BillingCurrency", day]).aggregate(
        EffectiveCost=rows["EffectiveCost"].sum()
    )
    frame = grouped.to_pandas()
    series = series_from_frame(frame, dimensions)
    if patterns is None or not series.scopes:
        return series
    return _from_ledger_start(view, scope, series, start, end)


def _matching(costs: ir.Table, patterns: Sequence[str]) -> ir.Table:
    conditions = [
        costs[column].lower().like(pattern)
        for column in TEXT_COLUMNS
        if column in costs.columns
        for pattern in patterns
    ]
    return costs.filter(ibis.or_(*conditions))


def _from_ledger_start(
    view: LedgerView,
    scope: Sequence[Filter],
    series: DailySeries,
    start: date | None,
    end: date | None,
) -> DailySeries:
    """``series`` widened to every day of the caller's ledger, zeros where nothing was spent."""
    rows = cost_rows_in_range(
        restrict(cost_source(view, CostQuery(), scope), scope), CostQuery(start=start, end=end)
    )
    bounds = rows.aggregate(
        first=rows["ChargePeriodStart"].min().date(), last=rows["ChargePeriodStart"].max().date()
    ).to_pandas()
    first, last = bounds["first"].iloc[0], bounds["last"].iloc[0]
    days = pd.date_range(first, last, freq="D").date
    frame = pd.DataFrame(series.values, columns=list(series.days)).reindex(columns=list(days))
    return DailySeries(
        dimensions=series.dimensions, scopes=series.scopes, currencies=series.currencies,
        days=tuple(days), values=frame.fillna(0.0).to_numpy(),
    )  # fmt: skip
