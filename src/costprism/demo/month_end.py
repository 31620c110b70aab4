"""Month-end rows: what depends on the month's totals, after the month's usage.

Each commitment's monthly fee (a Purchase, EffectiveCost 0, since the usage rows carry
the amortized cost) and its unused part per day; credits, support fees and the SaaS
subscription worked out from the billed usage; then tax per (sub account, service) on
everything billed.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa

from costprism.demo.company import BillingAccount, MonthlyCharge, Service
from costprism.demo.focus_file import (
    FOCUS_COLUMNS,
    NUMERIC_COLUMNS,
    TIMESTAMP_COLUMNS,
    Block,
    csv_quote,
)
from costprism.demo.provider import (
    FloatArray,
    ProviderModel,
    commitment_unit,
    index_array,
    invoice_id,
    strings,
)
from costprism.demo.usage import MonthContext, MonthState

Row = dict[str, Any]


def month_end_block(ctx: MonthContext, state: MonthState) -> Block:
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
            columns[name] = strings([csv_quote(v) for v in values] if ctx.csv else values)
    return Block(variant=index_array(np.arange(len(rows))), columns=columns, rows={})


def _header(ctx: MonthContext, sub: int | None, account: BillingAccount) -> Row:
    m, info = ctx.month, ctx.model.info
    row: Row = {
        "ProviderName": info.name,
        "InvoiceIssuerName": info.invoice_issuer,
        "InvoiceId": invoice_id(account, m),
        "BillingAccountId": account.id,
        "BillingAccountName": account.name,
        "BillingAccountType": account.type,
        "BillingPeriodStart": m.start,
        "BillingPeriodEnd": m.end,
        "ChargePeriodStart": m.start,
        "ChargePeriodEnd": m.end,
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


def _service_columns(ctx: MonthContext, service: Service) -> Row:
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


def _commitment_rows(ctx: MonthContext, state: MonthState) -> list[Row]:
    """Each commitment's monthly fee (a Purchase) and its unused part per day."""
    rows: list[Row] = []
    m, model = ctx.month, ctx.model
    for i, c in enumerate(model.commitments):
        sub, unit = model.sub_index(c.sub_account_id), commitment_unit(c)
        rate, qty = float(ctx.cat.commit_rate[i]), float(ctx.cat.capacity[i]) * m.days
        fee = round(qty * rate, 10)
        service = model.service_index(c.service)
        base = _header(ctx, sub, model.account_of(sub)) | _service_columns(
            ctx, model.services[service]
        )
        base |= {
            "CommitmentDiscountId": c.id,
            "CommitmentDiscountName": c.name,
            "CommitmentDiscountCategory": c.category,
            "CommitmentDiscountType": c.type,
            "CommitmentDiscountUnit": unit,
            "SkuId": c.purchase_sku,
            "SkuMeter": "Commitment",
            "ResourceId": c.id,
            "ResourceName": c.name,
            "ResourceType": c.type,
        }
        base |= _region(model, c.region)
        rows.append(
            base
            | _unit_prices(rate, qty, unit)
            | _costs(fee, 0.0)
            | {
                "ChargeCategory": "Purchase",
                "ChargeFrequency": "Recurring",
                "ChargeDescription": f"{c.name}: monthly commitment fee",
                "PricingCategory": "Standard",
                "SkuPriceId": f"{c.purchase_sku}.MONTHLY",
                "CommitmentDiscountQuantity": qty,
            }
        )
        state.billed[sub * len(model.services) + service] += fee
        rows += _unused_rows(ctx, base, state.remaining[i * m.days : (i + 1) * m.days], rate, unit)
    return rows


