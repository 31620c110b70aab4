"""Generate the Northwind Analytics demo: daily FOCUS 1.2 cost files, one per provider and month.

How it works:

* a **resource catalog** per provider (``_build_catalog``) says which resources exist,
  in which sub account, region and SKU, how big they are and when they live. Its size
  follows ``rows_per_month``: a bigger demo is a bigger company, not pricier rows;
* a **usage block** (``_usage_block``) is the resources x days of one chunk of a month,
  priced, covered by commitment discounts, with the anomalies applied. Columns that
  repeat are kept once per *variant* (a resource with its own pricing, or covered by a
  commitment); only dates, quantities and costs are per row. Blocks are at most
  ``CHUNK_ROWS`` rows and stream to the open file, so no month is held in memory;
* **month-end rows** (``_month_end_block``) depend on the month's totals: commitment
  purchases and unused commitment, credits, support, the SaaS subscription, then tax;
* **writers**: CSV joins each run of variant columns into one text fragment per
  variant, then joins fragments and formatted numbers per row and writes the bytes as
  they are; this is about twice as fast as ``pyarrow.csv`` for 57 columns and quotes
  only the values that need it. Parquet takes the typed columns.

Every (provider, month) draws from its own ``PCG64`` stream, so a month depends only on
the spec and the catalog, and two runs write the same bytes.

This module is longer than the house's ~400 lines: catalog, pricing and writing share
per-provider lookup tables that would otherwise have to travel between modules. It
should split into ``catalog``/``rows``/``writers`` modules when it next grows.
"""

from __future__ import annotations

import calendar
import gzip
import hashlib
import json
import math
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import IO, Any, Literal

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from costprism.demo.company import (
    NORTHWIND,
    AnomalyKind,
    AnomalyPlan,
    BillingAccount,
    Commitment,
    Company,
    Provider,
    Region,
    Service,
    Sku,
    SubAccount,
    summary,
    tag_json,
)
from costprism.errors import UserError

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]
FileFormat = Literal["csv", "csv.gz", "parquet"]

FOCUS_COLUMNS: tuple[str, ...] = (
    "ProviderName", "PublisherName", "InvoiceIssuerName", "InvoiceId", "BillingAccountId",
    "BillingAccountName", "BillingAccountType", "SubAccountId", "SubAccountName",
    "SubAccountType", "BillingPeriodStart", "BillingPeriodEnd", "ChargePeriodStart",
    "ChargePeriodEnd", "ChargeCategory", "ChargeClass", "ChargeDescription", "ChargeFrequency",
    "BilledCost", "EffectiveCost", "ListCost", "ContractedCost", "ListUnitPrice",
    "ContractedUnitPrice", "PricingCategory", "PricingQuantity", "PricingUnit",
    "PricingCurrency", "PricingCurrencyContractedUnitPrice", "PricingCurrencyEffectiveCost",
    "PricingCurrencyListUnitPrice", "BillingCurrency", "ConsumedQuantity", "ConsumedUnit",
    "ServiceName", "ServiceCategory", "ServiceSubcategory", "SkuId", "SkuMeter", "SkuPriceId",
    "SkuPriceDetails", "ResourceId", "ResourceName", "ResourceType", "RegionId", "RegionName",
    "AvailabilityZone", "CommitmentDiscountId", "CommitmentDiscountName",
    "CommitmentDiscountCategory", "CommitmentDiscountType", "CommitmentDiscountStatus",
    "CommitmentDiscountQuantity", "CommitmentDiscountUnit", "CapacityReservationId",
    "CapacityReservationStatus", "Tags",
)  # fmt: skip
NUMERIC_COLUMNS = frozenset(
    ("BilledCost", "EffectiveCost", "ListCost", "ContractedCost", "ListUnitPrice",
     "ContractedUnitPrice", "PricingQuantity", "PricingCurrencyContractedUnitPrice",
     "PricingCurrencyEffectiveCost", "PricingCurrencyListUnitPrice", "ConsumedQuantity",
     "CommitmentDiscountQuantity")
)  # fmt: skip
TIMESTAMP_COLUMNS = frozenset(
    ("BillingPeriodStart", "BillingPeriodEnd", "ChargePeriodStart", "ChargePeriodEnd")
)
EXTENSIONS: dict[str, str] = {"csv": "csv", "csv.gz": "csv.gz", "parquet": "parquet"}
CHUNK_ROWS = 131_072
MIN_ROWS_PER_MONTH = 2_000
DAYS_PER_MONTH = 30.44
PRICING_CATEGORIES = ("Standard", "Dynamic", "Committed")
STANDARD, DYNAMIC, COMMITTED = 0, 1, 2


