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
import string
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
            csv = spec.file_format != "parquet"
            ctx = _context(model, cat, month, timeline, planned, days, csv)
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
    csv_lookups: dict[str, pa.Array] = field(default_factory=dict)  # quoted where CSV needs it

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
    model.csv_lookups.update({k: _csv_escaped(v) for k, v in model.lookups.items()})
    return model


def _strings(values: list[str | None]) -> pa.Array:
    return pa.array(values, type=pa.string())


def _csv_quote(value: str | None) -> str | None:
    """A CSV field: quoted, with quotes doubled, when it holds a comma, quote or line break."""
    if value is None or not any(c in value for c in ',"\r\n'):
        return value
    return '"' + value.replace('"', '""') + '"'


def _csv_escaped(values: pa.Array) -> pa.Array:
    """``_csv_quote`` over an array, once per distinct value."""
    if not pc.any(pc.match_substring_regex(values, r'[",\r\n]')).as_py():
        return values
    encoded = pc.dictionary_encode(values)
    quoted = [_csv_quote(v) for v in encoded.dictionary.to_pylist()]
    return _strings(quoted).take(encoded.indices)


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
    csv_strings: dict[str, pa.Array]  # the same, quoted where CSV needs it

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
    names = np.array([s.service.name for s in model.skus])[draw["sku"]]
    in_scope = int(np.sum((draw["sub"] == sub) & (names == plan.service)))
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
    strings = _resource_strings(model, rng, draw)
    return _Catalog(
        sub=sub, sku=sku, region=draw["region"], base=draw["base"], weekend=draw["weekend"],
        growth=draw["growth"], sigma=draw["sigma"], first=draw["first"], last=draw["last"],
        spot=draw["spot"], anomaly=draw["anomaly"], commit=commit, list_usd=list_usd,
        contracted_usd=contracted, scopes=scopes, capacity=capacity, commit_rate=rate,
        flags={k: model.sku_array(k)[sku] for k in ("instance", "per_month", "batch")},
        strings=strings,
        csv_strings={k: _csv_escaped(v) for k, v in strings.items()},
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
    """ResourceId, ResourceName, AvailabilityZone and Tags, built column by column."""
    n, sub, sku = len(draw["sub"]), draw["sub"], draw["sku"]
    digits = np.frombuffer(rng.bytes(8 * n).hex().encode(), np.uint8)
    offsets = pa.py_buffer(np.arange(0, 16 * n + 1, 16, dtype=np.int32))
    hexes = pa.StringArray.from_buffers(n, offsets, pa.py_buffer(digits))
    numbers = pc.utf8_lpad(pa.array(np.arange(n)).cast(pa.string()), 5, "0")
    prefixes = _strings([f"{s.name}-" for s in model.subs]).take(_index(sub))
    roles = _strings([f"{k.service.role}-" for k in model.skus]).take(_index(sku))
    names = pc.binary_join_element_wise(prefixes, roles, numbers, "")
    zones = _zones(model, draw, rng.integers(0, 1 << 30, n))
    fields = {
        "account": _strings([s.id for s in model.subs]).take(_index(sub)),
        "subname": _strings([s.name for s in model.subs]).take(_index(sub)),
        "region": _strings([r.id for r in model.regions] + [""]).take(_index(draw["region"])),
        "zone": pc.fill_null(zones, ""),
        "name": names,
        "hex": pc.binary_join_element_wise("0", hexes, ""),
    }
    return {
        "ResourceId": _formatted(model, sku, fields),
        "ResourceName": names,
        "AvailabilityZone": zones,
        "Tags": _tag_column(model, draw, rng),
    }


def _zones(model: _Model, draw: Draw, pick: IntArray) -> pa.Array:
    """A zone of the resource's region for zonal SKUs, else null."""
    counts = np.array([len(r.zones) for r in model.regions] + [1])
    starts = np.concatenate([[0], np.cumsum(counts[:-1])])
    table = _strings([z for r in model.regions for z in r.zones] + [None])
    region = draw["region"]
    zonal = model.sku_array("zonal")[draw["sku"]] & (region < len(model.regions))
    index = np.where(zonal, starts[region] + pick % counts[region], len(table) - 1)
    return table.take(_index(index))


def _formatted(model: _Model, sku: IntArray, fields: dict[str, pa.Array]) -> pa.Array:
    """Each SKU's ``id_template`` filled in from ``fields``, for the resources of that SKU."""
    parts, order = [], []
    for k, info in enumerate(model.skus):
        rows = np.flatnonzero(sku == k)
        if len(rows) == 0:
            continue
        pieces: list[Any] = [pa.repeat("", len(rows))]
        for literal, name, _, _ in string.Formatter().parse(info.service.id_template):
            pieces.append(literal)
            if name:
                pieces.append(fields[name].take(_index(rows)))
        parts.append(pc.binary_join_element_wise(*pieces, ""))
        order.append(rows)
    joined = pa.concat_arrays(parts)
    return joined.take(_index(np.argsort(np.concatenate(order), kind="stable")))


def _tag_column(model: _Model, draw: Draw, rng: np.random.Generator) -> pa.Array:
    """Tags per resource: each sub account's team (any team in shared ones), with the
    shares of untagged and misspelled resources of ``TAG_SHARES``."""
    n, sub = len(draw["sub"]), draw["sub"]
    team_keys = [t.key for t in NORTHWIND.teams]
    own = np.array([team_keys.index(s.team) for s in model.subs])[sub]
    shared = np.array([s.shared for s in model.subs])[sub]
    team = np.where(shared, rng.integers(0, len(team_keys), n), own)
    variant = np.where(draw["anomaly"] < 0, _tag_variants(n, float(rng.random())), 0)
    key = (team * len(model.subs) + sub) * 7 + variant
    unique, inverse = np.unique(key, return_inverse=True)
    texts = [
        tag_json(NORTHWIND, model.info.tag_style, team_keys[k // 7 // len(model.subs)],
                 model.subs[k // 7 % len(model.subs)].environment, k % 7)
        for k in unique.tolist()
    ]  # fmt: skip
    return _strings(texts).take(_index(inverse))


def _tag_variants(n: int, offset: float) -> IntArray:
    """Which ``tag_json`` variant each resource gets.

    A golden-ratio sequence instead of random draws keeps the shares exact at any size.
    """
    i = np.arange(n)
    u = (i * GOLDEN + offset) % 1.0
    untagged, no_team, bad_team, bad_env = TAG_SHARES
    return np.select(
        [u >= bad_env, u < untagged, u < no_team, u < bad_team],
        [np.zeros(n, np.int64), np.ones(n, np.int64), np.full(n, 2), 3 + i % 2],
        default=5 + i % 2,
    )


# --------------------------------------------------------------------------- usage blocks

SUB_COLUMNS = ("BillingAccountId", "BillingAccountName", "BillingAccountType", "SubAccountId",
               "SubAccountName", "BillingCurrency")  # fmt: skip
SKU_COLUMNS = ("PublisherName", "PricingUnit", "ConsumedUnit", "ServiceName", "ServiceCategory",
               "ServiceSubcategory", "SkuId", "SkuMeter", "SkuPriceDetails", "ResourceType")  # fmt: skip
COMMIT_COLUMNS = ("CommitmentDiscountId", "CommitmentDiscountName", "CommitmentDiscountCategory",
                  "CommitmentDiscountType", "CommitmentDiscountStatus", "CommitmentDiscountUnit")  # fmt: skip


@dataclass(frozen=True, kw_only=True, eq=False)
class _Block:
    """Rows that share most of their columns: those once per variant, the rest per row.

    ``rows`` holds only numbers and dates; every text column is a variant column.
    """

    variant: pa.Array  # int32 per row: its entry in ``columns``
    columns: dict[str, pa.Array]  # one entry per variant
    rows: dict[str, pa.Array]  # one entry per row


@dataclass(frozen=True, kw_only=True, eq=False)
class _Context:
    model: _Model
    cat: _Catalog
    month: _Month
    timeline: _Timeline
    planned: tuple[_Planned, ...]
    days: _Days
    fx: FloatArray  # per sub: billing currency per USD
    invoices: pa.Array  # per sub
    csv: bool  # text quoted for CSV and numbers formatted, or typed values for Parquet
    lookups: dict[str, pa.Array]  # the model's, as the file format wants them
    strings: dict[str, pa.Array]  # the catalog's, likewise


@dataclass(kw_only=True, eq=False)
class _MonthState:
    remaining: FloatArray  # commitment units left, by (commitment, day)
    billed: FloatArray  # billed cost by (sub, service), in billing currency
    impact: FloatArray  # extra EffectiveCost in USD, by anomaly


@dataclass(frozen=True, kw_only=True, eq=False)
class _Prices:
    """Unit prices of the resources in a block, for the month (spot prices too)."""

    list_usd: FloatArray
    contracted_usd: FloatArray
    list_unit: FloatArray  # in billing currency
    contracted_unit: FloatArray


def _context(model: _Model, cat: _Catalog, month: _Month, timeline: _Timeline,
             planned: tuple[_Planned, ...], days: _Days, csv: bool) -> _Context:  # fmt: skip
    accounts = [model.account_of(i) for i in range(len(model.subs))]
    return _Context(model=model, cat=cat, month=month, timeline=timeline, planned=planned,
                    days=days, fx=np.array([_fx(a.currency, month) for a in accounts]),
                    invoices=_strings([_invoice_id(a, month) for a in accounts]), csv=csv,
                    lookups=model.csv_lookups if csv else model.lookups,
                    strings=cat.csv_strings if csv else cat.strings)  # fmt: skip


def _usage_block(
    ctx: _Context, res: IntArray, rng: np.random.Generator, state: _MonthState
) -> _Block:
    """The resources ``res`` over the days of the month, priced and covered."""
    m, cat = ctx.month, ctx.cat
    pos = np.tile(np.arange(len(res)), m.days)
    g = np.repeat(np.arange(m.start, m.start + m.days), len(res))
    live = (cat.first[res[pos]] <= g) & (cat.last[res[pos]] >= g)
    pos, g = pos[live], g[live]
    r = res[pos]
    mult, anomaly, share = _spikes(ctx, r, g)
    qty = np.round(_quantity(ctx, r, g, rng) * mult, 6)
    prices = _prices(ctx, res, rng)
    list_cost = np.round(prices.list_unit[pos] * qty, 10)
    contracted = np.round(prices.contracted_unit[pos] * qty, 10)
    covered, units, committed = _commit(ctx, r, g, qty, contracted, state)
    billed, effective = np.where(covered, 0.0, contracted), np.where(covered, committed, contracted)
    fx = ctx.fx[cat.sub[r]]
    effective_usd = np.where(fx == 1.0, effective, np.round(effective / fx, 10))
    _tally(ctx, state, r, billed, effective_usd * share, anomaly)
    consumed = np.round(qty * ctx.model.sku_array("consumed_per_unit")[cat.sku[r]], 6)
    rows = {"ChargePeriodStart": ctx.days.take(g), "ChargePeriodEnd": ctx.days.take(g + 1)}
    numbers = {"BilledCost": billed, "EffectiveCost": effective, "ListCost": list_cost,
               "ContractedCost": contracted, "PricingQuantity": qty,
               "PricingCurrencyEffectiveCost": effective_usd, "ConsumedQuantity": consumed}  # fmt: skip
    rows |= (_number_text if ctx.csv else _number_arrays)(numbers, covered)
    rows["CommitmentDiscountQuantity"] = _masked(units, ~covered, ctx.csv)
    variant = pa.array((2 * pos + covered).astype(np.int32))
    return _Block(variant=variant, columns=_variant_columns(ctx, res, prices), rows=rows)


def _number_arrays(numbers: dict[str, FloatArray], covered: BoolArray) -> dict[str, pa.Array]:
    return {name: pa.array(values) for name, values in numbers.items()}


def _number_text(numbers: dict[str, FloatArray], covered: BoolArray) -> dict[str, pa.Array]:
    """The per-row numbers as CSV text, formatting each distinct value once.

    Formatting floats is the dearest step of writing CSV; most rows repeat one value in
    three to five columns (billed = effective = contracted, USD = pricing currency).
    """
    contracted = _masked(numbers["ContractedCost"], None, True)
    qty = _masked(numbers["PricingQuantity"], None, True)
    effective = pc.coalesce(_masked(numbers["EffectiveCost"], ~covered, True), contracted)
    same_usd = numbers["PricingCurrencyEffectiveCost"] == numbers["EffectiveCost"]
    same_qty = numbers["ConsumedQuantity"] == numbers["PricingQuantity"]
    return {
        "BilledCost": pc.if_else(pa.array(covered), "0", contracted),
        "EffectiveCost": effective,
        "ListCost": _masked(numbers["ListCost"], None, True),
        "ContractedCost": contracted,
        "PricingQuantity": qty,
        "PricingCurrencyEffectiveCost": pc.coalesce(
            _masked(numbers["PricingCurrencyEffectiveCost"], same_usd, True), effective
        ),
        "ConsumedQuantity": pc.coalesce(_masked(numbers["ConsumedQuantity"], same_qty, True), qty),
    }


def _masked(values: FloatArray, mask: BoolArray | None, text: bool) -> pa.Array:
    """``values`` with nulls where ``mask``; as text when ``text``."""
    array = pa.array(values, mask=mask)
    return array.cast(pa.string()) if text else array


def _quantity(ctx: _Context, r: IntArray, g: IntArray, rng: np.random.Generator) -> FloatArray:
    """Usage per resource-day: weekly rhythm, month-end batches, growth and noise."""
    cat, m, flags = ctx.cat, ctx.month, ctx.cat.flags
    weekend = (ctx.timeline.day0.weekday() + g) % 7 >= 5
    use = np.where(weekend, cat.weekend[r], 1.0) * np.exp(
        rng.standard_normal(len(r)) * cat.sigma[r]
    )
    month_end = np.where(flags["batch"][r] & (g - m.start >= m.days - 3), 1.8, 1.0)
    metered = cat.base[r] * use * month_end * np.exp(cat.growth[r] * g)
    metered = np.where(flags["per_month"][r], metered / m.days, metered)
    return np.maximum(np.where(flags["instance"][r], np.minimum(24.0, 24.0 * use), metered), 1e-4)


def _spikes(ctx: _Context, r: IntArray, g: IntArray) -> tuple[FloatArray, IntArray, FloatArray]:
    """Usage multipliers of the spikes; each row's anomaly and the share of its cost it caused."""
    mult, share, anomaly = np.ones(len(r)), np.ones(len(r)), ctx.cat.anomaly[r].copy()
    for p in ctx.planned:
        scope = ctx.cat.scopes.get(p.index)
        if scope is not None:
            hit = scope[r] & (g >= p.start) & (g <= p.end)
            mult[hit] *= p.plan.factor
            anomaly[hit], share[hit] = p.index, 1 - 1 / p.plan.factor
    return mult, anomaly, share


def _prices(ctx: _Context, res: IntArray, rng: np.random.Generator) -> _Prices:
    cat = ctx.cat
    fx = ctx.fx[cat.sub[res]]
    spot_usd = np.round(cat.list_usd[res] * rng.uniform(0.28, 0.42, len(res)), 10)
    contracted_usd = np.where(cat.spot[res], spot_usd, cat.contracted_usd[res])
    return _Prices(
        list_usd=cat.list_usd[res],
        contracted_usd=contracted_usd,
        list_unit=np.round(cat.list_usd[res] * fx, 10),
        contracted_unit=np.round(contracted_usd * fx, 10),
    )


def _commit(
    ctx: _Context, r: IntArray, g: IntArray, qty: FloatArray, contracted: FloatArray,
    state: _MonthState,
) -> tuple[BoolArray, FloatArray, FloatArray]:  # fmt: skip
    """Cover eligible rows while the day's commitment lasts: (covered, units, EffectiveCost)."""
    n, commitments = len(r), ctx.model.commitments
    covered, units, effective = np.zeros(n, bool), np.zeros(n), np.zeros(n)
    idx = np.flatnonzero(ctx.cat.commit[r] < len(commitments))
    if len(idx) == 0:
        return covered, units, effective
    c = ctx.cat.commit[r[idx]]
    spend = np.array([x.category == "Spend" for x in commitments])[c]
    by_spend = contracted[idx] * (1 - np.array([x.discount for x in commitments])[c])
    cost = np.round(np.where(spend, by_spend, qty[idx] * ctx.cat.commit_rate[c]), 10)
    u = np.where(spend, cost, qty[idx])
    ok = _cover(c * ctx.month.days + g[idx] - ctx.month.start, u, state.remaining)
    covered[idx[ok]], units[idx[ok]], effective[idx[ok]] = True, u[ok], cost[ok]
    return covered, units, effective


def _cover(key: IntArray, units: FloatArray, remaining: FloatArray) -> BoolArray:
    """Rows fit, in order, while the running total for their key stays within ``remaining``."""
    order = np.argsort(key, kind="stable")
    k, u = key[order], units[order]
    total = np.cumsum(u)
    starts = np.flatnonzero(np.r_[True, k[1:] != k[:-1]])
    before = np.repeat(total[starts] - u[starts], np.diff(np.r_[starts, len(k)]))
    ok = np.empty(len(k), bool)
    ok[order] = total - before <= remaining[k] + 1e-9
    remaining -= np.bincount(key[ok], weights=units[ok], minlength=remaining.size)
    return ok


def _tally(ctx: _Context, state: _MonthState, r: IntArray, billed: FloatArray,
           anomaly_cost: FloatArray, anomaly: IntArray) -> None:  # fmt: skip
    """Add to the month's billed cost by (sub, service) and to each anomaly's impact."""
    key = ctx.cat.sub[r] * len(ctx.model.services) + ctx.model.sku_service[ctx.cat.sku[r]]
    state.billed += np.bincount(key, weights=billed, minlength=state.billed.size)
    hit = anomaly >= 0
    state.impact += np.bincount(
        anomaly[hit], weights=anomaly_cost[hit], minlength=state.impact.size
    )


def _variant_columns(ctx: _Context, res: IntArray, prices: _Prices) -> dict[str, pa.Array]:
    """Columns per variant: each resource as it is priced, then covered by its commitment."""
    model, cat, m = ctx.model, ctx.cat, ctx.month
    rv, covered = np.repeat(res, 2), np.tile([False, True], len(res))
    category = np.where(covered, COMMITTED, np.where(cat.spot[rv], DYNAMIC, STANDARD))
    commit = np.where(covered, cat.commit[rv], len(model.commitments))
    sub, sku = _index(cat.sub[rv]), _index(cat.sku[rv])
    by_index = ((SUB_COLUMNS, sub), (SKU_COLUMNS, sku), (COMMIT_COLUMNS, _index(commit)),
                (("RegionId", "RegionName"), _index(cat.region[rv])),
                (("SkuPriceId", "ChargeDescription"), _index(cat.sku[rv] * 3 + category)),
                (("PricingCategory",), _index(category)))  # fmt: skip
    cols = {name: ctx.lookups[name].take(index) for names, index in by_index for name in names}
    cols |= {name: values.take(_index(rv)) for name, values in ctx.strings.items()}
    n = len(rv)
    cols |= {name: pa.repeat(value, n) for name, value in (
        ("ProviderName", model.info.name), ("InvoiceIssuerName", model.info.invoice_issuer),
        ("SubAccountType", model.info.sub_account_type), ("ChargeCategory", "Usage"),
        ("ChargeFrequency", "Usage-Based"), ("PricingCurrency", "USD"))}  # fmt: skip
    cols |= {name: pa.array(np.repeat(values, 2)) for name, values in (
        ("ListUnitPrice", prices.list_unit), ("ContractedUnitPrice", prices.contracted_unit),
        ("PricingCurrencyListUnitPrice", prices.list_usd),
        ("PricingCurrencyContractedUnitPrice", prices.contracted_usd))}  # fmt: skip
    return cols | {
        "InvoiceId": ctx.invoices.take(sub),
        "BillingPeriodStart": ctx.days.repeat(m.start, n),
        "BillingPeriodEnd": ctx.days.repeat(m.start + m.days, n),
    }


def _index(values: npt.NDArray[Any]) -> pa.Array:
    return pa.array(values.astype(np.int32))


# --------------------------------------------------------------------------- month-end rows

Row = dict[str, Any]


def _month_end_block(ctx: _Context, state: _MonthState) -> _Block:
    """Commitment purchases and unused commitment, credits and fees, then tax on all of it."""
    usage_billed = state.billed.copy()
    rows = _commitment_rows(ctx, state) + _charge_rows(ctx, state, usage_billed)
    rows += _tax_rows(ctx, state)
    columns: dict[str, pa.Array] = {}
    for name in FOCUS_COLUMNS:
        values = [row.get(name) for row in rows]
        if name in TIMESTAMP_COLUMNS:
            columns[name] = ctx.days.take(np.array(values, dtype=np.int64))
        elif name in NUMERIC_COLUMNS:
            columns[name] = pa.array(values, pa.float64())
        else:
            columns[name] = _strings([_csv_quote(v) for v in values] if ctx.csv else values)
    return _Block(variant=_index(np.arange(len(rows))), columns=columns, rows={})


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
    if sub is None:
        return row
    s = ctx.model.subs[sub]
    return row | {
        "SubAccountId": s.id,
        "SubAccountName": s.name,
        "SubAccountType": info.sub_account_type,
    }


def _service_columns(ctx: _Context, service: Service) -> Row:
    return {
        "PublisherName": service.publisher or ctx.model.info.publisher,
        "ServiceName": service.name,
        "ServiceCategory": service.category,
        "ServiceSubcategory": service.subcategory,
    }


def _costs(billed: float, effective: float, fx: float = 1.0) -> Row:
    """Costs of a row billed at its list price; ``effective`` differs for prepaid rows."""
    return {
        "BilledCost": billed,
        "EffectiveCost": effective,
        "ListCost": max(billed, effective),
        "ContractedCost": max(billed, effective),
        "PricingCurrencyEffectiveCost": effective if fx == 1.0 else round(effective / fx, 10),
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


def _commitment_rows(ctx: _Context, state: _MonthState) -> list[Row]:
    """Each commitment's monthly fee (a Purchase) and its unused part per day."""
    rows: list[Row] = []
    m, model = ctx.month, ctx.model
    for i, c in enumerate(model.commitments):
        sub, unit = model.sub_index(c.sub_account_id), _commit_unit(c)
        rate, qty = float(ctx.cat.commit_rate[i]), float(ctx.cat.capacity[i]) * m.days
        fee = round(qty * rate, 10)
        service = model.service_index(c.service)
        base = _header(ctx, sub, model.account_of(sub)) | _service_columns(
            ctx, model.services[service]
        )
        base |= {"CommitmentDiscountId": c.id, "CommitmentDiscountName": c.name,
                 "CommitmentDiscountCategory": c.category, "CommitmentDiscountType": c.type,
                 "CommitmentDiscountUnit": unit, "SkuId": c.purchase_sku, "SkuMeter": "Commitment",
                 "ResourceId": c.id, "ResourceName": c.name, "ResourceType": c.type}  # fmt: skip
        base |= _region(model, c.region)
        rows.append(base | _unit_prices(rate, qty, unit) | _costs(fee, 0.0) | {
            "ChargeCategory": "Purchase", "ChargeFrequency": "Recurring",
            "ChargeDescription": f"{c.name}: monthly commitment fee", "PricingCategory": "Standard",
            "SkuPriceId": f"{c.purchase_sku}.MONTHLY", "CommitmentDiscountQuantity": qty})  # fmt: skip
        state.billed[sub * len(model.services) + service] += fee
        rows += _unused_rows(ctx, base, state.remaining[i * m.days : (i + 1) * m.days], rate, unit)
    return rows


def _unused_rows(ctx: _Context, base: Row, left: FloatArray, rate: float, unit: str) -> list[Row]:
    rows = []
    for day in np.flatnonzero(np.round(left, 6) > 0):
        units = round(float(left[day]), 6)
        start = ctx.month.start + int(day)
        rows.append(base | _unit_prices(rate, units, unit) | _costs(0.0, round(units * rate, 10)) | {
            "ChargePeriodStart": start, "ChargePeriodEnd": start + 1, "ChargeCategory": "Usage",
            "ChargeFrequency": "Usage-Based", "PricingCategory": "Committed",
            "ChargeDescription": f"{base['CommitmentDiscountName']}: unused commitment",
            "SkuPriceId": f"{base['SkuId']}.UNUSED", "CommitmentDiscountStatus": "Unused",
            "CommitmentDiscountQuantity": units})  # fmt: skip
    return rows


def _region(model: _Model, region_id: str | None) -> Row:
    region = next((r for r in model.regions if r.id == region_id), None)
    return {} if region is None else {"RegionId": region.id, "RegionName": region.name}


def _charge_rows(ctx: _Context, state: _MonthState, usage_billed: FloatArray) -> list[Row]:
    """Credits, support and subscriptions, worked out from the month's billed usage."""
    rows, model = [], ctx.model
    billed = usage_billed.reshape(len(model.subs), len(model.services))
    for ch in (c for c in NORTHWIND.monthly_charges if c.provider == model.info.key):
        account = next(a for a in model.accounts if a.id == ch.billing_account_id)
        base = billed[model.sub_account == model.accounts.index(account)]
        if ch.base_service is not None:
            base = base[:, model.service_index(ch.base_service)]
        amount = round(ch.rate * float(base.sum()), 2)
        if ch.months is not None and ctx.month.index >= ch.months or amount <= 0:
            continue
        sub = None if ch.sub_account_id is None else model.sub_index(ch.sub_account_id)
        row = _header(ctx, sub, account) | _service_columns(ctx, ch.service)
        row |= {"ChargeDescription": ch.description, "SkuId": ch.sku_code}
        if ch.kind == "credit":
            rows.append(row | _costs(-amount, -amount) | {"ChargeCategory": "Credit",
                                                           "ChargeFrequency": "One-Time"})  # fmt: skip
            continue
        amount = max(amount, ch.minimum)
        rows.append(row | _costs(amount, amount) | _unit_prices(amount, 1.0, "Units") | {
            "ChargeCategory": "Purchase", "ChargeFrequency": "Recurring",
            "PricingCategory": "Standard", "SkuMeter": ch.kind.title(),
            "SkuPriceId": f"{ch.sku_code}.MONTHLY"})  # fmt: skip
        if sub is not None:
            state.billed[sub * len(model.services) + model.service_index(ch.service.name)] += amount
    return rows


def _tax_rows(ctx: _Context, state: _MonthState) -> list[Row]:
    """Tax on each (sub account, service) billed this month, in the billing currency."""
    rows, model = [], ctx.model
    billed = state.billed.reshape(len(model.subs), len(model.services))
    for sub, svc in np.argwhere(billed > 0):
        account = model.account_of(int(sub))
        if account.tax_rate <= 0:
            continue
        amount, service = (
            round(float(billed[sub, svc]) * account.tax_rate, 10),
            model.services[int(svc)],
        )
        label = "VAT" if account.currency == "EUR" else "Sales tax"
        rows.append(_header(ctx, int(sub), account) | _service_columns(ctx, service)
                    | _costs(amount, amount, float(ctx.fx[sub])) | {
            "ChargeCategory": "Tax", "ChargeFrequency": "One-Time",
            "ChargeDescription": f"{label} {account.tax_rate:.2%} on {service.name}"})  # fmt: skip
    return rows


def _invoice_id(account: BillingAccount, month: _Month) -> str:
    serial = int(hashlib.sha256(account.id.encode()).hexdigest()[:8], 16) % 100_000
    return f"{account.invoice_prefix}{month.first:%y%m}{serial:05d}"


def _fx(currency: str, month: _Month) -> float:
    """Units of ``currency`` per USD in a month: a smooth, made-up EUR path."""
    if currency == "USD":
        return 1.0
    k = month.first.year * 12 + month.first.month
    return round(0.92 + 0.025 * math.sin(k / 3.0), 4)


# --------------------------------------------------------------------------- files


def _write_month(
    ctx: _Context, path: Path, spec: DemoSpec, on_block: Callable[[int], None]
) -> tuple[int, FloatArray]:
    """Write one provider-month file; return its row count and the anomalies' impact in it."""
    m, cat = ctx.month, ctx.cat
    rng = _rng(spec.seed, ctx.model.index, 1 + m.first.year * 12 + m.first.month)
    state = _MonthState(
        remaining=np.repeat(cat.capacity, m.days).astype(np.float64),
        billed=np.zeros(len(ctx.model.subs) * len(ctx.model.services)),
        impact=np.zeros(len(ctx.planned)),
    )
    rows = 0
    with _focus_file(path, spec.file_format) as write:
        for block in _blocks(ctx, rng, state):
            write(block)
            rows += len(block.variant)
            on_block(len(block.variant))
    return rows, state.impact


def _blocks(ctx: _Context, rng: np.random.Generator, state: _MonthState) -> Iterator[_Block]:
    """The month's usage in blocks of at most CHUNK_ROWS rows, then its month-end rows."""
    alive = ctx.cat.alive(ctx.month.start, ctx.month.start + ctx.month.days - 1)
    per_block = max(1, CHUNK_ROWS // ctx.month.days)
    for i in range(0, len(alive), per_block):
        yield _usage_block(ctx, alive[i : i + per_block], rng, state)
    yield _month_end_block(ctx, state)


@contextmanager
def _focus_file(path: Path, file_format: FileFormat) -> Iterator[Callable[[_Block], None]]:
    """Open one FOCUS file; yield the function that appends a block to it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if file_format == "parquet":
        schema = focus_schema(file_format)
        parquet = pq.ParquetWriter(str(path), schema, compression="zstd")
        try:
            yield lambda block: parquet.write_table(_typed_table(block, schema))
        finally:
            parquet.close()
        return
    with ExitStack() as stack:
        stream: IO[bytes] = stack.enter_context(path.open("wb"))
        if file_format == "csv.gz":  # no name and mtime=0: the same bytes on every run
            stream = stack.enter_context(
                gzip.GzipFile(filename="", mode="wb", fileobj=stream, mtime=0)
            )
        stream.write((",".join(FOCUS_COLUMNS) + "\n").encode())
        yield lambda block: stream.write(_csv_bytes(block))


def _typed_table(block: _Block, schema: pa.Schema) -> pa.Table:
    n = len(block.variant)
    arrays = [
        block.rows[f.name] if f.name in block.rows
        else block.columns[f.name].take(block.variant) if f.name in block.columns
        else pa.nulls(n, f.type)
        for f in schema
    ]  # fmt: skip
    return pa.Table.from_arrays(arrays, schema=schema)


def _csv_bytes(block: _Block) -> memoryview:
    """The block as CSV lines: runs of variant columns joined once per variant, then per row."""
    pieces, run = [], []
    for name in FOCUS_COLUMNS:
        if name in block.rows:
            if run:
                pieces.append(_csv_fragment(block, run).take(block.variant))
            pieces.append(_csv_text(block.rows[name]))
            run = []
        else:
            run.append(name)
    last = pc.binary_join_element_wise(_csv_fragment(block, run), "\n", "")
    pieces.append(last.take(block.variant))
    lines = pc.binary_join_element_wise(*pieces, ",", null_handling="replace", null_replacement="")
    offsets = np.frombuffer(lines.buffers()[1], np.int32, len(lines) + 1, lines.offset * 4)
    return memoryview(lines.buffers()[2])[offsets[0] : offsets[-1]]


def _csv_fragment(block: _Block, names: list[str]) -> pa.Array:
    n = len(next(iter(block.columns.values())))
    parts = [_csv_text(block.columns[c]) if c in block.columns else "" for c in names]
    if not isinstance(parts[0], pa.Array):
        parts[0] = pa.repeat(parts[0], n)
    return pc.binary_join_element_wise(*parts, ",", null_handling="replace", null_replacement="")


def _csv_text(values: pa.Array) -> pa.Array:
    """Numbers as text; text columns arrive quoted already (``_csv_quote``)."""
    return values if values.type == pa.string() else values.cast(pa.string())


def _expected_rows(model: _Model, cat: _Catalog, timeline: _Timeline) -> int:
    month_end = len(model.commitments) * 25 + len(model.subs) * 8
    return cat.days_alive(0, timeline.days - 1) + month_end * len(timeline.months)


def _write_side_files(out: Path, spec: DemoSpec, timeline: _Timeline, entries: list[dict[str, Any]],
                      anomalies: tuple[InjectedAnomaly, ...]) -> None:  # fmt: skip
    _write_json(out / "anomalies.json", [a.to_json() for a in anomalies])
    _write_json(out / "company.json", summary(NORTHWIND))
    _write_json(out / "manifest.json", {
        "generator": "costprism-demo", "version": 1, "seed": spec.seed, "months": spec.months,
        "start": timeline.months[0].label, "end": timeline.months[-1].label,
        "rows_per_month": spec.rows_per_month, "focus_version": "1.2",
        "file_format": spec.file_format, "files": entries, "company": "company.json",
        "side_inputs": {"anomalies": "anomalies.json"},
    })  # fmt: skip


def _write_json(path: Path, value: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(value, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
