"""Generate the Northwind Analytics demo: daily FOCUS 1.2 cost files, one per provider and month.

The work splits in three:

* a **resource catalog** per provider (``_build_catalog``): which resources exist, in
  which sub account, region and SKU, how big they are and when they live. Its size
  follows ``rows_per_month``, so a bigger demo is a bigger company, not pricier rows;
* **usage blocks** (``_usage_block``): resources x days of one month, priced,
  covered by commitment discounts and anomalies applied, built with numpy and
  pyarrow in chunks of at most ``CHUNK_ROWS`` rows and streamed to the open file;
* **month-end rows** (``_month_end_rows``): commitment purchases and their unused
  part, credits, support, the SaaS subscription and tax, which depend on the
  month's totals, so they come after the usage of each file.

Every (provider, month) draws from its own ``PCG64`` stream, so a month's file
depends only on the seed, the spec and the catalog, and two runs are byte-identical.

This module is longer than the house's 400 lines: catalog, pricing and writing share
the per-provider lookup tables, and splitting them would pass those around in
another layer of types. ``company.py`` holds all the data.
"""

from __future__ import annotations

import calendar
import gzip
import hashlib
import json
import math
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import IO, Any, Literal

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.csv as pcsv
import pyarrow.parquet as pq

from costprism.demo.company import (
    ENVIRONMENT_MISSPELLINGS,
    NORTHWIND,
    TEAM_MISSPELLINGS,
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
    {
        "BilledCost", "EffectiveCost", "ListCost", "ContractedCost", "ListUnitPrice",
        "ContractedUnitPrice", "PricingQuantity", "PricingCurrencyContractedUnitPrice",
        "PricingCurrencyEffectiveCost", "PricingCurrencyListUnitPrice", "ConsumedQuantity",
        "CommitmentDiscountQuantity",
    }
)  # fmt: skip
TIMESTAMP_COLUMNS = (
    "BillingPeriodStart",
    "BillingPeriodEnd",
    "ChargePeriodStart",
    "ChargePeriodEnd",
)
CHUNK_ROWS = 250_000
EXTENSIONS: dict[str, str] = {"csv": "csv", "csv.gz": "csv.gz", "parquet": "parquet"}
PRICING_CATEGORIES = ("Standard", "Dynamic", "Committed")
STANDARD, DYNAMIC, COMMITTED = 0, 1, 2
DAYS_PER_MONTH = 30.44
MIN_ROWS_PER_MONTH = 2_000


@dataclass(frozen=True, kw_only=True)
class DemoSpec:
    seed: int = 7
    months: int = 13
    end_month: date | None = None  # first day of the last month; default: last complete month
    rows_per_month: int = 50_000  # approximate rows per month over all providers (±10%)
    file_format: FileFormat = "csv"

    def __post_init__(self) -> None:
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
    region_id: str | None  # set for new_region
    start: date
    end: date  # inclusive
    impact_estimate: float  # extra EffectiveCost over the window
    billing_currency: str
    description: str

    @property
    def scope(self) -> dict[str, str]:
        scope = {"SubAccountId": self.sub_account_id, "ServiceName": self.service_name}
        if self.region_id is not None:
            scope["RegionId"] = self.region_id
        return scope

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


# --------------------------------------------------------------------------- timeline


@dataclass(frozen=True, kw_only=True)
class _Month:
    index: int
    first: date
    start: int  # day index of the first day in the timeline
    days: int

    @property
    def label(self) -> str:
        return f"{self.first.year:04d}-{self.first.month:02d}"


@dataclass(frozen=True, kw_only=True)
class _Timeline:
    months: tuple[_Month, ...]
    day0: date
    days: int

    def date(self, day: int) -> date:
        return self.day0 + timedelta(days=day)


def _timeline(spec: DemoSpec) -> _Timeline:
    end = spec.end_month or _previous_month(datetime.now(UTC).date())
    firsts = [_add_months(end, k - spec.months + 1) for k in range(spec.months)]
    months, start = [], 0
    for i, first in enumerate(firsts):
        days = calendar.monthrange(first.year, first.month)[1]
        months.append(_Month(index=i, first=first, start=start, days=days))
        start += days
    return _Timeline(months=tuple(months), day0=firsts[0], days=start)


def _previous_month(today: date) -> date:
    return _add_months(today.replace(day=1), -1)