@dataclass(frozen=True, kw_only=True)
class DemoSpec:
    seed: int = 7
    months: int = 13
    end_month: date | None = None  # first day of the last month; default: last complete month
    rows_per_month: int = 50_000  # approximate rows per month over all providers (±10%)
    file_format: FileFormat = "csv"

    def __post_init__(self) -> None:
        if self.seed < 0:
            raise UserError(f"demo seed: {self.seed} is negative; use 0 or more")
        if self.months < 1:
            raise UserError(f"demo months: {self.months} is not a positive number of months")
        if self.rows_per_month < MIN_ROWS_PER_MONTH:
            raise UserError(
                f"demo rows_per_month: {self.rows_per_month} is too small; "
                f"use at least {MIN_ROWS_PER_MONTH}"
            )
        if self.end_month is not None and self.end_month.day != 1:
            raise UserError(
                f"demo end_month: {self.end_month.isoformat()} is not the first day of a month"
            )
        if self.file_format not in EXTENSIONS:
            raise UserError(
                f"demo file_format: {self.file_format!r} is not one of {sorted(EXTENSIONS)}"
            )


@dataclass(frozen=True, kw_only=True)
class InjectedAnomaly:
    kind: AnomalyKind
    provider: str  # ProviderName
    sub_account_id: str
    service_name: str
    region_id: str | None  # the new region, for new_region
    start: date
    end: date  # inclusive
    impact_estimate: float  # EffectiveCost over the window beyond the usual
    billing_currency: str
    description: str

    @property
    def scope(self) -> dict[str, str]:
        scope = {"SubAccountId": self.sub_account_id, "ServiceName": self.service_name}
        return scope | ({"RegionId": self.region_id} if self.region_id else {})

    def to_json(self) -> dict[str, Any]:
        return {
            "scope": self.scope,
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "kind": self.kind,
            "impact_estimate": round(self.impact_estimate, 2),
            "BillingCurrency": self.billing_currency,
            "ProviderName": self.provider,
            "description": self.description,
        }


@dataclass(frozen=True, kw_only=True)
class DemoResult:
    out: Path
    files: tuple[Path, ...]
    rows: int
    anomalies: tuple[InjectedAnomaly, ...]


def generate(
    out: Path, spec: DemoSpec, *, progress: Callable[[int, int], None] | None = None
) -> DemoResult:
    """Write focus/<provider>/<YYYY-MM>.<ext>, anomalies.json, company.json and manifest.json."""
    company, timeline = NORTHWIND, _timeline(spec)
    planned = _plan_anomalies(company, timeline)
    models = [_model(company, i) for i in range(len(company.providers))]
    catalogs = [_build_catalog(m, spec, timeline, planned) for m in models]
    total = sum(_expected_rows(m, c, timeline) for m, c in zip(models, catalogs, strict=True))
    days = _days(timeline, spec.file_format)
    impact, entries, done = np.zeros(len(planned)), [], 0

    def on_block(rows: int) -> None:
        nonlocal done
        done += rows
        if progress is not None:
            progress(done, max(total, done))

    for model, cat in zip(models, catalogs, strict=True):
        for month in timeline.months:
            ctx = _context(model, cat, month, timeline, planned, days)
            path = f"focus/{model.info.key}/{month.label}.{EXTENSIONS[spec.file_format]}"
            rows, month_impact = _write_month(ctx, out / path, spec, on_block)
            impact += month_impact
            entries.append({"path": path, "provider": model.info.key,
                            "ProviderName": model.info.name, "billing_period": month.label,
                            "rows": rows})  # fmt: skip
    by_key = {m.info.key: m for m in models}
    anomalies = tuple(_injected(p, by_key[p.plan.provider], timeline, impact) for p in planned)
    _write_side_files(out, spec, timeline, entries, anomalies)
    files = tuple(out / str(e["path"]) for e in entries)
    return DemoResult(out=out, files=files, rows=done, anomalies=anomalies)


