"""The resource catalog: every resource a provider bills for, drawn once per demo.

A resource has a sub account, a SKU and a region, a size, a weekly rhythm, a growth rate,
a life span and a pricing model (on-demand, spot, or eligible for a commitment). The
catalog is drawn until the resources' days alive fill ``rows_per_month``, so a bigger
demo is a bigger company, not pricier rows. Strings (ids, names, tags) are built column
by column with pyarrow, never row by row.
"""

from __future__ import annotations

import math
import string
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from costprism.demo.anomalies import PlannedAnomaly
from costprism.demo.company import Commitment, SubAccount, tag_json
from costprism.demo.focus_file import csv_escaped
from costprism.demo.provider import (
    BoolArray,
    FloatArray,
    IntArray,
    ProviderModel,
    index_array,
    rng_for,
    strings,
)
from costprism.demo.timeline import Timeline

DAYS_PER_MONTH = 30.44
EPHEMERAL = 0.2  # share of resources that come and go (mean life five weeks)
CHURN_SHARE = 0.25  # the most a short-lived resource may cost of its scope's lasting ones
WEEKEND = {"prod": (0.85, 1.0), "staging": (0.45, 0.85), "dev": (0.2, 0.6), "sandbox": (0.1, 0.5)}
SPOT_SHARE = {"prod": 0.1, "staging": 0.4, "dev": 0.5, "sandbox": 0.5}
TAG_SHARES = (0.09, 0.145, 0.175, 0.2)  # cumulative: untagged, no team, bad team, bad env
GOLDEN = 0.6180339887498949

Draw = dict[str, npt.NDArray[Any]]


@dataclass(frozen=True, kw_only=True, eq=False)
class Catalog:
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


def build_catalog(
    model: ProviderModel,
    seed: int,
    rows_per_month: int,
    timeline: Timeline,
    planned: tuple[PlannedAnomaly, ...],
) -> Catalog:
    """Draw resources until their days alive fill ``rows_per_month``, then add the anomalies'."""
    rng = rng_for(seed, model.index, 0)
    wanted = _usage_rows_per_month(model, rows_per_month) * len(timeline.months)
    subs, skus = _anchors(model, planned)
    pool = len(subs) + math.ceil(wanted / (0.6 * timeline.days)) + 32
    draw = _quiet_churn(model, timeline, _draw(model, rng, timeline, pool, subs, skus))
    alive = np.clip(draw["last"] - draw["first"] + 1, 0, None)
    keep = max(int(np.searchsorted(np.cumsum(alive), wanted)) + 1, len(subs))
    # again on the resources kept: a scope may have lost lasting resources to the cut
    draw = _quiet_churn(model, timeline, {k: v[:keep] for k, v in draw.items()})
    for p in planned:
        more = _anomaly_draw(model, rng, draw, p)
        if more is not None:
            draw = {k: np.concatenate([draw[k], more[k]]) for k in draw}
    return _finish(model, rng, draw, planned)


def _usage_rows_per_month(model: ProviderModel, rows_per_month: int) -> float:
    """This provider's share of the rows, less the month-end rows it adds."""
    taxed = sum(1 for i in range(len(model.subs)) if model.account_of(i).tax_rate > 0)
    month_end = len(model.commitments) * 25 + taxed * len(model.services) * 0.6 + 3
    return max(rows_per_month * model.info.row_share - month_end, 31.0)


def _anchors(
    model: ProviderModel, planned: tuple[PlannedAnomaly, ...]
) -> tuple[IntArray, IntArray]:
    """One resource per sub account, and two in the scope of the multiplying anomalies
    (once per scope: two anomalies of one scope, at different times, share them, and the
    other resources' draws stay as they were)."""
    subs, skus = list(range(len(model.subs))), [-1] * len(model.subs)
    scopes = dict.fromkeys(
        (p.plan.sub_account_id, p.plan.service)
        for p in planned
        if p.multiplies and p.plan.provider == model.info.key
    )
    for sub_account_id, service in scopes:
        sku = next(i for i, s in enumerate(model.skus) if s.service.name == service)
        subs += [model.sub_index(sub_account_id)] * 2
        skus += [sku] * 2
    return np.array(subs), np.array(skus)


def _draw(
    model: ProviderModel,
    rng: np.random.Generator,
    timeline: Timeline,
    n: int,
    subs: IntArray,
    skus: IntArray,
) -> Draw:
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