def _add_months(first: date, n: int) -> date:
    k = first.year * 12 + first.month - 1 + n
    return date(k // 12, k % 12 + 1, 1)


# --------------------------------------------------------------------------- provider model


@dataclass(frozen=True, kw_only=True, eq=False)
class _Model:
    """One provider's slice of the company, with pyarrow lookup tables for ``take``."""

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
    lookups: dict[str, Any] = field(default_factory=dict)

    def account_of(self, sub: int) -> BillingAccount:
        return self.accounts[int(self.sub_account[sub])]


def _model(company: Company, index: int) -> _Model:
    info = company.providers[index]
    subs = tuple(s for s in company.sub_accounts if s.provider == info.key)
    accounts = tuple(a for a in company.billing_accounts if a.provider == info.key)
    skus = tuple(s for s in company.skus if s.provider == info.key)
    charges = (c.service for c in company.monthly_charges if c.provider == info.key)
    by_name = {s.service.name: s.service for s in reversed(skus)}
    by_name |= {c.name: c for c in charges if c.name not in by_name}
    names = list(dict.fromkeys([s.service.name for s in skus] + list(by_name)))
    account_ids = [a.id for a in accounts]
    model = _Model(
        index=index,
        info=info,
        subs=subs,
        accounts=accounts,
        skus=skus,
        services=tuple(by_name[n] for n in names),
        regions=tuple(r for r in company.regions if r.provider == info.key),
        commitments=tuple(c for c in company.commitments if c.provider == info.key),
        sub_account=np.array([account_ids.index(s.billing_account_id) for s in subs]),
        sku_service=np.array([names.index(s.service.name) for s in skus]),
    )
    model.lookups.update(_lookups(model))
    return model


def _strings(values: list[str | None]) -> pa.Array:
    return pa.array(values, type=pa.string())


def _lookups(m: _Model) -> dict[str, pa.Array]:
    """Per-sub, per-SKU and per-region columns; region and commitment tables end in null."""
    acc = [m.account_of(i) for i in range(len(m.subs))]
    cats = PRICING_CATEGORIES
    return {
        "SubAccountId": _strings([s.id for s in m.subs]),
        "SubAccountName": _strings([s.name for s in m.subs]),
        "BillingAccountId": _strings([a.id for a in acc]),
        "BillingAccountName": _strings([a.name for a in acc]),
        "BillingAccountType": _strings([a.type for a in acc]),
        "BillingCurrency": _strings([a.currency for a in acc]),
        "PublisherName": _strings([s.service.publisher or m.info.publisher for s in m.skus]),
        "ServiceName": _strings([s.service.name for s in m.skus]),
        "ServiceCategory": _strings([s.service.category for s in m.skus]),
        "ServiceSubcategory": _strings([s.service.subcategory for s in m.skus]),
        "SkuId": _strings([s.code for s in m.skus]),
        "SkuMeter": _strings([s.meter for s in m.skus]),
        "SkuPriceDetails": _strings([s.details for s in m.skus]),
        "PricingUnit": _strings([s.pricing_unit for s in m.skus]),
        "ConsumedUnit": _strings([s.consumed_unit for s in m.skus]),
        "ResourceType": _strings([s.service.resource_type for s in m.skus]),
        "SkuPriceId": _strings(
            [f"{s.code}.{c[:2].upper()}{i}" for s in m.skus for i, c in enumerate(cats)]
        ),  # fmt: skip
        "ChargeDescription": _strings([_usage_description(s, c) for s in m.skus for c in cats]),
        "RegionId": _strings([r.id for r in m.regions] + [None]),
        "RegionName": _strings([r.name for r in m.regions] + [None]),
        "CommitmentDiscountId": _strings([c.id for c in m.commitments] + [None]),
        "CommitmentDiscountName": _strings([c.name for c in m.commitments] + [None]),
        "CommitmentDiscountCategory": _strings([c.category for c in m.commitments] + [None]),
        "CommitmentDiscountType": _strings([c.type for c in m.commitments] + [None]),
        "CommitmentDiscountUnit": _strings([_commit_unit(c) for c in m.commitments] + [None]),
    }


def _usage_description(sku: Sku, category: str) -> str:
    how = {"Standard": "on-demand", "Dynamic": "spot", "Committed": "commitment-covered"}
    return f"{sku.description} ({how[category]}, per {sku.pricing_unit})"


def _commit_unit(c: Commitment) -> str:
    return "USD" if c.category == "Spend" else "Hours"


# --------------------------------------------------------------------------- anomalies


@dataclass(frozen=True, kw_only=True)
class _Planned:
    index: int
    plan: AnomalyPlan
    start: int  # day index
    end: int  # day index, inclusive

    @property
    def multiplies(self) -> bool:
        return self.plan.kind in ("spike", "egress_spike")


def _plan_anomalies(company: Company, timeline: _Timeline) -> tuple[_Planned, ...]:
    """Place each anomaly in the timeline, with at least 14 days of history before it."""
    planned = []
    last = timeline.days - 1
    for i, plan in enumerate(company.anomalies):
        start = min(max(round(plan.at * timeline.days), 14), last)
        end = last if plan.days is None else min(start + plan.days - 1, last)
        planned.append(_Planned(index=i, plan=plan, start=start, end=end))
    return tuple(planned)


def _injected(p: _Planned, model: _Model, timeline: _Timeline, impact: float) -> InjectedAnomaly:
    sub = next(i for i, s in enumerate(model.subs) if s.id == p.plan.sub_account_id)
    return InjectedAnomaly(
        kind=p.plan.kind,
        provider=model.info.name,
        sub_account_id=p.plan.sub_account_id,
        service_name=p.plan.service,
        region_id=p.plan.region if p.plan.kind == "new_region" else None,
        start=timeline.date(p.start),
        end=timeline.date(p.end),
        impact_estimate=impact,
        billing_currency=model.account_of(sub).currency,
        description=p.plan.description,
    )


# --------------------------------------------------------------------------- resource catalog

LIFE_EPHEMERAL = 0.2  # share of resources that come and go (mean life ~5 weeks)
WEEKEND = {"prod": (0.85, 1.0), "staging": (0.45, 0.85), "dev": (0.2, 0.6), "sandbox": (0.1, 0.5)}
SPOT_SHARE = {"prod": 0.1, "staging": 0.4, "dev": 0.5, "sandbox": 0.5}
UNTAGGED, NO_TEAM, BAD_TEAM, BAD_ENV = 0.09, 0.145, 0.175, 0.2  # cumulative shares
GOLDEN = 0.6180339887498949


@dataclass(frozen=True, kw_only=True, eq=False)
class _Catalog:
    """One provider's resources, one entry per resource in each array."""

    sub: IntArray
    sku: IntArray
    region: IntArray  # into model.regions; len(model.regions) when there is none
    base: FloatArray  # median daily quantity; the stored size for per_month SKUs
    weekend: FloatArray  # weekend usage as a share of weekdays
    growth: FloatArray  # log growth per day
    sigma: FloatArray  # day-to-day noise
    first: IntArray  # first and last day alive, inclusive
    last: IntArray
    spot: BoolArray
    anomaly: IntArray  # the anomaly that added the resource, or -1
    commit: IntArray  # the commitment it may use; len(model.commitments) when none
    list_usd: FloatArray
    contracted_usd: FloatArray
    instance: BoolArray
    per_month: BoolArray
    batch: BoolArray
    scopes: dict[int, BoolArray]  # multiplying anomaly -> resources in its scope
    capacity: FloatArray  # per commitment: units per day
    commit_rate: FloatArray  # per commitment: USD per unit
    strings: dict[str, pa.Array]  # ResourceId, ResourceName, AvailabilityZone, Tags

    def alive(self, start: int, end: int) -> IntArray:
        return np.flatnonzero((self.first <= end) & (self.last >= start))

    def days_alive(self, start: int, end: int) -> int:
        lo, hi = np.maximum(self.first, start), np.minimum(self.last, end)
        return int(np.clip(hi - lo + 1, 0, None).sum())


Draw = dict[str, npt.NDArray[Any]]


def _rng(seed: int, provider: int, stream: int) -> np.random.Generator:
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence([seed, provider, stream])))


def _build_catalog(
    model: _Model, spec: DemoSpec, timeline: _Timeline, planned: tuple[_Planned, ...]
) -> _Catalog:
    rng = _rng(spec.seed, model.index, 0)
    wanted = _usage_rows_per_month(model, spec) * len(timeline.months)
    subs, skus = _anchors(model, planned)
    pool = len(subs) + math.ceil(wanted / (0.6 * timeline.days)) + 32
    draw = _draw(model, rng, timeline, pool, subs, skus)
    alive = np.minimum(draw["last"], timeline.days - 1) - draw["first"] + 1
    keep = int(np.searchsorted(np.cumsum(np.clip(alive, 0, None)), wanted)) + 1
    draw = {k: v[: max(keep, len(subs))] for k, v in draw.items()}
    extra = [_anomaly_draw(model, rng, timeline, draw, p) for p in planned]
    for more in (e for e in extra if e is not None):
        draw = {k: np.concatenate([draw[k], more[k]]) for k in draw}
    return _finish(model, rng, draw, timeline, planned)


def _usage_rows_per_month(model: _Model, spec: DemoSpec) -> float:
    """This provider's share of the rows, less the month-end rows it adds."""
    taxed = sum(1 for i in range(len(model.subs)) if model.account_of(i).tax_rate > 0)
    overhead = len(model.commitments) * 31 + taxed * len(model.services) * 0.6 + 3
    return max(spec.rows_per_month * model.info.row_share - overhead, 31.0)