def focus_schema(file_format: FileFormat) -> pa.Schema:
    """The 57 FOCUS 1.2 columns as typed in a Parquet file (CSV holds the same as text)."""
    stamp = pa.timestamp("us", "UTC") if file_format == "parquet" else pa.string()
    return pa.schema(
        (name, pa.float64() if name in NUMERIC_COLUMNS else stamp if name in TIMESTAMP_COLUMNS
         else pa.string())
        for name in FOCUS_COLUMNS
    )  # fmt: skip


# --------------------------------------------------------------------------- timeline


@dataclass(frozen=True, kw_only=True)
class _Month:
    index: int
    first: date
    start: int  # index of its first day in the timeline
    days: int

    @property
    def label(self) -> str:
        return f"{self.first:%Y-%m}"


@dataclass(frozen=True, kw_only=True)
class _Timeline:
    months: tuple[_Month, ...]
    day0: date
    days: int

    def date(self, day: int) -> date:
        return self.day0 + timedelta(days=day)


def _timeline(spec: DemoSpec) -> _Timeline:
    this_month = datetime.now(UTC).date().replace(day=1)
    end = spec.end_month or _add_months(this_month, -1)
    months, start = [], 0
    for i in range(spec.months):
        first = _add_months(end, i - spec.months + 1)
        days = calendar.monthrange(first.year, first.month)[1]
        months.append(_Month(index=i, first=first, start=start, days=days))
        start += days
    return _Timeline(months=tuple(months), day0=months[0].first, days=start)


