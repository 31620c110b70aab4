"""Where the injected anomalies go: each plan of ``company.ANOMALIES`` placed on the timeline."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from costprism.demo.company import AnomalyPlan, Company
from costprism.demo.provider import FloatArray, IntArray
from costprism.demo.timeline import Timeline


@dataclass(frozen=True, kw_only=True)
class PlannedAnomaly:
    index: int
    plan: AnomalyPlan
    start: int  # day index
    end: int  # day index, inclusive

    @property
    def multiplies(self) -> bool:
        """Spikes and leaks multiply usage in their scope; the other kinds add resources."""
        return self.plan.kind in ("spike", "egress_spike", "slow_leak", "one_day_spike")

    def factor(self, day: IntArray) -> FloatArray:
        """The usage multiplier on each of ``day`` (in the window): constant for spikes;
        a slow leak grows linearly from almost nothing to ``factor`` on its last day."""
        if self.plan.kind != "slow_leak":
            return np.full(len(day), self.plan.factor)
        progress = (day - self.start + 1) / (self.end - self.start + 1)
        return 1 + (self.plan.factor - 1) * progress


def plan_anomalies(company: Company, timeline: Timeline) -> tuple[PlannedAnomaly, ...]:
    """Place each anomaly on the timeline, after at least 14 days of history."""
    planned, last = [], timeline.days - 1
    for i, plan in enumerate(company.anomalies):
        start = min(max(round(plan.at * timeline.days), 14), last)
        end = last if plan.days is None else min(start + plan.days - 1, last)
        planned.append(PlannedAnomaly(index=i, plan=plan, start=start, end=end))
    return tuple(planned)