def _anchors(model: _Model, planned: tuple[_Planned, ...]) -> tuple[IntArray, IntArray]:
    """One resource per sub account, and two in the scope of each multiplying anomaly."""
    subs, skus = list(range(len(model.subs))), [-1] * len(model.subs)
    sub_ids = [s.id for s in model.subs]
    for p in planned:
        if p.multiplies and p.plan.provider == model.info.key:
            sku = next(i for i, s in enumerate(model.skus) if s.service.name == p.plan.service)
            subs += [sub_ids.index(p.plan.sub_account_id)] * 2
            skus += [sku] * 2
    return np.array(subs), np.array(skus)


def _draw(
    model: _Model, rng: np.random.Generator, timeline: _Timeline, n: int, subs: IntArray,
    skus: IntArray,
) -> Draw:  # fmt: skip
    weights = np.array([s.weight for s in model.subs])
    extra = n - len(subs)
    sub = np.concatenate([subs, rng.choice(len(model.subs), extra, p=weights / weights.sum())])
    sku = np.concatenate([skus, np.full(extra, -1)])
    region = np.full(n, len(model.regions))
    for s, info in enumerate(model.subs):
        rows = np.flatnonzero(sub == s)
        pick = rows[sku[rows] < 0]
        sku[pick] = rng.choice(len(model.skus), len(pick), p=_sku_weights(model, info))
        region[rows] = _regions(model, info, rng, len(rows))
    first, last = _lifetimes(rng, timeline, n)
    first[: len(subs)], last[: len(subs)] = 0, timeline.days - 1
    env = np.array([model.subs[s].environment for s in sub])
    return _shape(model, rng, sub, sku, region, first, last, env)


def _sku_weights(model: _Model, sub: SubAccount) -> FloatArray:
    w = np.array([dict(s.workloads).get(sub.workload, 0.0) for s in model.skus])
    if w.sum() <= 0:
        raise ValueError(f"no SKU of {model.info.key} serves workload {sub.workload!r}")
    return w / w.sum()


def _regions(model: _Model, sub: SubAccount, rng: np.random.Generator, n: int) -> IntArray:
    if not sub.regions:
        return np.full(n, len(model.regions))
    ids = [r.id for r in model.regions]
    choices = np.array([ids.index(r) for r in sub.regions])
    p = np.full(len(choices), 0.35 / max(len(choices) - 1, 1))
    p[0] = 1.0 if len(choices) == 1 else 0.65
    return np.asarray(rng.choice(choices, n, p=p), dtype=np.int64)


def _lifetimes(rng: np.random.Generator, timeline: _Timeline, n: int) -> tuple[IntArray, IntArray]:
    """Most resources live throughout; a fifth come and go in a steady state."""
    first, last = np.zeros(n, np.int64), np.full(n, timeline.days - 1, np.int64)
    short = rng.random(n) < LIFE_EPHEMERAL
    born = rng.integers(-60, timeline.days, n)
    died = born + rng.geometric(1 / 35, n) - 1
    first[short] = np.maximum(born[short], 0)
    last[short] = np.minimum(died[short], timeline.days - 1)
    return first, last


def _shape(
    model: _Model, rng: np.random.Generator, sub: IntArray, sku: IntArray, region: IntArray,
    first: IntArray, last: IntArray, env: npt.NDArray[np.str_],
) -> Draw:  # fmt: skip
    n = len(sub)
    daily = np.array([s.daily_quantity for s in model.skus])[sku]
    lo, hi = (np.array([WEEKEND[e][k] for e in env]) for k in (0, 1))
    growth = np.array([s.growth for s in model.skus])[sku] * rng.uniform(0.5, 1.5, n)
    spot_ok = np.array([s.spot for s in model.skus])[sku]
    spot = spot_ok & (rng.random(n) < np.array([SPOT_SHARE[e] for e in env]))
    return {
        "sub": sub, "sku": sku, "region": region, "first": first, "last": last, "spot": spot,
        "base": daily * rng.lognormal(0.0, 0.7, n),
        "weekend": rng.uniform(lo, hi),
        "growth": np.log1p(growth) / DAYS_PER_MONTH,
        "sigma": np.where(np.array([s.instance for s in model.skus])[sku], 0.03, 0.1),
        "anomaly": np.full(n, -1),
    }  # fmt: skip


def _anomaly_draw(
    model: _Model, rng: np.random.Generator, timeline: _Timeline, draw: Draw, p: _Planned
) -> Draw | None:
    """The resources an anomaly adds: a new region, a GPU burst, a forgotten cluster."""
    plan = p.plan
    if p.multiplies or plan.provider != model.info.key or plan.sku_code is None:
        return None
    sub = next(i for i, s in enumerate(model.subs) if s.id == plan.sub_account_id)
    sku = next(i for i, s in enumerate(model.skus) if s.code == plan.sku_code)
    services = np.array([s.service.name for s in model.skus])[draw["sku"]]
    in_scope = int(np.sum((draw["sub"] == sub) & (services == plan.service)))
    n = max(3 if plan.kind != "new_region" else 2, math.ceil(plan.factor * in_scope))
    region_id = plan.region or model.subs[sub].regions[0]
    region = np.full(n, [r.id for r in model.regions].index(region_id))
    env = np.full(n, model.subs[sub].environment)
    first, last = np.full(n, p.start), np.full(n, p.end)
    more = _shape(model, rng, np.full(n, sub), np.full(n, sku), region, first, last, env)
    more["anomaly"] = np.full(n, p.index)
    if plan.kind != "new_region":  # busy around the clock
        more["weekend"], more["sigma"] = np.ones(n), np.zeros(n)
    return more


def _finish(
    model: _Model, rng: np.random.Generator, draw: Draw, timeline: _Timeline,
    planned: tuple[_Planned, ...],
) -> _Catalog:  # fmt: skip
    sku, sub = draw["sku"], draw["sub"]
    factor = np.array([r.price_factor for r in model.regions] + [1.0])[draw["region"]]
    list_usd = np.round(np.array([s.list_price for s in model.skus])[sku] * factor, 10)
    discount = np.array([model.account_of(i).negotiated_discount for i in range(len(model.subs))])
    commit = _eligibility(model, draw)
    flag = {
        k: np.array([getattr(s, k) for s in model.skus])[sku]
        for k in ("instance", "per_month", "batch")
    }
    services = np.array([s.service.name for s in model.skus])[sku]
    sub_ids = np.array([s.id for s in model.subs])[sub]
    scopes = {
        p.index: (sub_ids == p.plan.sub_account_id) & (services == p.plan.service)
        for p in planned
        if p.multiplies and p.plan.provider == model.info.key
    }
    contracted = np.round(list_usd * (1 - discount[sub]), 10)
    capacity, rate = _capacities(model, draw, commit, contracted)
    return _Catalog(
        sub=sub, sku=sku, region=draw["region"], base=draw["base"], weekend=draw["weekend"],
        growth=draw["growth"], sigma=draw["sigma"], first=draw["first"], last=draw["last"],
        spot=draw["spot"], anomaly=draw["anomaly"], commit=commit, list_usd=list_usd,
        contracted_usd=contracted, instance=flag["instance"], per_month=flag["per_month"],
        batch=flag["batch"], scopes=scopes, capacity=capacity, commit_rate=rate,
        strings=_resource_strings(model, rng, draw),
    )  # fmt: skip


