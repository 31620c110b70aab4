"""Usage rows: the resources of one chunk of a month, day by day, priced and covered.

Quantities follow each resource's weekly rhythm, month-end batches, growth and noise;
spikes multiply usage in their scope. Prices come from the catalog (spot prices are
drawn per resource and month). Commitment discounts cover eligible rows in order until
the day's commitment is used up; what is left becomes the unused rows at month end.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from costprism.demo.anomalies import PlannedAnomaly
from costprism.demo.catalog import Catalog
from costprism.demo.focus_file import Block, Days
from costprism.demo.provider import (
    COMMITTED,
    DYNAMIC,
    STANDARD,
    BoolArray,
    FloatArray,
    IntArray,
    ProviderModel,
    fx_rate,
    index_array,
    invoice_id,
    strings,
)
from costprism.demo.timeline import Month, Timeline

SUB_COLUMNS = (
    "BillingAccountId",
    "BillingAccountName",
    "BillingAccountType",
    "SubAccountId",
    "SubAccountName",
    "BillingCurrency",
)
SKU_COLUMNS = (
    "PublisherName",
    "PricingUnit",
    "ConsumedUnit",
    "ServiceName",
    "ServiceCategory",
    "ServiceSubcategory",
    "SkuId",
    "SkuMeter",
    "SkuPriceDetails",
    "ResourceType",
)
COMMIT_COLUMNS = (
    "CommitmentDiscountId",
    "CommitmentDiscountName",
    "CommitmentDiscountCategory",
    "CommitmentDiscountType",
    "CommitmentDiscountStatus",
    "CommitmentDiscountUnit",
)


@dataclass(frozen=True, kw_only=True, eq=False)
class MonthContext:
    model: ProviderModel
    cat: Catalog
    month: Month
    timeline: Timeline
    planned: tuple[PlannedAnomaly, ...]
    days: Days
    fx: FloatArray  # per sub: billing currency per USD
    invoices: pa.Array  # per sub
    csv: bool  # text quoted for CSV and numbers formatted, or typed values for Parquet
    lookups: dict[str, pa.Array]  # the model's, as the file format wants them
    strings: dict[str, pa.Array]  # the catalog's, likewise


@dataclass(kw_only=True, eq=False)
class MonthState:
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


def month_context(
    model: ProviderModel,
    cat: Catalog,
    month: Month,
    timeline: Timeline,
    planned: tuple[PlannedAnomaly, ...],
    days: Days,
    csv: bool,
) -> MonthContext:
    accounts = [model.account_of(i) for i in range(len(model.subs))]
    return MonthContext(
        model=model,
        cat=cat,
        month=month,
        timeline=timeline,
        planned=planned,
        days=days,
        fx=np.array([fx_rate(a.currency, month) for a in accounts]),
        invoices=strings([invoice_id(a, month) for a in accounts]),
        csv=csv,
        lookups=model.csv_lookups if csv else model.lookups,
        strings=cat.csv_strings if csv else cat.strings,
    )


def usage_block(
    ctx: MonthContext, res: IntArray, rng: np.random.Generator, state: MonthState
) -> Block:
    """The resources ``res`` over the days of the month, priced and covered."""
    m, cat = ctx.month, ctx.cat
    pos = np.tile(np.arange(len(res)), m.days)
    g = np.repeat(np.arange(m.start, m.end), len(res))
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
    numbers = {
        "BilledCost": billed,
        "EffectiveCost": effective,
        "ListCost": list_cost,
        "ContractedCost": contracted,
        "PricingQuantity": qty,
        "PricingCurrencyEffectiveCost": effective_usd,
        "ConsumedQuantity": consumed,
    }
    rows |= (_number_text if ctx.csv else _number_arrays)(numbers, covered)
    rows["CommitmentDiscountQuantity"] = _masked(units, ~covered, ctx.csv)
    variant = pa.array((2 * pos + covered).astype(np.int32))
    return Block(variant=variant, columns=_variant_columns(ctx, res, prices), rows=rows)


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


def _quantity(ctx: MonthContext, r: IntArray, g: IntArray, rng: np.random.Generator) -> FloatArray:
    """Usage per resource-day: weekly rhythm, month-end batches, growth and noise."""
    cat, m, flags = ctx.cat, ctx.month, ctx.cat.flags
    weekend = (ctx.timeline.day0.weekday() + g) % 7 >= 5
    use = np.where(weekend, cat.weekend[r], 1.0) * np.exp(
        rng.standard_normal(len(r)) * cat.sigma[r]
    )
    month_end = np.where(flags["batch"][r] & (g - m.start >= m.days - 3), 1.8, 1.0)
    metered = cat.base[r] * use * month_end * np.exp(cat.growth[r] * g)
    metered = np.where(flags["per_month"][r], metered / m.days, metered)
    hours = np.minimum(24.0, 24.0 * 1.04 * use)  # always-on machines mostly bill a full day
    return np.maximum(np.where(flags["instance"][r], hours, metered), 1e-4)


def _spikes(ctx: MonthContext, r: IntArray, g: IntArray) -> tuple[FloatArray, IntArray, FloatArray]:
    """Usage multipliers of the spikes; each row's anomaly and the share of its cost it caused."""
    mult, share, anomaly = np.ones(len(r)), np.ones(len(r)), ctx.cat.anomaly[r].copy()
    for p in ctx.planned:
        scope = ctx.cat.scopes.get(p.index)
        if scope is not None:
            hit = scope[r] & (g >= p.start) & (g <= p.end)
            factor = p.factor(g[hit])
            mult[hit] *= factor
            anomaly[hit], share[hit] = p.index, 1 - 1 / factor
    return mult, anomaly, share


