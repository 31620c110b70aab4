"""Constructed ledgers for the forecast tests: daily usage rows with known amounts.

:func:`daily_rows` writes a FOCUS CSV (the 10k sample's header, one of its plain usage rows
as the template) with one row per given :class:`Charge`: a day (or part of one), the
``team`` tag, the service, the currency and the amount (every cost column). :func:`pattern`
is the known series the model tests forecast: a level, a weekly pattern and a trend.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from pathlib import Path

from costprism.ingest.pipeline import IngestOptions, ingest
from costprism.ledger import Ledger
from tests.ingest.conftest import sample_table

WEEKLY = (1.0, 1.1, 1.15, 1.1, 1.05, 0.6, 0.5)  # Monday … Sunday
COSTS = (
    "BilledCost", "EffectiveCost", "ListCost", "ContractedCost", "PricingCurrencyEffectiveCost",
    "ListUnitPrice", "ContractedUnitPrice", "PricingCurrencyListUnitPrice",
    "PricingCurrencyContractedUnitPrice",
)  # fmt: skip


@dataclass(frozen=True, kw_only=True)
class Charge:
    day: date
    team: str
    amount: float
    service: str = "Compute Service"
    currency: str = "USD"
    account: str = "100000000001"
    hours: int = 24  # how much of the day the row covers


def pattern(day: date, *, level: float = 100.0, trend: float = 0.5, first: date) -> float:
    """A known daily cost: level + trend per day since ``first``, times the weekday factor."""
    return (level + trend * (day - first).days) * WEEKLY[day.weekday()]


def series_charges(
    team: str, first: date, last: date, *, level: float = 100.0, trend: float = 0.5, **extra: str
) -> list[Charge]:
    """One charge a day from ``first`` to ``last`` following :func:`pattern`."""
    days = [first + timedelta(days=i) for i in range((last - first).days + 1)]
    return [
        Charge(
            day=day,
            team=team,
            amount=round(pattern(day, level=level, trend=trend, first=first), 6),
            **extra,  # type: ignore[arg-type]
        )
        for day in days
    ]


def _template() -> tuple[list[str], list[str]]:
    header, data = sample_table()
    columns = list(header)
    for row in data:
        record = dict(zip(columns, row, strict=True))
        if (
            record["ChargeCategory"] == "Usage"
            and not record["CommitmentDiscountId"]
            and record["ProviderName"] == "AWS"
            and record["ChargeClass"] == ""
        ):
            return columns, list(row)
    raise AssertionError("the sample has no plain AWS usage row")


def daily_rows(path: Path, charges: Iterable[Charge]) -> Path:
    """Write ``charges`` as a FOCUS CSV at ``path``."""
    import csv

    columns, template = _template()
    index = {c: i for i, c in enumerate(columns)}
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(columns)
        for charge in charges:
            row = list(template)
            start = datetime.combine(charge.day, time(0))
            period = charge.day.replace(day=1)
            following = (period + timedelta(days=32)).replace(day=1)
            values = {
                "BillingAccountId": charge.account,
                "BillingPeriodStart": f"{period}T00:00:00Z",
                "BillingPeriodEnd": f"{following}T00:00:00Z",
                "ChargePeriodStart": f"{start:%Y-%m-%dT%H:%M:%S}Z",
                "ChargePeriodEnd": f"{start + timedelta(hours=charge.hours):%Y-%m-%dT%H:%M:%S}Z",
                "BillingCurrency": charge.currency,
                "PricingCurrency": charge.currency,
                "ServiceName": charge.service,
                "PricingQuantity": "1",
                "ConsumedQuantity": "1",
                "InvoiceId": f"INV-{period:%Y-%m}",
                "Tags": json.dumps({"team": charge.team}),
                **{c: f"{charge.amount:.6f}" for c in COSTS},
            }
            for column, value in values.items():
                row[index[column]] = value
            writer.writerow(row)
    return path


def build_home(home: Path, sources: dict[str, Sequence[Charge]]) -> Ledger:
    """A home whose ledger holds each source's charges (one import per source)."""
    ledger = Ledger.at_home(home)
    for name, charges in sources.items():
        csv_path = daily_rows(home / f"{name}.csv", charges)
        ingest([csv_path], ledger, IngestOptions(source=name))
    return ledger