def _eligibility(model: _Model, draw: Draw) -> IntArray:
    """The commitment each resource may draw on; spot and anomaly resources draw on none."""
    n = len(draw["sub"])
    commit = np.full(n, len(model.commitments))
    accounts = np.array([a.id for a in model.accounts])[model.sub_account[draw["sub"]]]
    services = np.array([s.service.name for s in model.skus])[draw["sku"]]
    codes = np.array([s.code for s in model.skus])[draw["sku"]]
    regions = np.array([r.id for r in model.regions] + [""])[draw["region"]]
    free = ~draw["spot"] & (draw["anomaly"] < 0)
    for i, c in reversed(list(enumerate(model.commitments))):
        ok = free & (accounts == c.billing_account_id) & (services == c.service)
        if c.sku_code is not None:
            ok &= (codes == c.sku_code) & (regions == c.region)
        commit[ok] = i
    return commit


def _capacities(
    model: _Model, draw: Draw, commit: IntArray, contracted: FloatArray
) -> tuple[FloatArray, FloatArray]:
    """Size each commitment against the weekday usage it may cover on the first day."""
    capacity, rate = np.zeros(len(model.commitments)), np.ones(len(model.commitments))
    instance = np.array([s.instance for s in model.skus])[draw["sku"]]
    hours = np.where(instance, 24.0, draw["base"])
    for i, c in enumerate(model.commitments):
        mine = (commit == i) & (draw["first"] == 0)
        if c.category == "Spend":
            spend = float(np.sum(hours[mine] * contracted[mine])) * (1 - c.discount)
            capacity[i] = max(24.0 * round(spend * c.size / 24.0, 2), 24.0)
        else:
            rate[i] = round(_sku_price(model, c) * (1 - c.discount), 10)
            capacity[i] = 24.0 * max(round(float(np.sum(hours[mine])) * c.size / 24.0), 1)
    return capacity, rate


def _sku_price(model: _Model, c: Commitment) -> float:
    """The contracted USD price of the one SKU and region a Usage commitment covers."""
    sku = next(s for s in model.skus if s.code == c.sku_code)
    region = next(r for r in model.regions if r.id == c.region)
    account = next(a for a in model.accounts if a.id == c.billing_account_id)
    list_usd = round(sku.list_price * region.price_factor, 10)
    return round(list_usd * (1 - account.negotiated_discount), 10)


def _resource_strings(model: _Model, rng: np.random.Generator, draw: Draw) -> dict[str, pa.Array]:
    """ResourceId, ResourceName, AvailabilityZone and Tags, once per resource."""
    hexes = rng.integers(0, 2**62, len(draw["sub"]))
    zone_pick = rng.integers(0, 1 << 30, len(draw["sub"]))
    teams = rng.integers(0, len(NORTHWIND.teams), len(draw["sub"]))
    offset = float(rng.random())
    ids, names, zones, tags = [], [], [], []
    cache: dict[tuple[str, str, int], str | None] = {}
    for i, (s, k, r) in enumerate(zip(draw["sub"], draw["sku"], draw["region"], strict=True)):
        sub, sku = model.subs[s], model.skus[k]
        region = model.regions[r] if r < len(model.regions) else None
        zone = region.zones[zone_pick[i] % len(region.zones)] if region and sku.zonal else None
        name = f"{sub.name}-{sku.service.role}-{i:05d}"
        ids.append(sku.service.id_template.format(
            account=sub.id, subname=sub.name, region=region.id if region else "",
            zone=zone or "", name=name, hex=f"{hexes[i]:017x}"))  # fmt: skip
        names.append(name)
        zones.append(zone)
        team = NORTHWIND.teams[teams[i]].key if sub.shared else sub.team
        variant = _tag_variant(i, offset) if draw["anomaly"][i] < 0 else 0
        key = (team, sub.id, variant)
        if key not in cache:
            cache[key] = _tags(model.info.tag_style, team, sub.environment, variant)
        tags.append(cache[key])
    return {
        "ResourceId": _strings(ids),
        "ResourceName": _strings(names),
        "AvailabilityZone": _strings(zones),
        "Tags": _strings(tags),
    }


def _tag_variant(i: int, offset: float) -> int:
    """0 tagged, 1 untagged, 2 no team key, 3/4 misspelled team, 5/6 misspelled environment.

    A golden-ratio sequence rather than random draws keeps the shares exact at any size.
    """
    u = (i * GOLDEN + offset) % 1.0
    if u < UNTAGGED:
        return 1
    if u < NO_TEAM:
        return 2
    if u < BAD_TEAM:
        return 3 + i % 2
    return 5 + i % 2 if u < BAD_ENV else 0


def _tags(style: str, team: str, env: str, variant: int) -> str | None:
    if variant == 1:
        return None
    info = next(t for t in NORTHWIND.teams if t.key == team)
    pascal = style == "pascal"
    if variant in (3, 4):
        team = TEAM_MISSPELLINGS[team][1 if not pascal else variant - 3]
    if variant in (5, 6):
        env = ENVIRONMENT_MISSPELLINGS[env][1 if not pascal else variant - 5]
    cc = info.cost_center if pascal else info.cost_center.lower()
    tags = {"team": team, "product": info.product}
    tags.update(
        {"CostCenter": cc, "Environment": env}
        if pascal
        else {"cost-center": cc, "environment": env}
    )
    if variant == 2:
        del tags["team"]
    return json.dumps(tags, separators=(",", ":"))


# --------------------------------------------------------------------------- usage rows


@dataclass(frozen=True, kw_only=True, eq=False)
class _Days:
    """Timestamps by day index: text for CSV, ``timestamp("us", "UTC")`` for Parquet."""

    values: pa.Array

    def take(self, days: IntArray) -> pa.Array:
        return self.values.take(pa.array(days.astype(np.int32)))

    def repeat(self, day: int, n: int) -> pa.Array:
        return pa.repeat(self.values[day], n)


def _days(timeline: _Timeline, file_format: FileFormat) -> _Days:
    stamps = np.datetime64(timeline.day0, "D") + np.arange(timeline.days + 1)
    if file_format == "parquet":
        return _Days(values=pa.array(stamps.astype("datetime64[us]"), pa.timestamp("us", "UTC")))
    return _Days(values=_strings([f"{d}T00:00:00Z" for d in stamps.astype(str)]))


def focus_schema(file_format: FileFormat) -> pa.Schema:
    """The 57 FOCUS 1.2 columns, typed as written for ``file_format``."""
    stamp = pa.timestamp("us", "UTC") if file_format == "parquet" else pa.string()
    return pa.schema(
        (name, pa.float64() if name in NUMERIC_COLUMNS else stamp if name in TIMESTAMP_COLUMNS
         else pa.string())
        for name in FOCUS_COLUMNS
    )  # fmt: skip