def _add_months(first: date, n: int) -> date:
    k = first.year * 12 + first.month - 1 + n
    return date(k // 12, k % 12 + 1, 1)


@dataclass(frozen=True, kw_only=True, eq=False)
class _Days:
    """Timestamps by day index: text for CSV, ``timestamp("us", "UTC")`` for Parquet."""

    values: pa.Array

    def take(self, days: npt.NDArray[Any]) -> pa.Array:
        return self.values.take(pa.array(days.astype(np.int32)))

    def repeat(self, day: int, n: int) -> pa.Array:
        return pa.repeat(self.values[day], n)


def _days(timeline: _Timeline, file_format: FileFormat) -> _Days:
    stamps = np.datetime64(timeline.day0, "D") + np.arange(timeline.days + 1)
    if file_format == "parquet":
        return _Days(values=pa.array(stamps.astype("datetime64[us]"), pa.timestamp("us", "UTC")))
    return _Days(values=_strings([f"{d}T00:00:00Z" for d in stamps.astype(str)]))


# --------------------------------------------------------------------------- provider model


@dataclass(frozen=True, kw_only=True, eq=False)
class _Model:
    """One provider's slice of the company, with pyarrow lookup tables to ``take`` from."""

    index: int
    info: Provider
    subs: tuple[SubAccount, ...]
    accounts: tuple[BillingAccount, ...]
    skus: tuple[Sku, ...]
    services: tuple[Service, ...]  # one per ServiceName: the SKUs', then the monthly charges'
    regions: tuple[Region, ...]
    commitments: tuple[Commitment, ...]
    sub_account: IntArray  # sub -> account
    sku_service: IntArray  # sku -> service
    lookups: dict[str, pa.Array] = field(default_factory=dict)

    def account_of(self, sub: int) -> BillingAccount:
        return self.accounts[int(self.sub_account[sub])]

    def sub_index(self, sub_id: str) -> int:
        return next(i for i, s in enumerate(self.subs) if s.id == sub_id)

    def service_index(self, name: str) -> int:
        return next(i for i, s in enumerate(self.services) if s.name == name)

    def sku_array(self, attribute: str) -> npt.NDArray[Any]:
        return np.array([getattr(s, attribute) for s in self.skus])


def _model(company: Company, index: int) -> _Model:
    info = company.providers[index]
    skus = tuple(s for s in company.skus if s.provider == info.key)
    services = {s.service.name: s.service for s in reversed(skus)}
    charges = (c.service for c in company.monthly_charges if c.provider == info.key)
    services |= {c.name: c for c in charges if c.name not in services}
    names = list(dict.fromkeys([s.service.name for s in skus] + list(services)))
    accounts = tuple(a for a in company.billing_accounts if a.provider == info.key)
    subs = tuple(s for s in company.sub_accounts if s.provider == info.key)
    ids = [a.id for a in accounts]
    model = _Model(
        index=index,
        info=info,
        subs=subs,
        accounts=accounts,
        skus=skus,
        services=tuple(services[n] for n in names),
        regions=tuple(r for r in company.regions if r.provider == info.key),
        commitments=tuple(c for c in company.commitments if c.provider == info.key),
        sub_account=np.array([ids.index(s.billing_account_id) for s in subs]),
        sku_service=np.array([names.index(s.service.name) for s in skus]),
    )
    model.lookups.update(_lookups(model))
    return model


def _strings(values: list[str | None]) -> pa.Array:
    return pa.array(values, type=pa.string())


def _lookups(m: _Model) -> dict[str, pa.Array]:
    """Columns by sub, SKU, (SKU, pricing category), region and commitment; the last two end in null."""
    acc = [m.account_of(i) for i in range(len(m.subs))]
    per_sku = {"PublisherName": [s.service.publisher or m.info.publisher for s in m.skus]}
    per_sku |= {
        col: [getattr(s.service, attr) for s in m.skus]
        for col, attr in (("ServiceName", "name"), ("ServiceCategory", "category"),
                          ("ServiceSubcategory", "subcategory"), ("ResourceType", "resource_type"))
    }  # fmt: skip
    per_sku |= {
        col: [getattr(s, attr) for s in m.skus]
        for col, attr in (("SkuId", "code"), ("SkuMeter", "meter"), ("SkuPriceDetails", "details"),
                          ("PricingUnit", "pricing_unit"), ("ConsumedUnit", "consumed_unit"))
    }  # fmt: skip
    commits = [*m.commitments, None]
    return {name: _strings(values) for name, values in per_sku.items()} | {
        "SubAccountId": _strings([s.id for s in m.subs]),
        "SubAccountName": _strings([s.name for s in m.subs]),
        "BillingAccountId": _strings([a.id for a in acc]),
        "BillingAccountName": _strings([a.name for a in acc]),
        "BillingAccountType": _strings([a.type for a in acc]),
        "BillingCurrency": _strings([a.currency for a in acc]),
        "SkuPriceId": _strings(
            [
                f"{s.code}.{k[:2].upper()}{i}"
                for s in m.skus
                for i, k in enumerate(PRICING_CATEGORIES)
            ]
        ),  # fmt: skip
        "ChargeDescription": _strings(
            [_usage_description(s, k) for s in m.skus for k in PRICING_CATEGORIES]
        ),  # fmt: skip
        "RegionId": _strings([r.id for r in m.regions] + [None]),
        "RegionName": _strings([r.name for r in m.regions] + [None]),
        "CommitmentDiscountId": _strings([c.id if c else None for c in commits]),
        "CommitmentDiscountName": _strings([c.name if c else None for c in commits]),
        "CommitmentDiscountCategory": _strings([c.category if c else None for c in commits]),
        "CommitmentDiscountType": _strings([c.type if c else None for c in commits]),
        "CommitmentDiscountUnit": _strings([_commit_unit(c) if c else None for c in commits]),
        "CommitmentDiscountStatus": _strings([*("Used" for _ in m.commitments), None]),
        "PricingCategory": _strings(list(PRICING_CATEGORIES)),
    }


def _usage_description(sku: Sku, category: str) -> str:
    how = {"Standard": "on-demand", "Dynamic": "spot", "Committed": "commitment-covered"}
    return f"{sku.description} ({how[category]}, per {sku.pricing_unit})"


def _commit_unit(c: Commitment) -> str:
    return "USD" if c.category == "Spend" else "Hours"


def _rng(seed: int, provider: int, stream: int) -> np.random.Generator:
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence([seed, provider, stream])))


# --------------------------------------------------------------------------- anomalies


