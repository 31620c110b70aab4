"""Constructed ledgers for the forecast tests: daily usage rows with known amounts.

:func:`daily_rows` writes a FOCUS CSV (the 10k sample's header, one of its plain usage rows
as the template) with one row per given :class:`Charge`: a day (or part of one), the
``team`` tag, the service, the currency and the amount (every cost column). :func:`pattern`
is the known series the capability tests forecast: a level, a trend and a weekly pattern.
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
    """A known daily cost: level + trend per day since ``first``, plus the weekday's offset
    (``level × (factor − 1)``: a weekly pattern of constant size)."""
    return level + trend * (day - first).days + level * (WEEKLY[day.weekday()] - 1)


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


FIRST = date(2026, 1, 1)
LAST = date(2026, 5, 20)  # the last complete day of :func:`forecast_home`
RULES = """\
dimensions: [team]
rules:
  - name: team from its tag
    match: {tag:team: [payments]}
    set: {team: payments}
  - name: data
    match: {tag:team: [data]}
    set: {team: data}
"""


def forecast_sources() -> dict[str, list[Charge]]:
    """The forecast tests' ledger, by source:

    * ``a`` (account 100000000001): team ``payments`` (USD, level 100, trend 0.5/day) and
      team ``data`` (USD, level 50, trend 0.2/day and 20 EUR a day), daily from
      :data:`FIRST` to :data:`LAST`, and a payments charge covering 12 hours of the day
      after (that day is not complete);
    * ``b`` (account 100000000002): payments' ``Object Storage``, 30 USD a day, same days;
    * ``old`` (account 100000000003): team ``data``, 5 USD a day in January only (a source
      that stopped: it does not hold the forecast back).
    """
    partial = Charge(day=LAST + timedelta(days=1), team="payments", amount=999.0, hours=12)
    return {
        "a": [
            *series_charges("payments", FIRST, LAST),
            *series_charges("data", FIRST, LAST, level=50, trend=0.2),
            *[
                Charge(day=c.day, team="data", amount=20.0, currency="EUR")
                for c in series_charges("data", FIRST, LAST)
            ],
            partial,
        ],
        "b": [
            Charge(
                day=c.day,
                team="payments",
                amount=30.0,
                service="Object Storage",
                account="100000000002",
            )
            for c in series_charges("payments", FIRST, LAST)
        ],
        "old": [
            Charge(day=FIRST + timedelta(days=i), team="data", amount=5.0, account="100000000003")
            for i in range(31)
        ],
    }


def apply_team_rules(ledger: Ledger) -> None:
    from costprism.allocation.rules import parse_rules
    from costprism.capabilities.allocation import apply_rules

    apply_rules(ledger, parse_rules(RULES, "rules"))