@dataclass(frozen=True, kw_only=True, eq=False)
class _Context:
    model: _Model
    cat: _Catalog
    month: _Month
    timeline: _Timeline
    planned: tuple[_Planned, ...]
    days: _Days
    schema: pa.Schema
    fx: FloatArray  # per sub: units of billing currency per USD
    invoices: pa.Array  # per sub


@dataclass(kw_only=True, eq=False)
class _MonthState:
    remaining: FloatArray  # commitment units left, by (commitment, day)
    billed: FloatArray  # billed cost by (sub, service), in billing currency
    impact: FloatArray  # extra EffectiveCost (USD) by anomaly


@dataclass(frozen=True, kw_only=True, eq=False)
class _Priced:
    category: IntArray
    list_unit: FloatArray
    contracted_unit: FloatArray
    list_usd: FloatArray
    contracted_usd: FloatArray
    list_cost: FloatArray
    contracted_cost: FloatArray
    billed: FloatArray
    effective: FloatArray
    effective_usd: FloatArray
    covered: BoolArray
    commit_units: FloatArray


def _usage_block(
    ctx: _Context, res: IntArray, rng: np.random.Generator, state: _MonthState
) -> pa.Table:
    m = ctx.month
    r = np.tile(res, m.days)
    g = np.repeat(np.arange(m.start, m.start + m.days), len(res))
    live = (ctx.cat.first[r] <= g) & (ctx.cat.last[r] >= g)
    r, g = r[live], g[live]
    mult, anomaly, share = _spikes(ctx, r, g)
    qty = np.round(_quantity(ctx, r, g, rng) * mult, 6)
    priced = _price(ctx, r, g, qty, rng, state)
    n_services = len(ctx.model.services)
    key = ctx.cat.sub[r] * n_services + ctx.model.sku_service[ctx.cat.sku[r]]
    state.billed += np.bincount(key, weights=priced.billed, minlength=state.billed.size)
    hit = anomaly >= 0
    weights = priced.effective_usd[hit] * share[hit]
    state.impact += np.bincount(anomaly[hit], weights=weights, minlength=state.impact.size)
    return _usage_table(ctx, r, g, qty, priced)


def _quantity(ctx: _Context, r: IntArray, g: IntArray, rng: np.random.Generator) -> FloatArray:
    """Usage per resource-day: weekly rhythm, month-end batches, growth and noise."""
    cat, m = ctx.cat, ctx.month
    weekend = (ctx.timeline.day0.weekday() + g) % 7 >= 5
    use = np.where(weekend, cat.weekend[r], 1.0) * np.exp(
        rng.standard_normal(len(r)) * cat.sigma[r]
    )
    month_end = np.where(cat.batch[r] & (g - m.start >= m.days - 3), 1.8, 1.0)
    metered = cat.base[r] * use * month_end * np.exp(cat.growth[r] * g)
    metered = np.where(cat.per_month[r], metered / m.days, metered)
    return np.maximum(np.where(cat.instance[r], np.minimum(24.0, 24.0 * use), metered), 1e-4)


def _spikes(ctx: _Context, r: IntArray, g: IntArray) -> tuple[FloatArray, IntArray, FloatArray]:
    """Usage multipliers of the spike anomalies, and each row's anomaly and share of its cost."""
    mult, share = np.ones(len(r)), np.ones(len(r))
    anomaly = ctx.cat.anomaly[r].copy()
    for p in ctx.planned:
        scope = ctx.cat.scopes.get(p.index)
        if scope is None:
            continue
        hit = scope[r] & (g >= p.start) & (g <= p.end)
        mult[hit] *= p.plan.factor
        anomaly[hit] = p.index
        share[hit] = 1 - 1 / p.plan.factor
    return mult, anomaly, share


def _price(
    ctx: _Context, r: IntArray, g: IntArray, qty: FloatArray, rng: np.random.Generator,
    state: _MonthState,
) -> _Priced:  # fmt: skip
    cat = ctx.cat
    fx, spot = ctx.fx[cat.sub[r]], cat.spot[r]
    list_usd = cat.list_usd[r]
    spot_usd = np.round(list_usd * rng.uniform(0.28, 0.42, len(r)), 10)
    contracted_usd = np.where(spot, spot_usd, cat.contracted_usd[r])
    list_unit, contracted_unit = np.round(list_usd * fx, 10), np.round(contracted_usd * fx, 10)
    contracted_cost = np.round(contracted_unit * qty, 10)
    covered, units, committed = _commit(ctx, r, g, qty, contracted_cost, state)
    effective = np.where(covered, committed, contracted_cost)
    return _Priced(
        category=np.where(covered, COMMITTED, np.where(spot, DYNAMIC, STANDARD)),
        list_unit=list_unit, contracted_unit=contracted_unit, list_usd=list_usd,
        contracted_usd=contracted_usd, list_cost=np.round(list_unit * qty, 10),
        contracted_cost=contracted_cost, billed=np.where(covered, 0.0, contracted_cost),
        effective=effective, effective_usd=np.where(fx == 1.0, effective, np.round(effective / fx, 10)),
        covered=covered, commit_units=units,
    )  # fmt: skip


def _commit(
    ctx: _Context, r: IntArray, g: IntArray, qty: FloatArray, contracted_cost: FloatArray,
    state: _MonthState,
) -> tuple[BoolArray, FloatArray, FloatArray]:  # fmt: skip
    """Cover eligible rows while the day's commitment lasts: (covered, units, EffectiveCost)."""
    covered, units, effective = np.zeros(len(r), bool), np.zeros(len(r)), np.zeros(len(r))
    commitments = ctx.model.commitments
    idx = np.flatnonzero(ctx.cat.commit[r] < len(commitments))
    if len(idx) == 0:
        return covered, units, effective
    c = ctx.cat.commit[r[idx]]
    discount = np.array([x.discount for x in commitments])[c]
    spend = np.array([x.category == "Spend" for x in commitments])[c]
    by_spend = np.round(contracted_cost[idx] * (1 - discount), 10)
    cost = np.where(spend, by_spend, np.round(qty[idx] * ctx.cat.commit_rate[c], 10))
    u = np.where(spend, cost, qty[idx])
    ok = _cover(c * ctx.month.days + g[idx] - ctx.month.start, u, state.remaining)
    covered[idx[ok]], units[idx[ok]], effective[idx[ok]] = True, u[ok], cost[ok]
    return covered, units, effective


def _cover(key: IntArray, units: FloatArray, remaining: FloatArray) -> BoolArray:
    """Rows fit, in order, while the running total of their key stays within ``remaining``."""
    order = np.argsort(key, kind="stable")
    k, u = key[order], units[order]
    total = np.cumsum(u)
    starts = np.flatnonzero(np.r_[True, k[1:] != k[:-1]])
    before = np.repeat(total[starts] - u[starts], np.diff(np.r_[starts, len(k)]))
    ok = np.empty(len(k), bool)
    ok[order] = total - before <= remaining[k] + 1e-9
    remaining -= np.bincount(key[ok], weights=units[ok], minlength=remaining.size)
    return ok