def _quiet_churn(model: ProviderModel, timeline: Timeline, draw: Draw) -> Draw:
    """Short-lived resources that would change their scope's level last the whole timeline
    instead: a GPU machine, an account's first resource of a service, or one costing more
    than ``CHURN_SHARE`` of the lasting resources of its (account, service). The churn that
    stays moves no scope by much, so the demo's changes of level are its planned anomalies,
    all in its ground truth (``anomalies.json``). Draws nothing: the rest stays as drawn."""
    sku, first, last = draw["sku"], draw["first"], draw["last"]
    short = (first > 0) | (last < timeline.days - 1)
    daily = model.sku_array("list_price")[sku] * np.where(
        model.sku_array("instance")[sku],
        24.0,
        np.where(model.sku_array("per_month")[sku], draw["base"] / DAYS_PER_MONTH, draw["base"]),
    )
    gpu = np.array(["GpuCount=" in (s.details or "") for s in model.skus])[sku]
    services = np.array([s.service.name for s in model.skus])[sku]
    scope = np.unique(np.char.add(draw["sub"].astype(str), "|" + services), return_inverse=True)[1]
    lasting = np.bincount(scope, weights=np.where(short, 0.0, daily), minlength=scope.max() + 1)
    loud = short & (gpu | (daily > CHURN_SHARE * lasting[scope]))
    first[loud], last[loud] = 0, timeline.days - 1
    return draw


def _sku_weights(model: ProviderModel, sub: SubAccount) -> FloatArray:
    w = np.array([dict(s.workloads).get(sub.workload, 0.0) for s in model.skus], np.float64)
    total = float(w.sum())
    if total <= 0:
        raise ValueError(f"no {model.info.key} SKU serves workload {sub.workload!r}")
    return w / total


def _regions(model: ProviderModel, sub: SubAccount, rng: np.random.Generator, n: int) -> IntArray:
    """Mostly the home region; the other regions of the sub account share a third."""
    if not sub.regions:
        return np.full(n, len(model.regions))
    ids = [r.id for r in model.regions]
    choices = np.array([ids.index(r) for r in sub.regions])
    p = np.full(len(choices), 0.35 / max(len(choices) - 1, 1))
    p[0] = 1.0 if len(choices) == 1 else 0.65
    return np.asarray(rng.choice(choices, n, p=p), dtype=np.int64)


def _shape(
    model: ProviderModel,
    rng: np.random.Generator,
    sub: IntArray,
    sku: IntArray,
    region: IntArray,
    first: IntArray,
    last: IntArray,
) -> Draw:
    """Size, rhythm, growth and pricing model of each resource."""
    n = len(sub)
    env = np.array([s.environment for s in model.subs])[sub]
    lo, hi = (np.array([WEEKEND[e][k] for e in env]) for k in (0, 1))
    stored = model.sku_array("per_month")[sku]
    growth = model.sku_array("growth")[sku] * rng.uniform(0.5, 1.5, n)
    spot = model.sku_array("spot")[sku] & (rng.random(n) < np.array([SPOT_SHARE[e] for e in env]))
    return {
        "sub": sub,
        "sku": sku,
        "region": region,
        "first": first,
        "last": last,
        "spot": spot,
        "base": model.sku_array("daily_quantity")[sku] * rng.lognormal(0.0, 0.6, n),
        "weekend": np.where(stored, 1.0, rng.uniform(lo, hi)),
        "growth": np.log1p(growth) / DAYS_PER_MONTH,
        "sigma": np.where(model.sku_array("instance")[sku] | stored, 0.03, 0.1),
        "anomaly": np.full(n, -1),
    }


def _anomaly_draw(
    model: ProviderModel, rng: np.random.Generator, draw: Draw, p: PlannedAnomaly
) -> Draw | None:
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
    model: ProviderModel, rng: np.random.Generator, draw: Draw, planned: tuple[PlannedAnomaly, ...]
) -> Catalog:
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
    texts = _resource_strings(model, rng, draw)
    return Catalog(
        sub=sub,
        sku=sku,
        region=draw["region"],
        base=draw["base"],
        weekend=draw["weekend"],
        growth=draw["growth"],
        sigma=draw["sigma"],
        first=draw["first"],
        last=draw["last"],
        spot=draw["spot"],
        anomaly=draw["anomaly"],
        commit=commit,
        list_usd=list_usd,
        contracted_usd=contracted,
        scopes=scopes,
        capacity=capacity,
        commit_rate=rate,
        flags={k: model.sku_array(k)[sku] for k in ("instance", "per_month", "batch")},
        strings=texts,
        csv_strings={k: csv_escaped(v) for k, v in texts.items()},
    )