@dataclass(frozen=True, kw_only=True)
class _Planned:
    index: int
    plan: AnomalyPlan
    start: int  # day index
    end: int  # day index, inclusive

    @property
    def multiplies(self) -> bool:
        """Spikes multiply usage in their scope; the other kinds add resources."""
        return self.plan.kind in ("spike", "egress_spike")


def _plan_anomalies(company: Company, timeline: _Timeline) -> tuple[_Planned, ...]:
    """Place each anomaly on the timeline, after at least 14 days of history."""
    planned, last = [], timeline.days - 1
    for i, plan in enumerate(company.anomalies):
        start = min(max(round(plan.at * timeline.days), 14), last)
        end = last if plan.days is None else min(start + plan.days - 1, last)
        planned.append(_Planned(index=i, plan=plan, start=start, end=end))
    return tuple(planned)


def _injected(
    p: _Planned, model: _Model, timeline: _Timeline, impact: FloatArray
) -> InjectedAnomaly:
    account = model.account_of(model.sub_index(p.plan.sub_account_id))
    return InjectedAnomaly(
        kind=p.plan.kind,
        provider=model.info.name,
        sub_account_id=p.plan.sub_account_id,
        service_name=p.plan.service,
        region_id=p.plan.region if p.plan.kind == "new_region" else None,
        start=timeline.date(p.start),
        end=timeline.date(p.end),
        impact_estimate=float(impact[p.index]),
        billing_currency=account.currency,
        description=p.plan.description,
    )


# --------------------------------------------------------------------------- resource catalog

EPHEMERAL = 0.2  # share of resources that come and go (mean life five weeks)
WEEKEND = {"prod": (0.85, 1.0), "staging": (0.45, 0.85), "dev": (0.2, 0.6), "sandbox": (0.1, 0.5)}
SPOT_SHARE = {"prod": 0.1, "staging": 0.4, "dev": 0.5, "sandbox": 0.5}
TAG_SHARES = (0.09, 0.145, 0.175, 0.2)  # cumulative: untagged, no team, bad team, bad env
GOLDEN = 0.6180339887498949

Draw = dict[str, npt.NDArray[Any]]


@dataclass(frozen=True, kw_only=True, eq=False)
class _Catalog:
    """One provider's resources: one entry per resource in each array."""

    sub: IntArray
    sku: IntArray
    region: IntArray  # into model.regions; len(model.regions) when it has none
    base: FloatArray  # median daily quantity; the stored size for per_month SKUs
    weekend: FloatArray  # weekend usage as a share of weekdays
    growth: FloatArray  # log growth per day
    sigma: FloatArray  # day-to-day noise
    first: IntArray  # first and last day alive, inclusive
    last: IntArray
    spot: BoolArray
    anomaly: IntArray  # the anomaly that added the resource, or -1
    commit: IntArray  # the commitment it may draw on; len(model.commitments) when none
    list_usd: FloatArray
    contracted_usd: FloatArray
    flags: dict[str, BoolArray]  # instance, per_month, batch
    scopes: dict[int, BoolArray]  # multiplying anomaly -> resources in its scope
    capacity: FloatArray  # per commitment: units per day
    commit_rate: FloatArray  # per commitment: USD per unit
    strings: dict[str, pa.Array]  # ResourceId, ResourceName, AvailabilityZone, Tags

    def alive(self, start: int, end: int) -> IntArray:
        return np.flatnonzero((self.first <= end) & (self.last >= start))

    def days_alive(self, start: int, end: int) -> int:
        lo, hi = np.maximum(self.first, start), np.minimum(self.last, end)
        return int(np.clip(hi - lo + 1, 0, None).sum())