def _unused_rows(
    ctx: MonthContext, base: Row, left: FloatArray, rate: float, unit: str
) -> list[Row]:
    rows = []
    for day in np.flatnonzero(np.round(left, 6) > 0):
        units = round(float(left[day]), 6)
        start = ctx.month.start + int(day)
        rows.append(
            base
            | _unit_prices(rate, units, unit)
            | _costs(0.0, round(units * rate, 10))
            | {
                "ChargePeriodStart": start,
                "ChargePeriodEnd": start + 1,
                "ChargeCategory": "Usage",
                "ChargeFrequency": "Usage-Based",
                "PricingCategory": "Committed",
                "ChargeDescription": f"{base['CommitmentDiscountName']}: unused commitment",
                "SkuPriceId": f"{base['SkuId']}.UNUSED",
                "CommitmentDiscountStatus": "Unused",
                "CommitmentDiscountQuantity": units,
            }
        )
    return rows


def _region(model: ProviderModel, region_id: str | None) -> Row:
    region = next((r for r in model.regions if r.id == region_id), None)
    return {} if region is None else {"RegionId": region.id, "RegionName": region.name}


def _charge_rows(ctx: MonthContext, state: MonthState, usage_billed: FloatArray) -> list[Row]:
    """Credits, support and subscriptions, worked out from the month's billed usage."""
    rows, model = [], ctx.model
    for ch in (c for c in model.company.monthly_charges if c.provider == model.info.key):
        amount = _charge_amount(ch, model, usage_billed)
        if (ch.months is not None and ctx.month.index >= ch.months) or amount <= 0:
            continue
        account = next(a for a in model.accounts if a.id == ch.billing_account_id)
        sub = None if ch.sub_account_id is None else model.sub_index(ch.sub_account_id)
        row = _header(ctx, sub, account) | _service_columns(ctx, ch.service)
        row |= {"ChargeDescription": ch.description, "SkuId": ch.sku_code}
        if ch.kind == "credit":
            credit = {"ChargeCategory": "Credit", "ChargeFrequency": "One-Time",
                      "SkuMeter": "Credit"}  # fmt: skip
            rows.append(row | _costs(-amount, -amount) | credit)
            continue
        fee = {"ChargeCategory": "Purchase", "ChargeFrequency": "Recurring",
               "PricingCategory": "Standard", "SkuMeter": ch.kind.title(),
               "SkuPriceId": f"{ch.sku_code}.MONTHLY"}  # fmt: skip
        rows.append(row | _costs(amount, amount) | _unit_prices(amount, 1.0, "Units") | fee)
        if sub is not None:
            state.billed[sub * len(model.services) + model.service_index(ch.service.name)] += amount
    return rows


def _charge_amount(ch: MonthlyCharge, model: ProviderModel, usage_billed: FloatArray) -> float:
    """``rate`` times the billed usage of the account (or of one service in it), at least
    ``minimum``; a credit's amount is positive here and negated on its row."""
    billed = usage_billed.reshape(len(model.subs), len(model.services))
    account = [a.id for a in model.accounts].index(ch.billing_account_id)
    base = billed[model.sub_account == account]
    if ch.base_service is not None:
        base = base[:, model.service_index(ch.base_service)]
    amount = round(ch.rate * float(base.sum()), 2)
    return amount if ch.kind == "credit" else max(amount, ch.minimum)


def _tax_rows(ctx: MonthContext, state: MonthState) -> list[Row]:
    """Tax on each (sub account, service) billed this month, in the billing currency."""
    rows, model = [], ctx.model
    billed = state.billed.reshape(len(model.subs), len(model.services))
    for sub, svc in np.argwhere(billed > 0):
        account = model.account_of(int(sub))
        if account.tax_rate <= 0:
            continue
        amount = round(float(billed[sub, svc]) * account.tax_rate, 10)
        service = model.services[int(svc)]
        label = "VAT" if account.currency == "EUR" else "Sales tax"
        rows.append(
            _header(ctx, int(sub), account)
            | _service_columns(ctx, service)
            | _costs(amount, amount, float(ctx.fx[sub]))
            | {
                "ChargeCategory": "Tax",
                "ChargeFrequency": "One-Time",
                "ChargeDescription": f"{label} {account.tax_rate:.2%} on {service.name}",
            }
        )
    return rows
