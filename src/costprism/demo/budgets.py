"""The demo company's budgets: one monthly budget per team, written beside the rules.

Each team's budget is sized from what the generator just wrote for the last month: the
EffectiveCost of its rows per currency, a row belonging to the team its ``team`` tag names
(any spelling the rules' aliases accept) or else to the owner of its sub-account (as the
rules place it), with the platform team's cost spread over the product teams in proportion
to their own (as the rules' last shared step does). A budget is in the team's largest
currency. Every budget keeps 10 % back (finance's holdback) and makes
:data:`HEADROOM` x last month's cost available; the budget of :data:`AT_RISK` makes only
:data:`AT_RISK_HEADROOM` x available, so its forecast for the month in progress runs over
it: ``make demo`` shows a budget at risk.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

from costprism.demo.company import NORTHWIND, TEAM_MISSPELLINGS, Company

BUDGETS_FILE = "budgets.yaml"
AT_RISK = "ml"
HEADROOM = Decimal("1.5")
AT_RISK_HEADROOM = Decimal("0.8")
HOLDBACK = Decimal("0.1")
_PLATFORM = "platform"

Spend = dict[str, dict[str, Decimal]]  # team -> currency -> EffectiveCost


def team_spend(files: Sequence[Path], company: Company = NORTHWIND) -> Spend:
    """Last month's EffectiveCost per team and currency in ``files`` (module docstring)."""
    import duckdb

    if not files:
        return {}
    spellings = {key.lower(): key for key in TEAM_MISSPELLINGS}
    spellings |= {s.lower(): key for key, names in TEAM_MISSPELLINGS.items() for s in names}
    owners = {s.id: s.team for s in company.sub_accounts}
    listed = "[" + ", ".join("'" + str(f).replace("'", "''") + "'" for f in files) + "]"
    reader = "read_parquet" if str(files[0]).endswith(".parquet") else "read_csv"
    options = "" if reader == "read_parquet" else ", all_varchar = true"
    connection = duckdb.connect()
    try:
        rows = connection.execute(
            f"""SELECT BillingCurrency, lower(trim(json_extract_string(Tags, '$.team'))),
                CAST(SubAccountId AS VARCHAR), sum(CAST(EffectiveCost AS DECIMAL(38, 10)))
            FROM {reader}({listed}, union_by_name = true{options}) GROUP BY ALL"""
        ).fetchall()
    finally:
        connection.close()
    spend: Spend = {}
    for currency, tag, sub, cost in rows:
        team = spellings.get(tag or "") or owners.get(sub)
        if team is None or cost is None:
            continue
        per = spend.setdefault(team, {})
        per[currency] = per.get(currency, Decimal(0)) + Decimal(cost)
    return _spread_platform(spend)


def demo_budgets(spend: Mapping[str, Mapping[str, Decimal]], company: Company = NORTHWIND) -> str:
    """The budgets YAML for ``spend`` (last month's cost per team and currency)."""
    lines = [
        "# The demo company's budgets (costprism budgets apply budgets.yaml): one per team,",
        f"# monthly, 10 % held back by finance; {AT_RISK}'s forecast runs over its budget.",
        "budgets:",
    ]
    for team in company.teams:
        amounts = spend.get(team.key, {})
        if not amounts:
            continue
        currency = max(amounts, key=lambda c: (amounts[c], c))
        headroom = AT_RISK_HEADROOM if team.key == AT_RISK else HEADROOM
        amount = _round(amounts[currency] * headroom / (1 - HOLDBACK))
        lines += [
            f"  - name: {team.key}-monthly",
            f"    scope: {json.dumps(f'team={team.key}')}",
            "    period: month",
            f"    amount: {amount}",
            f"    currency: {currency}",
            "    basis: effective",
            "    thresholds: {actual: [80, 100], forecast: [100]}",
            f"    owners: [{json.dumps(f'{team.key}-lead@northwind.example')}]",
            f"    holdback: {_round(amount * HOLDBACK)}",
        ]
    return "\n".join(lines) + "\n"


def write_demo_budgets(out: Path, last_month: Sequence[Path]) -> Path:
    """``budgets.yaml`` beside the demo's exports, sized from ``last_month``'s files."""
    path = out / BUDGETS_FILE
    path.write_text(demo_budgets(team_spend(last_month)), encoding="utf-8")
    return path


def _spread_platform(spend: Spend) -> Spend:
    platform = spend.pop(_PLATFORM, {})
    for currency, pool in platform.items():
        base = sum((per.get(currency, Decimal(0)) for per in spend.values()), Decimal(0))
        if base <= 0:
            continue
        for per in spend.values():
            if currency in per:
                per[currency] += pool * per[currency] / base
    return spend


def _round(amount: Decimal) -> Decimal:
    """To three significant digits, as people write budgets (at least 1)."""
    if amount < 1:
        return Decimal(1)
    digits = len(str(int(amount)))
    step = Decimal(10) ** max(0, digits - 3)
    return (amount / step).quantize(Decimal(1), rounding=ROUND_HALF_UP) * step