def _build_catalog(
    model: _Model, spec: DemoSpec, timeline: _Timeline, planned: tuple[_Planned, ...]
) -> _Catalog:
    """Draw resources until their days alive fill ``rows_per_month``, then add the anomalies'."""
    rng = _rng(spec.seed, model.index, 0)
    wanted = _usage_rows_per_month(model, spec) * len(timeline.months)
    subs, skus = _anchors(model, planned)
    pool = len(subs) + math.ceil(wanted / (0.6 * timeline.days)) + 32
    draw = _draw(model, rng, timeline, pool, subs, skus)
    alive = np.clip(draw["last"] - draw["first"] + 1, 0, None)
    keep = max(int(np.searchsorted(np.cumsum(alive), wanted)) + 1, len(subs))
    draw = {k: v[:keep] for k, v in draw.items()}
    for p in planned:
        more = _anomaly_draw(model, rng, draw, p)
        if more is not None:
            draw = {k: np.concatenate([draw[k], more[k]]) for k in draw}
    return _finish(model, rng, draw, planned)


def _usage_rows_per_month(model: _Model, spec: DemoSpec) -> float:
    """This provider's share of the rows, less the month-end rows it adds."""
    taxed = sum(1 for i in range(len(model.subs)) if model.account_of(i).tax_rate > 0)
    month_end = len(model.commitments) * 25 + taxed * len(model.services) * 0.6 + 3
    return max(spec.rows_per_month * model.info.row_share - month_end, 31.0)


def _anchors(model: _Model, planned: tuple[_Planned, ...]) -> tuple[IntArray, IntArray]:
    """One resource per sub account, and two in the scope of each multiplying anomaly."""
    subs, skus = list(range(len(model.subs))), [-1] * len(model.subs)
    for p in planned:
        if p.multiplies and p.plan.provider == model.info.key:
            sku = next(i for i, s in enumerate(model.skus) if s.service.name == p.plan.service)
            subs += [model.sub_index(p.plan.sub_account_id)] * 2
            skus += [sku] * 2
    return np.array(subs), np.array(skus)


def _draw(
    model: _Model, rng: np.random.Generator, timeline: _Timeline, n: int, subs: IntArray,
    skus: IntArray,
) -> Draw:  # fmt: skip
    weights = np.array([s.weight for s in model.subs])
    more = n - len(subs)
    sub = np.concatenate([subs, rng.choice(len(model.subs), more, p=weights / weights.sum())])
    sku = np.concatenate([skus, np.full(more, -1)])
    region = np.full(n, len(model.regions))
    for s, info in enumerate(model.subs):
        rows = np.flatnonzero(sub == s)
        pick = rows[sku[rows] < 0]
        sku[pick] = rng.choice(len(model.skus), len(pick), p=_sku_weights(model, info))
        region[rows] = _regions(model, info, rng, len(rows))
    first, last = np.zeros(n, np.int64), np.full(n, timeline.days - 1, np.int64)
    short = (rng.random(n) < EPHEMERAL) & (np.arange(n) >= len(subs))
    born = rng.integers(-60, timeline.days, n)
    died = born + rng.geometric(1 / 35, n) - 1
    first[short], last[short] = np.maximum(born[short], 0), np.minimum(died[short], last[short])
    return _shape(model, rng, sub, sku, region, first, last)


def _sku_weights(model: _Model, sub: SubAccount) -> FloatArray:
    w = np.array([dict(s.workloads).get(sub.workload, 0.0) for s in model.skus])
    if w.sum() <= 0:
        raise ValueError(f"no {model.info.key} SKU serves workload {sub.workload!r}")
    return w / w.sum()


def _regions(model: _Model, sub: SubAccount, rng: np.random.Generator, n: int) -> IntArray:
    """Mostly the home region; the other regions of the sub account share a third."""
    if not sub.regions:
        return np.full(n, len(model.regions))
    ids = [r.id for r in model.regions]
    choices = np.array([ids.index(r) for r in sub.regions])
    p = np.full(len(choices), 0.35 / max(len(choices) - 1, 1))
    p[0] = 1.0 if len(choices) == 1 else 0.65
    return np.asarray(rng.choice(choices, n, p=p), dtype=np.int64)


