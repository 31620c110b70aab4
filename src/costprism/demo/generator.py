"""Generate the Northwind Analytics demo: daily FOCUS 1.2 cost files per provider and month.

``generate`` writes, under ``out``::

    focus/<provider>/<YYYY-MM>.<csv|csv.gz|parquet>   one file per provider and month
    anomalies.json                                    the injected anomalies (ground truth)
    company.json                                      accounts, teams, products, tag keys
    manifest.json                                     the spec, the files and their rows

The parts: ``company`` (the data), ``timeline``, ``provider`` (lookup tables),
``catalog`` (the resources), ``anomalies`` (where they go), ``usage`` and ``month_end``
(the rows) and ``focus_file`` (the writers). Each (provider, month) draws from its own
random stream, so the same spec writes the same bytes.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np

from costprism.demo.alerts import ALERTS_FILE, OWNERS_FILE, write_demo_alerts
from costprism.demo.allocation import (
    GL_MAPPING_FILE,
    RULES_FILE,
    TAG_POLICY_FILE,
    write_demo_rules,
)
from costprism.demo.anomalies import PlannedAnomaly, plan_anomalies
from costprism.demo.budgets import BUDGETS_FILE, write_demo_budgets
from costprism.demo.catalog import Catalog, build_catalog
from costprism.demo.company import NORTHWIND, AnomalyKind, summary
from costprism.demo.focus_file import EXTENSIONS, Block, FileFormat, days_for, focus_file
from costprism.demo.month_end import month_end_block
from costprism.demo.provider import FloatArray, ProviderModel, provider_model, rng_for
from costprism.demo.timeline import Timeline, build_timeline
from costprism.demo.usage import MonthContext, MonthState, month_context, usage_block
from costprism.errors import UserError

CHUNK_ROWS = 65_536  # rows per block: about 60 MB of CSV text in flight
MIN_ROWS_PER_MONTH = 1_000  # below ~2,000 the anomalies' resources add more than 10%


@dataclass(frozen=True, kw_only=True)
class DemoSpec:
    seed: int = 7
    months: int = 13
    end_month: date | None = None  # first day of the last month; default: last complete month
    rows_per_month: int = 50_000  # rows a month over all providers, ±10% from 2,000 up
    file_format: FileFormat = "csv"
    providers: tuple[str, ...] = ()  # provider keys (aws, azure, gcp, skyglass) to write; () all

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
        known = [p.key for p in NORTHWIND.providers]
        if unknown := [p for p in self.providers if p not in known]:
            raise UserError(f"demo providers: {unknown} not among {known}")
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
    sku_id: str | None  # the SKU of the resources it adds, when it adds them
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
            **({"SkuId": self.sku_id} if self.sku_id else {}),
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
    """Write the demo under ``out``; call ``progress(done_rows, total_estimate)`` per block."""
    timeline = build_timeline(spec.months, spec.end_month)
    planned = plan_anomalies(NORTHWIND, timeline)
    models = [provider_model(NORTHWIND, i) for i in range(len(NORTHWIND.providers))]
    if spec.providers:  # each provider draws from its own streams: its files stay the same
        models = [m for m in models if m.info.key in spec.providers]
    catalogs = [build_catalog(m, spec.seed, spec.rows_per_month, timeline, planned) for m in models]
    total = sum(_expected_rows(m, c, timeline) for m, c in zip(models, catalogs, strict=True))
    days = days_for(timeline, spec.file_format)
    impact, entries, done = np.zeros(len(planned)), [], 0

    def on_block(rows: int) -> None:
        nonlocal done
        done += rows
        if progress is not None:
            progress(done, max(total, done))

    for model, cat in zip(models, catalogs, strict=True):
        for month in timeline.months:
            csv = spec.file_format != "parquet"
            ctx = month_context(model, cat, month, timeline, planned, days, csv)
            path = f"focus/{model.info.key}/{month.label}.{EXTENSIONS[spec.file_format]}"
            rows, month_impact = _write_month(ctx, out / path, spec, on_block)
            impact += month_impact
            entries.append(
                {
                    "path": path,
                    "provider": model.info.key,
                    "ProviderName": model.info.name,
                    "billing_period": month.label,
                    "rows": rows,
                }
            )
    by_key = {m.info.key: m for m in models}
    anomalies = tuple(
        _injected(p, by_key[p.plan.provider], timeline, impact)
        for p in planned
        if p.plan.provider in by_key
    )
    _write_side_files(out, spec, timeline, entries, anomalies)
    files = tuple(out / str(e["path"]) for e in entries)
    return DemoResult(out=out, files=files, rows=done, anomalies=anomalies)


def _write_month(
    ctx: MonthContext, path: Path, spec: DemoSpec, on_block: Callable[[int], None]
) -> tuple[int, FloatArray]:
    """Write one provider-month file; return its rows and the anomalies' impact in it."""
    m, cat = ctx.month, ctx.cat
    rng = rng_for(spec.seed, ctx.model.index, 1 + m.first.year * 12 + m.first.month)
    state = MonthState(
        remaining=np.repeat(cat.capacity, m.days).astype(np.float64),
        billed=np.zeros(len(ctx.model.subs) * len(ctx.model.services)),
        impact=np.zeros(len(ctx.planned)),
    )
    rows = 0
    with focus_file(path, spec.file_format) as write:
        for block in _blocks(ctx, rng, state):
            write(block)
            rows += block.num_rows
            on_block(block.num_rows)
    return rows, state.impact


