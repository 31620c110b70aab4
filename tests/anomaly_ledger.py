"""A constructed ledger for the anomaly tests ("the shop"): daily usage rows with known
amounts, from 2026-01-01 to 2026-04-30 (one import), written as a FOCUS CSV from one plain
usage row of the 10k sample:

==============  ================  ==========  ========================================
SubAccountId    ServiceName       region      what happens
==============  ================  ==========  ========================================
111 (payments)  Compute Service   us-east-1   r1 (sku S1) and r2 (sku S2), a weekly pattern;
                                              **spike**: r2 × 6 on 2026-03-10 … 03-12
111             Support           —           500 on the first day of every month
111             Data Transfer     us-east-1   meter "Data Transfer Out" 20 a day;
                                              **egress spike**: × 10 on 04-15 and 04-16
222 (data)      Storage Service   us-west-2   b1, 40 a day, flat
222             Storage Service   eu-west-1   **new region**: b2, 60 a day from 04-10
222             Compute Service   us-west-2   **GPU**: g1 ("GPU Instance") 800 a day on
                                              04-01 … 04-03 (and a first service spend)
==============  ================  ==========  ========================================

The ``team`` tag says payments (account 111) or data (222). The last two days (04-29,
04-30) are what detection leaves out by default; :data:`UNFINISHED_SPIKE` puts a spike
there in the variant :func:`shop_charges` builds with ``unfinished_spike=True``.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from pathlib import Path

import pytest

from costprism.ingest.pipeline import IngestOptions, ingest
from costprism.ledger import Ledger
from tests.ingest.conftest import sample_table

FIRST, LAST = date(2026, 1, 1), date(2026, 4, 30)
SPIKE = (date(2026, 3, 10), date(2026, 3, 12))
EGRESS = (date(2026, 4, 15), date(2026, 4, 16))
GPU = (date(2026, 4, 1), date(2026, 4, 3))
NEW_REGION = date(2026, 4, 10)
WEEKLY = (1.0, 1.05, 1.1, 1.05, 1.0, 0.5, 0.45)
COSTS = ("BilledCost", "EffectiveCost", "ListCost", "ContractedCost",
         "PricingCurrencyEffectiveCost")  # fmt: skip


@dataclass(frozen=True, kw_only=True)
class Usage:
    day: date
    account: str
    service: str
    region: str | None
    resource: str | None
    sku: str | None
    amount: float
    meter: str = "Usage"


def _days() -> list[date]:
    return [FIRST + timedelta(days=i) for i in range((LAST - FIRST).days + 1)]


def _noise(day: date, salt: int) -> float:
    """A small deterministic wobble (±3%)."""
    return 1 + 0.03 * (((day.toordinal() * 7919 + salt * 104729) % 201) / 100 - 1)


def shop_charges(*, unfinished_spike: bool = False) -> list[Usage]:
    rows: list[Usage] = []
    for day in _days():
        weekly = WEEKLY[day.weekday()]
        r2 = 50 * weekly * _noise(day, 2) * (6 if SPIKE[0] <= day <= SPIKE[1] else 1)
        if unfinished_spike and day >= LAST - timedelta(days=1):
            r2 *= 6
        egress = 20 * _noise(day, 3) * (10 if EGRESS[0] <= day <= EGRESS[1] else 1)
        rows += [
            Usage(day=day, account="111", service="Compute Service", region="us-east-1",
                  resource="r1", sku="S1", amount=100 * weekly * _noise(day, 1)),
            Usage(day=day, account="111", service="Compute Service", region="us-east-1",
                  resource="r2", sku="S2", amount=r2),
            Usage(day=day, account="111", service="Data Transfer", region="us-east-1",
                  resource="lb1", sku="T1", amount=egress, meter="Data Transfer Out"),
            Usage(day=day, account="222", service="Storage Service", region="us-west-2",
                  resource="b1", sku="B1", amount=40 * _noise(day, 4)),
        ]  # fmt: skip
        if day.day == 1:
            rows.append(Usage(day=day, account="111", service="Support", region=None,
                              resource=None, sku="SUP", amount=500.0))  # fmt: skip
        if day >= NEW_REGION:
            b2 = Usage(day=day, account="222", service="Storage Service", region="eu-west-1",
                       resource="b2", sku="B1", amount=60.0)  # fmt: skip
            rows.append(b2)
        if GPU[0] <= day <= GPU[1]:
            rows.append(Usage(day=day, account="222", service="Compute Service",
                              region="us-west-2", resource="g1", sku="G1", amount=800.0,
                              meter="GPU Instance"))  # fmt: skip
    return rows


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


def write_csv(path: Path, usages: Iterable[Usage]) -> Path:
    columns, template = _template()
    index = {c: i for i, c in enumerate(columns)}
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(columns)
        for u in usages:
            row = list(template)
            start = datetime.combine(u.day, time(0))
            period = u.day.replace(day=1)
            following = (period + timedelta(days=32)).replace(day=1)
            team = "payments" if u.account == "111" else "data"
            values = {
                "BillingAccountId": "900000000001",
                "SubAccountId": u.account,
                "SubAccountName": f"account-{u.account}",
                "BillingPeriodStart": f"{period}T00:00:00Z",
                "BillingPeriodEnd": f"{following}T00:00:00Z",
                "ChargePeriodStart": f"{start:%Y-%m-%dT%H:%M:%S}Z",
                "ChargePeriodEnd": f"{start + timedelta(days=1):%Y-%m-%dT%H:%M:%S}Z",
                "BillingCurrency": "USD",
                "PricingCurrency": "USD",
                "ServiceName": u.service,
                "RegionId": u.region or "",
                "RegionName": u.region or "",
                "AvailabilityZone": "",
                "ResourceId": u.resource or "",
                "ResourceName": u.resource or "",
                "SkuId": u.sku or "",
                "SkuPriceId": f"{u.sku}-P" if u.sku else "",
                "SkuMeter": u.meter,
                "SkuPriceDetails": "",
                "ChargeDescription": f"{u.service} {u.meter}",
                "PricingQuantity": "1",
                "ConsumedQuantity": "1",
                "InvoiceId": f"INV-{period:%Y-%m}",
                "Tags": json.dumps({"team": team}),
                **{c: f"{u.amount:.6f}" for c in COSTS},
            }
            for column, value in values.items():
                row[index[column]] = value
            writer.writerow(row)
    return path


def build_shop(home: Path, *, unfinished_spike: bool = False) -> Ledger:
    ledger = Ledger.at_home(home)
    path = write_csv(home / "shop.csv", shop_charges(unfinished_spike=unfinished_spike))
    ingest([path], ledger, IngestOptions(source="shop"))
    return ledger


def shop_home(factory: pytest.TempPathFactory) -> Path:
    """The shop's home, built once per test session (read only)."""
    global _HOME
    if _HOME is None:
        _HOME = factory.mktemp("shop")
        build_shop(_HOME)
    return _HOME


_HOME: Path | None = None
