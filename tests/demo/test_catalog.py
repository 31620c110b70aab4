"""The resource catalog: its size follows the row target, its shares hold at any size."""

from __future__ import annotations

from datetime import date

import numpy as np
import pyarrow.compute as pc
import pytest

from costprism.demo.anomalies import plan_anomalies
from costprism.demo.catalog import CHURN_SHARE, DAYS_PER_MONTH, Catalog, build_catalog
from costprism.demo.company import NORTHWIND
from costprism.demo.provider import ProviderModel, provider_model
from costprism.demo.timeline import build_timeline

TIMELINE = build_timeline(3, date(2026, 5, 1))
PLANNED = plan_anomalies(NORTHWIND, TIMELINE)


def catalog(provider: int, rows_per_month: int, seed: int = 7) -> tuple[ProviderModel, Catalog]:
    model = provider_model(NORTHWIND, provider)
    return model, build_catalog(model, seed, rows_per_month, TIMELINE, PLANNED)


def test_days_alive_follow_the_row_target() -> None:
    for rows_per_month in (5_000, 40_000):
        model, cat = catalog(0, rows_per_month)
        per_month = cat.days_alive(0, TIMELINE.days - 1) / len(TIMELINE.months)
        assert per_month == pytest.approx(rows_per_month * model.info.row_share, rel=0.1)


def test_the_same_seed_draws_the_same_catalog() -> None:
    (_, first), (_, second), (_, other) = catalog(2, 5_000), catalog(2, 5_000), catalog(2, 5_000, 8)
    assert first.strings["ResourceId"].equals(second.strings["ResourceId"])
    assert np.array_equal(first.base, second.base)
    assert not first.strings["ResourceId"].equals(other.strings["ResourceId"])


def test_resource_ids_are_unique_and_shaped_like_the_provider_s() -> None:
    prefixes = {0: "arn:aws:", 1: "/subscriptions/", 2: "//", 3: "skyglass:"}
    for provider, prefix in prefixes.items():
        _, cat = catalog(provider, 20_000)
        ids = cat.strings["ResourceId"]
        assert len(pc.unique(ids)) == len(ids)
        assert pc.all(pc.starts_with(ids, prefix)).as_py()
        assert "{" not in "".join(ids.to_pylist())


def test_about_one_resource_in_seven_lacks_a_team_tag() -> None:
    _, cat = catalog(0, 40_000)
    tags = cat.strings["Tags"]
    no_team = pc.or_kleene(pc.is_null(tags), pc.invert(pc.match_substring(tags, '"team"')))
    assert pc.mean(no_team.cast("int8")).as_py() == pytest.approx(0.145, abs=0.01)


def test_spot_and_anomaly_resources_draw_on_no_commitment() -> None:
    model, cat = catalog(0, 20_000)
    none = len(model.commitments)
    assert (cat.commit[cat.spot] == none).all()
    assert (cat.commit[cat.anomaly >= 0] == none).all()
    assert (cat.commit < none).sum() > 0
    assert (cat.capacity > 0).all()


def test_anomaly_resources_live_only_in_their_window() -> None:
    model, cat = catalog(0, 5_000)
    for p in PLANNED:
        mine = cat.anomaly == p.index
        if p.multiplies or p.plan.provider != model.info.key:
            assert not mine.any()
            continue
        assert mine.sum() >= 2
        assert (cat.first[mine] == p.start).all()
        assert (cat.last[mine] == p.end).all()


def test_the_new_region_is_new_to_its_sub_account() -> None:
    model, cat = catalog(0, 20_000)
    (p,) = (p for p in PLANNED if p.plan.kind == "new_region")
    region = [r.id for r in model.regions].index(str(p.plan.region))
    sub = model.sub_index(p.plan.sub_account_id)
    there = (cat.sub == sub) & (cat.region == region)
    assert there.any()
    assert (cat.anomaly[there] == p.index).all()


@pytest.mark.parametrize("provider", [0, 1, 2, 3])
def test_short_lived_resources_move_no_scope_by_much(provider: int) -> None:
    """Churn stays inside (account, service) scopes with lasting resources, is never a GPU
    machine and costs at most CHURN_SHARE of the scope: the level changes are the planned
    anomalies (which the anomaly resources and multipliers make, outside this churn)."""
    model, cat = catalog(provider, 100_000)
    short = ((cat.first > 0) | (cat.last < TIMELINE.days - 1)) & (cat.anomaly < 0)
    assert short.sum() > 10  # there is churn to check
    skus = model.skus
    gpu = np.array(["GpuCount=" in (s.details or "") for s in skus])[cat.sku]
    assert not (short & gpu).any()
    instance, per_month = cat.flags["instance"], cat.flags["per_month"]
    quantity = np.where(instance, 24.0, np.where(per_month, cat.base / DAYS_PER_MONTH, cat.base))
    daily = quantity * np.array([s.list_price for s in skus])[cat.sku]
    scope = [(int(u), skus[k].service.name) for u, k in zip(cat.sub, cat.sku, strict=True)]
    lasting: dict[tuple[int, str], float] = {}
    for key, cost, brief in zip(scope, daily, short, strict=True):
        lasting[key] = lasting.get(key, 0.0) + (0.0 if brief else float(cost))
    for key, cost in zip(np.array(scope, dtype=object)[short], daily[short], strict=True):
        assert cost <= CHURN_SHARE * lasting[tuple(key)] + 1e-9
