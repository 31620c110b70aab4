"""One provider's slice of the company, with the lookup tables that rows are taken from."""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from costprism.demo.company import (
    BillingAccount,
    Commitment,
    Company,
    Provider,
    Region,
    Service,
    Sku,
    SubAccount,
)
from costprism.demo.focus_file import csv_escaped
from costprism.demo.timeline import Month

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

PRICING_CATEGORIES = ("Standard", "Dynamic", "Committed")
STANDARD, DYNAMIC, COMMITTED = 0, 1, 2


@dataclass(frozen=True, kw_only=True, eq=False)
class ProviderModel:
    """A provider's accounts, SKUs, regions and commitments, indexed for numpy and pyarrow.

    ``lookups`` are columns by sub account, SKU, (SKU, pricing category), region and
    commitment; the region and commitment tables end in a null entry for "none".
    """

    company: Company
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
        """One SKU attribute for every SKU, to index with a resource's SKU."""
        return np.array([getattr(s, attribute) for s in self.skus])


def provider_model(company: Company, index: int) -> ProviderModel:
    info = company.providers[index]
    skus = tuple(s for s in company.skus if s.provider == info.key)
    services = {s.service.name: s.service for s in reversed(skus)}
    charges = (c.service for c in company.monthly_charges if c.provider == info.key)
    services |= {c.name: c for c in charges if c.name not in services}
    names = list(dict.fromkeys([s.service.name for s in skus] + list(services)))
    accounts = tuple(a for a in company.billing_accounts if a.provider == info.key)
    subs = tuple(s for s in company.sub_accounts if s.provider == info.key)
    ids = [a.id for a in accounts]
    model = ProviderModel(
        company=company,
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
    model.csv_lookups.update({k: csv_escaped(v) for k, v in model.lookups.items()})
    return model


def strings(values: list[str] | list[str | None]) -> pa.Array:
    return pa.array(values, type=pa.string())


def index_array(values: npt.NDArray[Any]) -> pa.Array:
    """Indices for ``pyarrow`` ``take``."""
    return pa.array(values.astype(np.int32))


def _lookups(m: ProviderModel) -> dict[str, pa.Array]:
    accounts = [m.account_of(i) for i in range(len(m.subs))]
    per_sub: dict[str, list[str | None]] = {
        "SubAccountId": [s.id for s in m.subs],
        "SubAccountName": [s.name for s in m.subs],
        "BillingAccountId": [a.id for a in accounts],
        "BillingAccountName": [a.name for a in accounts],
        "BillingAccountType": [a.type for a in accounts],
        "BillingCurrency": [a.currency for a in accounts],
    }
    per_sku: dict[str, list[str | None]] = {
        "PublisherName": [s.service.publisher or m.info.publisher for s in m.skus],
        "ServiceName": [s.service.name for s in m.skus],
        "ServiceCategory": [s.service.category for s in m.skus],
        "ServiceSubcategory": [s.service.subcategory for s in m.skus],
        "ResourceType": [s.service.resource_type for s in m.skus],
        "SkuId": [s.code for s in m.skus],
        "SkuMeter": [s.meter for s in m.skus],
        "SkuPriceDetails": [s.details for s in m.skus],
        "PricingUnit": [s.pricing_unit for s in m.skus],
        "ConsumedUnit": [s.consumed_unit for s in m.skus],
    }
    per_price: dict[str, list[str | None]] = {
        "SkuPriceId": [
            f"{s.code}.{k[:2].upper()}{i}" for s in m.skus for i, k in enumerate(PRICING_CATEGORIES)
        ],
        "ChargeDescription": [usage_description(s, k) for s in m.skus for k in PRICING_CATEGORIES],
    }
    columns = per_sub | per_sku | per_price
    return (
        {name: strings(values) for name, values in columns.items()}
        | _commitment_lookups(m)
        | {
            "RegionId": strings([r.id for r in m.regions] + [None]),
            "RegionName": strings([r.name for r in m.regions] + [None]),
            "PricingCategory": strings(list(PRICING_CATEGORIES)),
        }
    )


def _commitment_lookups(m: ProviderModel) -> dict[str, pa.Array]:
    columns: dict[str, list[str | None]] = {
        "CommitmentDiscountId": [c.id for c in m.commitments],
        "CommitmentDiscountName": [c.name for c in m.commitments],
        "CommitmentDiscountCategory": [c.category for c in m.commitments],
        "CommitmentDiscountType": [c.type for c in m.commitments],
        "CommitmentDiscountUnit": [commitment_unit(c) for c in m.commitments],
        "CommitmentDiscountStatus": ["Used" for _ in m.commitments],
    }
    return {name: strings([*values, None]) for name, values in columns.items()}


def usage_description(sku: Sku, category: str) -> str:
    how = {"Standard": "on-demand", "Dynamic": "spot", "Committed": "commitment-covered"}
    return f"{sku.description} ({how[category]}, per {sku.pricing_unit})"


def commitment_unit(c: Commitment) -> str:
    return "USD" if c.category == "Spend" else "Hours"


def rng_for(seed: int, provider: int, stream: int) -> np.random.Generator:
    """The random stream of (seed, provider, stream): 0 the catalog, 1 + yyyy*12+mm a month."""
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence([seed, provider, stream])))


def invoice_id(account: BillingAccount, month: Month) -> str:
    serial = int(hashlib.sha256(account.id.encode()).hexdigest()[:8], 16) % 100_000
    return f"{account.invoice_prefix}{month.first:%y%m}{serial:05d}"


def fx_rate(currency: str, month: Month) -> float:
    """Units of ``currency`` per USD in a month: a smooth, made-up EUR path."""
    if currency == "USD":
        return 1.0
    k = month.first.year * 12 + month.first.month
    return round(0.92 + 0.025 * math.sin(k / 3.0), 4)