def _blocks(ctx: MonthContext, rng: np.random.Generator, state: MonthState) -> Iterator[Block]:
    """The month's usage in blocks of at most CHUNK_ROWS rows, then its month-end rows."""
    alive = ctx.cat.alive(ctx.month.start, ctx.month.end - 1)
    per_block = max(1, CHUNK_ROWS // ctx.month.days)
    for i in range(0, len(alive), per_block):
        yield usage_block(ctx, alive[i : i + per_block], rng, state)
    yield month_end_block(ctx, state)


def _expected_rows(model: ProviderModel, cat: Catalog, timeline: Timeline) -> int:
    month_end = len(model.commitments) * 25 + len(model.subs) * 8
    return cat.days_alive(0, timeline.days - 1) + month_end * len(timeline.months)


def _injected(
    p: PlannedAnomaly, model: ProviderModel, timeline: Timeline, impact: FloatArray
) -> InjectedAnomaly:
    account = model.account_of(model.sub_index(p.plan.sub_account_id))
    return InjectedAnomaly(
        kind=p.plan.kind,
        provider=model.info.name,
        sub_account_id=p.plan.sub_account_id,
        service_name=p.plan.service,
        region_id=p.plan.region if p.plan.kind == "new_region" else None,
        sku_id=None if p.multiplies else p.plan.sku_code,
        start=timeline.date(p.start),
        end=timeline.date(p.end),
        impact_estimate=float(impact[p.index]),
        billing_currency=account.currency,
        description=p.plan.description,
    )


def _write_side_files(
    out: Path,
    spec: DemoSpec,
    timeline: Timeline,
    entries: list[dict[str, Any]],
    anomalies: tuple[InjectedAnomaly, ...],
) -> None:
    """anomalies.json, company.json, the side inputs (rules, tag policy, GL mapping,
    budgets, alert routing and owners) and manifest.json, which names them."""
    _write_json(out / "anomalies.json", [a.to_json() for a in anomalies])
    _write_json(out / "company.json", summary(NORTHWIND))
    write_demo_rules(out)
    last = timeline.months[-1].label
    write_demo_budgets(out, [out / str(e["path"]) for e in entries if e["billing_period"] == last])
    write_demo_alerts(out)
    manifest = {
        "generator": "costprism-demo",
        "version": 1,
        "seed": spec.seed,
        "months": spec.months,
        "start": timeline.months[0].label,
        "end": timeline.months[-1].label,
        "rows_per_month": spec.rows_per_month,
        "focus_version": "1.2",
        "file_format": spec.file_format,
        "files": entries,
        "company": "company.json",
        "side_inputs": {
            "anomalies": "anomalies.json",
            "allocation_rules": RULES_FILE,
            "tag_policy": TAG_POLICY_FILE,
            "gl_mapping": GL_MAPPING_FILE,
            "budgets": BUDGETS_FILE,
            "alerts": ALERTS_FILE,
            "owners": OWNERS_FILE,
        },
    }
    _write_json(out / "manifest.json", manifest)


def _write_json(path: Path, value: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(value, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