def _eligibility(model: ProviderModel, draw: Draw) -> IntArray:
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
    model: ProviderModel, draw: Draw, commit: IntArray, contracted: FloatArray
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


def _covered_price(model: ProviderModel, c: Commitment) -> float:
    """The contracted USD price of the SKU and region a Usage commitment covers."""
    sku = next(s for s in model.skus if s.code == c.sku_code)
    region = next(r for r in model.regions if r.id == c.region)
    account = next(a for a in model.accounts if a.id == c.billing_account_id)
    list_usd = round(sku.list_price * region.price_factor, 10)
    return round(list_usd * (1 - account.negotiated_discount), 10)


def _resource_strings(
    model: ProviderModel, rng: np.random.Generator, draw: Draw
) -> dict[str, pa.Array]:
    """ResourceId, ResourceName, AvailabilityZone and Tags, built column by column."""
    n, sub, sku = len(draw["sub"]), draw["sub"], draw["sku"]
    digits = np.frombuffer(rng.bytes(8 * n).hex().encode(), np.uint8)
    offsets = pa.py_buffer(np.arange(0, 16 * n + 1, 16, dtype=np.int32))
    hexes = pa.StringArray.from_buffers(n, offsets, pa.py_buffer(digits))
    numbers = pc.utf8_lpad(pa.array(np.arange(n)).cast(pa.string()), 5, "0")
    prefixes = strings([f"{s.name}-" for s in model.subs]).take(index_array(sub))
    roles = strings([f"{k.service.role}-" for k in model.skus]).take(index_array(sku))
    names = pc.binary_join_element_wise(prefixes, roles, numbers, "")
    zones = _zones(model, draw, rng.integers(0, 1 << 30, n))
    fields = {
        "account": strings([s.id for s in model.subs]).take(index_array(sub)),
        "subname": strings([s.name for s in model.subs]).take(index_array(sub)),
        "region": strings([r.id for r in model.regions] + [""]).take(index_array(draw["region"])),
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


def _zones(model: ProviderModel, draw: Draw, pick: IntArray) -> pa.Array:
    """A zone of the resource's region for zonal SKUs, else null."""
    counts = np.array([len(r.zones) for r in model.regions] + [1])
    starts = np.concatenate([[0], np.cumsum(counts[:-1])])
    table = strings([z for r in model.regions for z in r.zones] + [None])
    region = draw["region"]
    zonal = model.sku_array("zonal")[draw["sku"]] & (region < len(model.regions))
    index = np.where(zonal, starts[region] + pick % counts[region], len(table) - 1)
    return table.take(index_array(index))


def _formatted(model: ProviderModel, sku: IntArray, fields: dict[str, pa.Array]) -> pa.Array:
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
                pieces.append(fields[name].take(index_array(rows)))
        parts.append(pc.binary_join_element_wise(*pieces, ""))
        order.append(rows)
    joined = pa.concat_arrays(parts)
    return joined.take(index_array(np.argsort(np.concatenate(order), kind="stable")))


def _tag_column(model: ProviderModel, draw: Draw, rng: np.random.Generator) -> pa.Array:
    """Tags per resource: each sub account's team (any team in shared ones), with the
    shares of untagged and misspelled resources of ``TAG_SHARES``."""
    n, sub = len(draw["sub"]), draw["sub"]
    team_keys = [t.key for t in model.company.teams]
    own = np.array([team_keys.index(s.team) for s in model.subs])[sub]
    shared = np.array([s.shared for s in model.subs])[sub]
    team = np.where(shared, rng.integers(0, len(team_keys), n), own)
    variant = np.where(draw["anomaly"] < 0, _tag_variants(n, float(rng.random())), 0)
    key = (team * len(model.subs) + sub) * 7 + variant
    unique, inverse = np.unique(key, return_inverse=True)
    texts = [
        tag_json(
            model.company,
            model.info.tag_style,
            team_keys[k // 7 // len(model.subs)],
            model.subs[k // 7 % len(model.subs)].environment,
            k % 7,
        )
        for k in unique.tolist()
    ]
    return strings(texts).take(index_array(inverse))


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