def _usage_table(ctx: _Context, r: IntArray, g: IntArray, qty: FloatArray, p: _Priced) -> pa.Table:
    n, lk, model = len(r), ctx.model.lookups, ctx.model
    sub, sku = pa.array(ctx.cat.sub[r].astype(np.int32)), pa.array(ctx.cat.sku[r].astype(np.int32))
    sku_cat = pa.array((ctx.cat.sku[r] * 3 + p.category).astype(np.int32))
    res, region = pa.array(r.astype(np.int32)), pa.array(ctx.cat.region[r].astype(np.int32))
    none = len(model.commitments)
    commit = pa.array(np.where(p.covered, ctx.cat.commit[r], none).astype(np.int32))
    used = ~p.covered
    cols = {name: lk[name].take(sub) for name in ("BillingAccountId", "BillingAccountName",
            "BillingAccountType", "SubAccountId", "SubAccountName", "BillingCurrency")}  # fmt: skip
    cols |= {name: lk[name].take(sku) for name in ("PublisherName", "PricingUnit", "ConsumedUnit",
             "ServiceName", "ServiceCategory", "ServiceSubcategory", "SkuId", "SkuMeter",
             "SkuPriceDetails", "ResourceType")}  # fmt: skip
    cols |= {name: ctx.cat.strings[name].take(res) for name in ctx.cat.strings}
    cols |= {name: lk[name].take(commit) for name in ("CommitmentDiscountId",
             "CommitmentDiscountName", "CommitmentDiscountCategory", "CommitmentDiscountType",
             "CommitmentDiscountUnit")}  # fmt: skip
    cols |= {
        "ProviderName": pa.repeat(model.info.name, n),
        "InvoiceIssuerName": pa.repeat(model.info.invoice_issuer, n),
        "InvoiceId": ctx.invoices.take(sub),
        "SubAccountType": pa.repeat(model.info.sub_account_type, n),
        "BillingPeriodStart": ctx.days.repeat(ctx.month.start, n),
        "BillingPeriodEnd": ctx.days.repeat(ctx.month.start + ctx.month.days, n),
        "ChargePeriodStart": ctx.days.take(g),
        "ChargePeriodEnd": ctx.days.take(g + 1),
        "ChargeCategory": pa.repeat("Usage", n),
        "ChargeDescription": lk["ChargeDescription"].take(sku_cat),
        "ChargeFrequency": pa.repeat("Usage-Based", n),
        "BilledCost": pa.array(p.billed),
        "EffectiveCost": pa.array(p.effective),
        "ListCost": pa.array(p.list_cost),
        "ContractedCost": pa.array(p.contracted_cost),
        "ListUnitPrice": pa.array(p.list_unit),
        "ContractedUnitPrice": pa.array(p.contracted_unit),
        "PricingCategory": _strings(list(PRICING_CATEGORIES)).take(
            pa.array(p.category.astype(np.int32))
        ),
        "PricingQuantity": pa.array(qty),
        "PricingCurrency": pa.repeat("USD", n),
        "PricingCurrencyContractedUnitPrice": pa.array(p.contracted_usd),
        "PricingCurrencyEffectiveCost": pa.array(p.effective_usd),
        "PricingCurrencyListUnitPrice": pa.array(p.list_usd),
        "ConsumedQuantity": pa.array(np.round(qty * _per_unit(model)[ctx.cat.sku[r]], 6)),
        "SkuPriceId": lk["SkuPriceId"].take(sku_cat),
        "RegionId": lk["RegionId"].take(region),
        "RegionName": lk["RegionName"].take(region),
        "CommitmentDiscountStatus": _strings(["Used", None]).take(pa.array(used.astype(np.int8))),
        "CommitmentDiscountQuantity": pa.array(p.commit_units, mask=used),
    }
    return _table(cols, n, ctx.schema)


def _per_unit(model: _Model) -> FloatArray:
    return np.array([s.consumed_per_unit for s in model.skus])


def _table(cols: dict[str, pa.Array], n: int, schema: pa.Schema) -> pa.Table:
    arrays = [cols[f.name] if f.name in cols else pa.nulls(n, f.type) for f in schema]
    return pa.Table.from_arrays(arrays, schema=schema)


# --------------------------------------------------------------------------- month-end rows

Row = dict[str, Any]


def _month_end_rows(ctx: _Context, state: _MonthState) -> pa.Table:
    """Commitment purchases and unused commitment, charges, then tax on all of it."""
    usage_billed = state.billed.copy()
    rows = _commitment_rows(ctx, state) + _charge_rows(ctx, state, usage_billed)
    rows += _tax_rows(ctx, state)
    return _rows_table(rows, ctx)


def _header(ctx: _Context, sub: int | None, account: BillingAccount) -> Row:
    m, info = ctx.month, ctx.model.info
    row: Row = {
        "ProviderName": info.name,
        "InvoiceIssuerName": info.invoice_issuer,
        "InvoiceId": _invoice_id(account, m),
        "BillingAccountId": account.id,
        "BillingAccountName": account.name,
        "BillingAccountType": account.type,
        "BillingPeriodStart": m.start,
        "BillingPeriodEnd": m.start + m.days,
        "ChargePeriodStart": m.start,
        "ChargePeriodEnd": m.start + m.days,
        "BillingCurrency": account.currency,
        "PricingCurrency": "USD",
    }
    if sub is not None:
        s = ctx.model.subs[sub]
        row |= {
            "SubAccountId": s.id,
            "SubAccountName": s.name,
            "SubAccountType": info.sub_account_type,
        }
    return row


def _service_columns(ctx: _Context, service: Service) -> Row:
    return {
        "PublisherName": service.publisher or ctx.model.info.publisher,
        "ServiceName": service.name,
        "ServiceCategory": service.category,
        "ServiceSubcategory": service.subcategory,
    }


def _money(amount: float, fx: float, *, effective: float | None = None) -> Row:
    """The four costs of a row that is billed as it is; ``effective`` when it differs."""
    eff = amount if effective is None else effective
    return {
        "BilledCost": amount,
        "EffectiveCost": eff,
        "ListCost": amount,
        "ContractedCost": amount,
        "PricingCurrencyEffectiveCost": eff if fx == 1.0 else round(eff / fx, 10),
    }


def _unit_prices(price: float, qty: float, unit: str) -> Row:
    return {
        "PricingQuantity": qty,
        "PricingUnit": unit,
        "ListUnitPrice": price,
        "ContractedUnitPrice": price,
        "PricingCurrencyListUnitPrice": price,
        "PricingCurrencyContractedUnitPrice": price,
    }


def _sub_index(model: _Model, sub_id: str | None) -> int | None:
    return None if sub_id is None else [s.id for s in model.subs].index(sub_id)


def _service_index(model: _Model, name: str) -> int:
    return [s.name for s in model.services].index(name)