def _shape(
    model: _Model, rng: np.random.Generator, sub: IntArray, sku: IntArray, region: IntArray,
    first: IntArray, last: IntArray,
) -> Draw:  # fmt: skip
    """Size, rhythm, growth and pricing model of each resource."""
    n = len(sub)
    env = np.array([s.environment for s in model.subs])[sub]
    lo, hi = (np.array([WEEKEND[e][k] for e in env]) for k in (0, 1))
    stored = model.sku_array("per_month")[sku]
    growth = model.sku_array("growth")[sku] * rng.uniform(0.5, 1.5, n)
    spot = model.sku_array("spot")[sku] & (rng.random(n) < np.array([SPOT_SHARE[e] for e in env]))
    return {
        "sub": sub, "sku": sku, "region": region, "first": first, "last": last, "spot": spot,
        "base": model.sku_array("daily_quantity")[sku] * rng.lognormal(0.0, 0.7, n),
        "weekend": np.where(stored, 1.0, rng.uniform(lo, hi)),
        "growth": np.log1p(growth) / DAYS_PER_MONTH,
        "sigma": np.where(model.sku_array("instance")[sku] | stored, 0.03, 0.1),
        "anomaly": np.full(n, -1),
    }  # fmt: skip


def _anomaly_draw(model: _Model, rng: np.random.Generator, draw: Draw, p: _Planned) -> Draw | None:
    """The resources an anomaly adds: a new region, a GPU burst, a forgotten cluster."""
    plan = p.plan
    if p.multiplies or plan.provider != model.info.key or plan.sku_code is None:
        return None
    sub = model.sub_index(plan.sub_account_id)
    sku = next(i for i, s in enumerate(model.skus) if s.code == plan.sku_code)
    services = model.sku_array("service")[draw["sku"]]
    in_scope = sum(1 for s, v in zip(draw["sub"], services, strict=True)
                   if s == sub and v.name == plan.service)  # fmt: skip
    n = max(2 if plan.kind == "new_region" else 3, math.ceil(plan.factor * in_scope))
    region_id = plan.region or model.subs[sub].regions[0]
    region = np.full(n, [r.id for r in model.regions].index(region_id))
    span = np.full(n, p.start), np.full(n, p.end)
    more = _shape(model, rng, np.full(n, sub), np.full(n, sku), region, *span)
    more["anomaly"] = np.full(n, p.index)
    if plan.kind != "new_region":  # busy around the clock
        more["weekend"], more["sigma"] = np.ones(n), np.zeros(n)
    return more


def _finish(
    model: _Model, rng: np.random.Generator, draw: Draw, planned: tuple[_Planned, ...]
) -> _Catalog:
    sku, sub = draw["sku"], draw["sub"]
    factor = np.array([r.price_factor for r in model.regions] + [1.0])[draw["region"]]
    list_usd = np.round(model.sku_array("list_price")[sku] * factor, 10)
    discount = np.array([model.account_of(i).negotiated_discount for i in range(len(model.subs))])
    contracted = np.round(list_usd * (1 - discount[sub]), 10)
    commit = _eligibility(model, draw)
    names = np.array([s.service.name for s in model.skus])[sku]
    sub_ids = np.array([s.id for s in model.subs])[sub]
    scopes = {
        p.index: (sub_ids == p.plan.sub_account_id) & (names == p.plan.service)
        for p in planned
        if p.multiplies and p.plan.provider == model.info.key
    }
    capacity, rate = _capacities(model, draw, commit, contracted)
    return _Catalog(
        sub=sub, sku=sku, region=draw["region"], base=draw["base"], weekend=draw["weekend"],
        growth=draw["growth"], sigma=draw["sigma"], first=draw["first"], last=draw["last"],
        spot=draw["spot"], anomaly=draw["anomaly"], commit=commit, list_usd=list_usd,
        contracted_usd=contracted, scopes=scopes, capacity=capacity, commit_rate=rate,
        flags={k: model.sku_array(k)[sku] for k in ("instance", "per_month", "batch")},
        strings=_resource_strings(model, rng, draw),
    )  # fmt: skip


def _eligibility(model: _Model, draw: Draw) -> IntArray:
    """The commitment each resource may draw on; spot and anomaly resources draw on none."""
    commit = np.full(len(draw["sub"]), len(model.commitments))
    accounts = np.array([a.id for a in model.accounts])[model.sub_account[draw["sub"]]]
    names = np.array([s.service.name for s in model.skus])[draw["sku"]]
    codes = model.sku_array("code")[draw["sku"]]
    regions = np.array([r.id for r in model.regions] + [""])[draw["region"]]
    free = ~draw["spot"] & (draw["anomaly"] < 0)
    for i, c in reversed(list(enumerate(model.commitments))):
        ok = free & (accounts == c.billing_account_id) & (names == c.service)
        if c.sku_code is not None:
            ok &= (codes == c.sku_code) & (regions == c.region)
        commit[ok] = i
    return commit


