"""Saved forecast versions and the two KPIs they feed (FinOps Framework, Forecasting):

* **forecast accuracy** of a saved version against the actual cost now in the ledger:
  ``(forecast − actual) / forecast`` per group, currency and period, over the version's
  forecast days that are complete now (:func:`~costprism.capabilities.forecast.
  last_complete_day`); positive means the forecast was too high;
* **forecast drift** between two versions: ``(new − previous) / previous`` per group,
  currency and period, over the days both forecast.

Versions are stored by :mod:`costprism.ledger.forecasts`. A scoped caller sees only the
versions saved with exactly its scope, and actuals are read through the engine with the
version's filters and scope and the caller's scope.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from costprism.capabilities.forecast import CURRENCY, Forecast, last_complete_day
from costprism.capabilities.reporting import cost_report
from costprism.engine.backends import LedgerView
from costprism.engine.filters import Filter, parse_filters
from costprism.engine.query import CostQuery
from costprism.errors import NotFound, UserError
from costprism.forecasting.aggregate import GRANULARITIES, period_start
from costprism.ledger import Ledger
from costprism.ledger.forecasts import ForecastStore, ForecastVersion, daily_schema, visible

if TYPE_CHECKING:
    from costprism.db import Database

DEFAULT_GRANULARITY = "month"
AUDIT_ACTION = "forecast.save"


@dataclass(frozen=True, kw_only=True)
class Comparison:
    """Rows comparing forecasts with actuals (accuracy) or with each other (drift)."""

    kind: str  # "accuracy" or "drift"
    versions: tuple[int, ...]
    group_by: tuple[str, ...]
    granularity: str
    first_day: date | None  # the days compared; None when there are none
    last_day: date | None
    rows: tuple[dict[str, Any], ...]
    totals: tuple[dict[str, Any], ...]  # one per currency

    def record(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "versions": list(self.versions),
            "group_by": list(self.group_by),
            "granularity": self.granularity,
            "first_day": self.first_day.isoformat() if self.first_day else None,
            "last_day": self.last_day.isoformat() if self.last_day else None,
            "rows": [_plain(r) for r in self.rows],
            "totals": [_plain(r) for r in self.totals],
        }


def save_forecast(ledger: Ledger, found: Forecast) -> ForecastVersion:
    """Keep ``found`` (its daily forecasts) as the next immutable version."""
    keys = len(found.group_by)
    columns: dict[str, list[Any]] = {name: [] for name in daily_schema(keys).names}
    for one in found.series:
        for i, day in enumerate(one.days):
            for k in range(keys):
                columns[f"key{k}"].append(None if one.key[k] is None else str(one.key[k]))
            columns[CURRENCY].append(one.key[-1])
            columns["day"].append(day)
            columns["model"].append(one.model)
            for name in ("point", "lo80", "hi80", "lo95", "hi95", "baseline", "sigma"):
                columns[name].append(float(getattr(one, name)[i]))
    rows = pa.table(columns, schema=daily_schema(keys))
    meta = {**found.summary(), "granularity": "day", "series": len(found.series)}
    meta.pop("note", None)
    return ForecastStore(ledger.root).save(rows, meta)


def save_forecast_audited(
    ledger: Ledger, db: Database, found: Forecast, *, actor: str | None, address: str = ""
) -> ForecastVersion:
    """:func:`save_forecast`, recorded in the audit log as ``forecast.save`` (the server's
    path; the CLI writes to a ledger its user owns)."""
    from costprism.db import record_event

    saved = save_forecast(ledger, found)
    with db.session() as session:
        record_event(
            session,
            actor=actor,
            action=AUDIT_ACTION,
            target=f"forecast version {saved.version}",
            after=saved.record(),
            address=address,
        )
    return saved


def forecast_versions(ledger: Ledger, scope: Sequence[Filter] = ()) -> list[ForecastVersion]:
    """The saved versions the caller may see, oldest first."""
    texts = [str(f) for f in scope]
    return [v for v in ForecastStore(ledger.root).versions() if visible(v, texts)]


def get_version(ledger: Ledger, version: int, scope: Sequence[Filter] = ()) -> ForecastVersion:
    found = ForecastStore(ledger.root).get(version)
    if not visible(found, [str(f) for f in scope]):
        raise NotFound(
            f"forecast version {version} was saved for another scope; see costprism "
            "forecast-versions list for yours",
            code="forecast.unknown",
        )
    return found


def forecast_accuracy(
    view: LedgerView,
    ledger: Ledger,
    version: int,
    *,
    granularity: str = DEFAULT_GRANULARITY,
    scope: Sequence[Filter] = (),
) -> Comparison:
    """How far version ``version`` was from the actual cost (module docstring)."""
    chosen = _granularity(granularity)
    saved = get_version(ledger, version, scope)
    engine_scope = (*parse_filters(saved.scope), *scope)
    last = last_complete_day(view, engine_scope)
    first_day, last_day = saved.start, min(saved.end, last) if last else None
    if last_day is None or last_day < first_day:
        return _empty("accuracy", (version,), saved.group_by, chosen)
    forecasts = _sums(saved, chosen, first_day, last_day)
    query = CostQuery(
        basis=(_basis(saved),),  # type: ignore[arg-type]
        group_by=saved.group_by,
        filters=parse_filters(saved.filters),
        start=first_day,
        end=last_day + timedelta(days=1),
        granularity=chosen,  # type: ignore[arg-type]
    )
    report = cost_report(view, query, engine_scope)
    actuals: dict[tuple[Any, ...], float] = {}
    for row in report.rows:
        key = (*(_text(row[g]) for g in saved.group_by), row[CURRENCY], _day(row["period"]))
        actuals[key] = actuals.get(key, 0.0) + float(row[query.measures[0]] or 0)
    rows = [
        _compare(saved.group_by, key, "forecast", forecasts.get(key, 0.0),
                 "actual", actuals.get(key, 0.0), "accuracy")
        for key in sorted(set(forecasts) | set(actuals), key=_sort_key)
    ]  # fmt: skip
    return Comparison(
        kind="accuracy", versions=(version,), group_by=saved.group_by, granularity=chosen,
        first_day=first_day, last_day=last_day, rows=tuple(rows),
        totals=tuple(_totals(rows, "forecast", "actual", "accuracy")),
    )  # fmt: skip


def forecast_drift(
    ledger: Ledger,
    previous: int,
    new: int,
    *,
    granularity: str = DEFAULT_GRANULARITY,
    scope: Sequence[Filter] = (),
) -> Comparison:
    """How far version ``new`` moved from version ``previous`` (module docstring)."""
    chosen = _granularity(granularity)
    old, fresh = get_version(ledger, previous, scope), get_version(ledger, new, scope)
    if old.group_by != fresh.group_by or old.filters != fresh.filters or old.scope != fresh.scope:
        raise UserError(
            f"forecast versions {previous} and {new} are of different things (group-by "
            f"{list(old.group_by)} vs {list(fresh.group_by)}, filters {list(old.filters)} vs "
            f"{list(fresh.filters)}); compare versions saved with the same --by and --where",
            code="forecast.incomparable",
        )
    first_day, last_day = max(old.start, fresh.start), min(old.end, fresh.end)
    if last_day < first_day:
        return _empty("drift", (previous, new), old.group_by, chosen)
    before = _sums(old, chosen, first_day, last_day)
    after = _sums(fresh, chosen, first_day, last_day)
    rows = [
        _compare(old.group_by, key, "previous", before.get(key, 0.0),
                 "new", after.get(key, 0.0), "drift")
        for key in sorted(set(before) | set(after), key=_sort_key)
    ]  # fmt: skip
    return Comparison(
        kind="drift", versions=(previous, new), group_by=old.group_by, granularity=chosen,
        first_day=first_day, last_day=last_day, rows=tuple(rows),
        totals=tuple(_totals(rows, "previous", "new", "drift")),
    )  # fmt: skip


def accuracy_rate(forecast: float, actual: float) -> float | None:
    """(forecast − actual) / forecast; None when nothing was forecast."""
    return (forecast - actual) / forecast if forecast else None


def drift_rate(previous: float, new: float) -> float | None:
    """(new − previous) / previous; None when the previous forecast was 0."""
    return (new - previous) / previous if previous else None


def _sums(
    saved: ForecastVersion, granularity: str, first: date, last: date
) -> dict[tuple[Any, ...], float]:
    table = saved.daily().to_pylist()
    keys = len(saved.group_by)
    sums: dict[tuple[Any, ...], float] = {}
    for row in table:
        if not first <= row["day"] <= last:
            continue
        key = (
            *(row[f"key{k}"] for k in range(keys)),
            row[CURRENCY],
            period_start(row["day"], granularity),
        )
        sums[key] = sums.get(key, 0.0) + row["point"]
    return sums


def _compare(
    group_by: Sequence[str],
    key: tuple[Any, ...],
    left: str,
    left_value: float,
    right: str,
    right_value: float,
    rate: str,
) -> dict[str, Any]:
    function = accuracy_rate if rate == "accuracy" else drift_rate
    return {
        **dict(zip(group_by, key[:-2], strict=True)),
        CURRENCY: key[-2],
        "period": key[-1],
        left: left_value,
        right: right_value,
        rate: function(left_value, right_value),
    }


def _totals(
    rows: Sequence[dict[str, Any]], left: str, right: str, rate: str
) -> list[dict[str, Any]]:
    sums: dict[str, list[float]] = {}
    for row in rows:
        pair = sums.setdefault(row[CURRENCY], [0.0, 0.0])
        pair[0] += row[left]
        pair[1] += row[right]
    function = accuracy_rate if rate == "accuracy" else drift_rate
    return [
        {CURRENCY: c, left: a, right: b, rate: function(a, b)} for c, (a, b) in sorted(sums.items())
    ]


def _empty(
    kind: str, versions: tuple[int, ...], group_by: tuple[str, ...], granularity: str
) -> Comparison:
    return Comparison(
        kind=kind, versions=versions, group_by=group_by, granularity=granularity,
        first_day=None, last_day=None, rows=(), totals=(),
    )  # fmt: skip


def _basis(saved: ForecastVersion) -> str:
    return "billed" if saved.meta.get("measure") == "BilledCost" else "effective"


def _granularity(value: str) -> str:
    if value not in GRANULARITIES:
        raise UserError(
            f"granularity {value!r} is not one of: {', '.join(GRANULARITIES)}", code="usage"
        )
    return value


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


def _day(value: Any) -> date:
    return value if isinstance(value, date) and not hasattr(value, "hour") else value.date()


def _sort_key(key: tuple[Any, ...]) -> tuple[tuple[bool, str], ...]:
    return tuple((part is None, "" if part is None else str(part)) for part in key)


def _plain(row: dict[str, Any]) -> dict[str, Any]:
    return {k: v.isoformat() if isinstance(v, date) else v for k, v in row.items()}