def _commitment_rows(ctx: _Context, state: _MonthState) -> list[Row]:
    rows: list[Row] = []
    m, model = ctx.month, ctx.model
    for i, c in enumerate(model.commitments):
        sub = _sub_index(model, c.sub_account_id)
        assert sub is not None
        account, unit = model.account_of(sub), _commit_unit(c)
        rate, qty = float(ctx.cat.commit_rate[i]), float(ctx.cat.capacity[i]) * m.days
        fee = round(qty * rate, 10)
        service = model.services[_service_index(model, c.service)]
        base = _header(ctx, sub, account) | _service_columns(ctx, service) | _commitment_columns(c)
        base |= {"SkuId": c.purchase_sku, "SkuMeter": "Commitment", "ResourceId": c.id,
                 "ResourceName": c.name, "ResourceType": c.type} | _region(model, c.region)  # fmt: skip
        rows.append(base | _unit_prices(rate, qty, unit) | _money(fee, 1.0, effective=0.0) | {
            "ChargeCategory": "Purchase", "ChargeFrequency": "Recurring",
            "ChargeDescription": f"{c.name}: monthly commitment fee", "PricingCategory": "Standard",
            "SkuPriceId": f"{c.purchase_sku}.MONTHLY", "CommitmentDiscountQuantity": qty})  # fmt: skip
        state.billed[sub * len(model.services) + _service_index(model, c.service)] += fee
        rows += _unused_rows(ctx, base, state.remaining[i * m.days : (i + 1) * m.days], rate, unit)
    return rows


def _unused_rows(ctx: _Context, base: Row, left: FloatArray, rate: float, unit: str) -> list[Row]:
    rows = []
    for day in np.flatnonzero(np.round(left, 6) > 0):
        units = round(float(left[day]), 6)
        cost = round(units * rate, 10)
        start = ctx.month.start + int(day)
        rows.append(base | _unit_prices(rate, units, unit) | _money(0.0, 1.0, effective=cost) | {
            "ChargePeriodStart": start, "ChargePeriodEnd": start + 1, "ChargeCategory": "Usage",
            "ChargeFrequency": "Usage-Based", "ListCost": cost, "ContractedCost": cost,
            "ChargeDescription": f"{base['CommitmentDiscountName']}: unused commitment",
            "PricingCategory": "Committed", "SkuPriceId": f"{base['SkuId']}.UNUSED",
            "CommitmentDiscountStatus": "Unused", "CommitmentDiscountQuantity": units})  # fmt: skip
    return rows


def _commitment_columns(c: Commitment) -> Row:
    return {
        "CommitmentDiscountId": c.id,
        "CommitmentDiscountName": c.name,
        "CommitmentDiscountCategory": c.category,
        "CommitmentDiscountType": c.type,
        "CommitmentDiscountUnit": _commit_unit(c),
    }


def _region(model: _Model, region_id: str | None) -> Row:
    region = next((r for r in model.regions if r.id == region_id), None)
    return {} if region is None else {"RegionId": region.id, "RegionName": region.name}


def _charge_rows(ctx: _Context, state: _MonthState, usage_billed: FloatArray) -> list[Row]:
    """Credits, support and subscriptions, worked out from the month's billed usage."""
    rows, model = [], ctx.model
    billed = usage_billed.reshape(len(model.subs), len(model.services))
    for ch in (c for c in NORTHWIND.monthly_charges if c.provider == model.info.key):
        if ch.months is not None and ctx.month.index >= ch.months:
            continue
        in_account = model.sub_account == [a.id for a in model.accounts].index(
            ch.billing_account_id
        )
        columns = billed[in_account]
        if ch.base_service is not None:
            columns = columns[:, _service_index(model, ch.base_service)]
        amount = round(ch.rate * float(columns.sum()), 2)
        if ch.kind != "credit":
            amount = max(amount, ch.minimum)
        if amount <= 0:
            continue
        sub = _sub_index(model, ch.sub_account_id)
        account = next(a for a in model.accounts if a.id == ch.billing_account_id)
        row = _header(ctx, sub, account) | _service_columns(ctx, ch.service)
        row |= {"ChargeDescription": ch.description, "SkuId": ch.sku_code}
        if ch.kind == "credit":
            rows.append(row | _money(-amount, 1.0) | {"ChargeCategory": "Credit",
                        "ChargeFrequency": "One-Time"})  # fmt: skip
            continue
        rows.append(row | _money(amount, 1.0) | _unit_prices(amount, 1.0, "Units") | {
            "ChargeCategory": "Purchase", "ChargeFrequency": "Recurring",
            "PricingCategory": "Standard", "SkuMeter": ch.kind.title(),
            "SkuPriceId": f"{ch.sku_code}.MONTHLY"})  # fmt: skip
        if sub is not None:
            state.billed[sub * len(model.services) + _service_index(model, ch.service.name)] += (
                amount
            )
    return rows


def _tax_rows(ctx: _Context, state: _MonthState) -> list[Row]:
    rows, model = [], ctx.model
    billed = state.billed.reshape(len(model.subs), len(model.services))
    for sub, svc in np.argwhere(billed > 0):
        account = model.account_of(int(sub))
        if account.tax_rate <= 0:
            continue
        fx, service = float(ctx.fx[sub]), model.services[int(svc)]
        amount = round(float(billed[sub, svc]) * account.tax_rate, 10)
        label = "VAT" if account.currency == "EUR" else "Sales tax"
        rows.append(_header(ctx, int(sub), account) | _service_columns(ctx, service) | _money(amount, fx) | {
            "ChargeCategory": "Tax", "ChargeFrequency": "One-Time",
            "ChargeDescription": f"{label} {account.tax_rate:.2%} on {service.name}"})  # fmt: skip
    return rows


def _rows_table(rows: list[Row], ctx: _Context) -> pa.Table:
    cols: dict[str, pa.Array] = {}
    for f in ctx.schema:
        values = [row.get(f.name) for row in rows]
        if f.name in TIMESTAMP_COLUMNS:
            cols[f.name] = ctx.days.take(np.array(values, dtype=np.int64))
        else:
            cols[f.name] = pa.array(values, type=f.type)
    return _table(cols, len(rows), ctx.schema)


def _invoice_id(account: BillingAccount, month: _Month) -> str:
    serial = int(hashlib.sha256(account.id.encode()).hexdigest()[:8], 16) % 100_000
    return f"{account.invoice_prefix}{month.first:%y%m}{serial:05d}"


def _fx(currency: str, month: _Month) -> float:
    """Units of ``currency`` per USD in a month (a smooth, made-up EUR path)."""
    if currency == "USD":
        return 1.0
    k = month.first.year * 12 + month.first.month
    return round(0.92 + 0.025 * math.sin(k / 3.0), 4)


# --------------------------------------------------------------------------- files