def _capacities(
    model: _Model, draw: Draw, commit: IntArray, contracted: FloatArray
) -> tuple[FloatArray, FloatArray]:
    """Size each commitment against the weekday usage it may cover on the first day.

    Spend commitments count USD at the discounted rate, in whole cents an hour; Usage
    commitments count hours, in whole machines.
    """
    capacity, rate = np.zeros(len(model.commitments)), np.ones(len(model.commitments))
    hours = np.where(model.sku_array("instance")[draw["sku"]], 24.0, draw["base"])
    for i, c in enumerate(model.commitments):
        mine = (commit == i) & (draw["first"] == 0)
        if c.category == "Spend":
            spend = float(np.sum(hours[mine] * contracted[mine])) * (1 - c.discount)
            capacity[i] = 24.0 * max(round(spend * c.size / 24.0, 2), 1.0)
        else:
            rate[i] = round(_covered_price(model, c) * (1 - c.discount), 10)
            capacity[i] = 24.0 * max(round(float(np.sum(hours[mine])) * c.size / 24.0), 1)
    return capacity, rate


def _covered_price(model: _Model, c: Commitment) -> float:
    """The contracted USD price of the SKU and region a Usage commitment covers."""
    sku = next(s for s in model.skus if s.code == c.sku_code)
    region = next(r for r in model.regions if r.id == c.region)
    account = next(a for a in model.accounts if a.id == c.billing_account_id)
    list_usd = round(sku.list_price * region.price_factor, 10)
    return round(list_usd * (1 - account.negotiated_discount), 10)


def _resource_strings(model: _Model, rng: np.random.Generator, draw: Draw) -> dict[str, pa.Array]:
    """ResourceId, ResourceName, AvailabilityZone and Tags, once per resource."""
    n = len(draw["sub"])
    hexes, zone_pick = rng.integers(0, 2**62, n), rng.integers(0, 1 << 30, n)
    teams, offset = rng.integers(0, len(NORTHWIND.teams), n), float(rng.random())
    ids, names, zones, tags = [], [], [], []
    cache: dict[tuple[str, str, int], str | None] = {}
    for i, (s, k, r) in enumerate(zip(draw["sub"], draw["sku"], draw["region"], strict=True)):
        sub, sku = model.subs[s], model.skus[k]
        region = model.regions[r] if r < len(model.regions) else None
        zone = region.zones[zone_pick[i] % len(region.zones)] if region and sku.zonal else None
        names.append(f"{sub.name}-{sku.service.role}-{i:05d}")
        ids.append(sku.service.id_template.format(
            account=sub.id, subname=sub.name, region=region.id if region else "",
            zone=zone or "", name=names[-1], hex=f"{hexes[i]:017x}"))  # fmt: skip
        zones.append(zone)
        team = NORTHWIND.teams[teams[i]].key if sub.shared else sub.team
        variant = _tag_variant(i, offset) if draw["anomaly"][i] < 0 else 0
        if (team, sub.id, variant) not in cache:
            cache[team, sub.id, variant] = tag_json(
                NORTHWIND, model.info.tag_style, team, sub.environment, variant
            )
        tags.append(cache[team, sub.id, variant])
    columns = {"ResourceId": ids, "ResourceName": names, "AvailabilityZone": zones, "Tags": tags}
    return {name: _strings(values) for name, values in columns.items()}


def _tag_variant(i: int, offset: float) -> int:
    """Which ``tag_json`` variant resource ``i`` gets.

    A golden-ratio sequence instead of random draws keeps the shares exact at any size.
    """
    u = (i * GOLDEN + offset) % 1.0
    untagged, no_team, bad_team, bad_env = TAG_SHARES
    if u >= bad_env:
        return 0
    if u < no_team:
        return 1 if u < untagged else 2
    return (3 if u < bad_team else 5) + i % 2