def _prices(ctx: MonthContext, res: IntArray, rng: np.random.Generator) -> _Prices:
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
    ctx: MonthContext,
    r: IntArray,
    g: IntArray,
    qty: FloatArray,
    contracted: FloatArray,
    state: MonthState,
) -> tuple[BoolArray, FloatArray, FloatArray]:
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
    ok = cover(c * ctx.month.days + g[idx] - ctx.month.start, u, state.remaining)
    covered[idx[ok]], units[idx[ok]], effective[idx[ok]] = True, u[ok], cost[ok]
    return covered, units, effective


def cover(key: IntArray, units: FloatArray, remaining: FloatArray) -> BoolArray:
    """Rows fit, in order, while the running total for their key stays within ``remaining``."""
    if len(key) == 0:
        return np.zeros(0, bool)
    order = np.argsort(key, kind="stable")
    k, u = key[order], units[order]
    total = np.cumsum(u)
    starts = np.flatnonzero(np.r_[True, k[1:] != k[:-1]])
    before = np.repeat(total[starts] - u[starts], np.diff(np.r_[starts, len(k)]))
    ok = np.empty(len(k), bool)
    ok[order] = total - before <= remaining[k] + 1e-9
    remaining -= np.bincount(key[ok], weights=units[ok], minlength=remaining.size)
    return ok


def _tally(
    ctx: MonthContext,
    state: MonthState,
    r: IntArray,
    billed: FloatArray,
    anomaly_cost: FloatArray,
    anomaly: IntArray,
) -> None:
    """Add to the month's billed cost by (sub, service) and to each anomaly's impact."""
    key = ctx.cat.sub[r] * len(ctx.model.services) + ctx.model.sku_service[ctx.cat.sku[r]]
    state.billed += np.bincount(key, weights=billed, minlength=state.billed.size)
    hit = anomaly >= 0
    state.impact += np.bincount(
        anomaly[hit], weights=anomaly_cost[hit], minlength=state.impact.size
    )


def _variant_columns(ctx: MonthContext, res: IntArray, prices: _Prices) -> dict[str, pa.Array]:
    """Columns per variant: each resource as it is priced, then covered by its commitment."""
    model, cat, m = ctx.model, ctx.cat, ctx.month
    rv, covered = np.repeat(res, 2), np.tile([False, True], len(res))
    category = np.where(covered, COMMITTED, np.where(cat.spot[rv], DYNAMIC, STANDARD))
    commit = np.where(covered, cat.commit[rv], len(model.commitments))
    sub, sku = index_array(cat.sub[rv]), index_array(cat.sku[rv])
    by_index = (
        (SUB_COLUMNS, sub),
        (SKU_COLUMNS, sku),
        (COMMIT_COLUMNS, index_array(commit)),
        (("RegionId", "RegionName"), index_array(cat.region[rv])),
        (("SkuPriceId", "ChargeDescription"), index_array(cat.sku[rv] * 3 + category)),
        (("PricingCategory",), index_array(category)),
    )
    cols = {name: ctx.lookups[name].take(index) for names, index in by_index for name in names}
    cols |= {name: values.take(index_array(rv)) for name, values in ctx.strings.items()}
    n = len(rv)
    cols |= {
        name: pa.repeat(value, n)
        for name, value in (
            ("ProviderName", model.info.name),
            ("InvoiceIssuerName", model.info.invoice_issuer),
            ("SubAccountType", model.info.sub_account_type),
            ("ChargeCategory", "Usage"),
            ("ChargeFrequency", "Usage-Based"),
            ("PricingCurrency", "USD"),
        )
    }
    cols |= {
        name: pa.array(np.repeat(values, 2))
        for name, values in (
            ("ListUnitPrice", prices.list_unit),
            ("ContractedUnitPrice", prices.contracted_unit),
            ("PricingCurrencyListUnitPrice", prices.list_usd),
            ("PricingCurrencyContractedUnitPrice", prices.contracted_usd),
        )
    }
    return cols | {
        "InvoiceId": ctx.invoices.take(sub),
        "BillingPeriodStart": ctx.days.repeat(m.start, n),
        "BillingPeriodEnd": ctx.days.repeat(m.end, n),
    }