@contextmanager
def _focus_file(
    path: Path, schema: pa.Schema, file_format: FileFormat
) -> Iterator[Callable[[pa.Table], None]]:
    """Open one FOCUS file; yield the function that appends a table to it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if file_format == "parquet":
        parquet = pq.ParquetWriter(str(path), schema, compression="zstd")
        try:
            yield parquet.write_table
        finally:
            parquet.close()
        return
    with ExitStack() as stack:
        stream: IO[bytes] = stack.enter_context(path.open("wb"))
        if file_format == "csv.gz":  # mtime=0 and no name: the same bytes on every run
            stream = stack.enter_context(
                gzip.GzipFile(filename="", mode="wb", fileobj=stream, mtime=0)
            )
        stream.write((",".join(FOCUS_COLUMNS) + "\n").encode())
        options = pcsv.WriteOptions(include_header=False, batch_size=4096)
        writer = pcsv.CSVWriter(stream, schema, write_options=options)
        try:
            yield writer.write_table
        finally:
            writer.close()


def _write_month(ctx: _Context, path: Path, spec: DemoSpec, state: _MonthState,
                 on_chunk: Callable[[int], None]) -> int:  # fmt: skip
    m = ctx.month
    rng = _rng(spec.seed, ctx.model.index, 1 + m.first.year * 12 + m.first.month)
    alive = ctx.cat.alive(m.start, m.start + m.days - 1)
    per_block = max(1, CHUNK_ROWS // m.days)
    rows = 0
    with _focus_file(path, ctx.schema, spec.file_format) as write:
        for lo in range(0, len(alive), per_block):
            table = _usage_block(ctx, alive[lo : lo + per_block], rng, state)
            write(table)
            rows += table.num_rows
            on_chunk(table.num_rows)
        table = _month_end_rows(ctx, state)
        write(table)
        rows += table.num_rows
        on_chunk(table.num_rows)
    return rows


def _context(model: _Model, cat: _Catalog, month: _Month, timeline: _Timeline,
             planned: tuple[_Planned, ...], days: _Days, schema: pa.Schema) -> _Context:  # fmt: skip
    fx = np.array([_fx(model.account_of(i).currency, month) for i in range(len(model.subs))])
    invoices = _strings([_invoice_id(model.account_of(i), month) for i in range(len(model.subs))])
    return _Context(model=model, cat=cat, month=month, timeline=timeline, planned=planned,
                    days=days, schema=schema, fx=fx, invoices=invoices)  # fmt: skip


def _new_state(model: _Model, cat: _Catalog, month: _Month, n_anomalies: int) -> _MonthState:
    return _MonthState(
        remaining=np.repeat(cat.capacity, month.days).astype(np.float64),
        billed=np.zeros(len(model.subs) * len(model.services)),
        impact=np.zeros(n_anomalies),
    )


def _expected_rows(model: _Model, cat: _Catalog, timeline: _Timeline) -> int:
    usage = cat.days_alive(0, timeline.days - 1)
    return usage + round((len(model.commitments) * 20 + 40) * len(timeline.months))


def generate(
    out: Path, spec: DemoSpec, *, progress: Callable[[int, int], None] | None = None
) -> DemoResult:
    """Write the demo under ``out``: focus/<provider>/<YYYY-MM>.<ext> and the JSON side files."""
    company, timeline = NORTHWIND, _timeline(spec)
    planned = _plan_anomalies(company, timeline)
    models = [_model(company, i) for i in range(len(company.providers))]
    catalogs = [_build_catalog(m, spec, timeline, planned) for m in models]
    total = sum(_expected_rows(m, c, timeline) for m, c in zip(models, catalogs, strict=True))
    days, schema = _days(timeline, spec.file_format), focus_schema(spec.file_format)
    impact, entries, done = np.zeros(len(planned)), [], 0

    def on_chunk(rows: int) -> None:
        nonlocal done
        done += rows
        if progress is not None:
            progress(done, max(total, done))

    for model, cat in zip(models, catalogs, strict=True):
        for month in timeline.months:
            ctx = _context(model, cat, month, timeline, planned, days, schema)
            state = _new_state(model, cat, month, len(planned))
            rel = f"focus/{model.info.key}/{month.label}.{EXTENSIONS[spec.file_format]}"
            rows = _write_month(ctx, out / rel, spec, state, on_chunk)
            impact += state.impact
            entries.append({"path": rel, "provider": model.info.key, "ProviderName": model.info.name,
                            "billing_period": month.label, "rows": rows})  # fmt: skip
    by_key = {m.info.key: m for m in models}
    anomalies = tuple(
        _injected(p, by_key[p.plan.provider], timeline, float(impact[p.index])) for p in planned
    )
    _write_side_files(out, spec, timeline, entries, anomalies)
    files = tuple(out / str(e["path"]) for e in entries)
    return DemoResult(out=out, files=files, rows=done, anomalies=anomalies)


def _write_side_files(out: Path, spec: DemoSpec, timeline: _Timeline, entries: list[dict[str, Any]],
                      anomalies: tuple[InjectedAnomaly, ...]) -> None:  # fmt: skip
    _write_json(out / "anomalies.json", [a.to_json() for a in anomalies])
    _write_json(out / "company.json", company_summary(NORTHWIND))
    _write_json(out / "manifest.json", {
        "generator": "costprism-demo", "version": 1, "seed": spec.seed,
        "months": spec.months, "start": timeline.months[0].label,
        "end": timeline.months[-1].label, "rows_per_month": spec.rows_per_month,
        "focus_version": "1.2", "file_format": spec.file_format, "files": entries,
        "company": "company.json", "side_inputs": {"anomalies": "anomalies.json"},
    })  # fmt: skip


def _write_json(path: Path, value: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(value, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def company_summary(company: Company) -> dict[str, Any]:
    """What a person reading the demo needs: accounts, teams, products, tag conventions."""
    providers = {p.key: p for p in company.providers}
    return {
        "name": company.name,
        "billing_accounts": [
            {"ProviderName": providers[a.provider].name, "BillingAccountId": a.id,
             "BillingAccountName": a.name, "BillingAccountType": a.type,
             "BillingCurrency": a.currency} for a in company.billing_accounts
        ],
        "sub_accounts": [
            {"ProviderName": providers[s.provider].name, "BillingAccountId": s.billing_account_id,
             "SubAccountId": s.id, "SubAccountName": s.name,
             "SubAccountType": providers[s.provider].sub_account_type, "team": s.team,
             "environment": s.environment, "regions": list(s.regions), "shared": s.shared}
            for s in company.sub_accounts
        ],
        "teams": [asdict(t) for t in company.teams],
        "products": [asdict(p) for p in company.products],
        "cost_centers": [asdict(c) for c in company.cost_centers],
        "environments": list(company.environments),
        "commitments": [
            {"ProviderName": providers[c.provider].name, "CommitmentDiscountId": c.id,
             "CommitmentDiscountName": c.name, "CommitmentDiscountType": c.type,
             "CommitmentDiscountCategory": c.category} for c in company.commitments
        ],
        "tag_keys": {
            providers[p].name: ["team", "product", "CostCenter", "Environment"]
            if providers[p].tag_style == "pascal"
            else ["team", "product", "cost-center", "environment"]
            for p in providers
        },
    }  # fmt: skip
