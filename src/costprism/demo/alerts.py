"""The demo company's alert routing: ``alerts.yaml`` and ``owners.yaml``, written beside the
rules; ``make demo`` copies both into the data folder and runs ``alerts run --detect``.

No mail server is assumed: every demo user is reached on a **log channel** of their own
(``alerts/<user>.jsonl`` in the data folder, one JSON line per alert), so what each one
was told can be read there and on the ``/alerts`` page; nothing pretends to send mail.
Routing (the roles as :mod:`costprism.demo.users` scopes them):

* finance, practitioner and management: budget alerts and a weekly digest;
* security: the security anomalies and a daily digest;
* engineering (scoped to the payments team): the cost anomalies it sees;
* the owners file: each sub-account's anomalies to its team's owners log, payments' also
  to ``demo-engineering``; each team's budget (``team=KEY``) to that team's owners log.

Every alert obeys the recipient's scope, so demo-finance (one cost center) hears only of
budgets and anomalies inside it.
"""

from __future__ import annotations

import json
from pathlib import Path

from costprism.demo.company import NORTHWIND, Company
from costprism.demo.users import DEMO_TEAM, demo_users

ALERTS_FILE = "alerts.yaml"
OWNERS_FILE = "owners.yaml"
ROUTING = {
    "finance": ("[budget]", "weekly"),
    "practitioner": ("[budget]", "weekly"),
    "management": ("[budget]", "weekly"),
    "security": ("[security]", "daily"),
    "engineering": ("[anomaly]", "none"),
}


def demo_alerts(company: Company = NORTHWIND) -> str:
    """alerts.yaml: a log channel per routed demo user and one per team's owners."""
    users = [u for u in demo_users(company) if u.role in ROUTING]
    lines = [
        "# The demo company's alert routing (costprism alerts run; see docs/how-to/alerts.md).",
        "# No SMTP server: each user's alerts are appended to alerts/<user>.jsonl here.",
        "channels:",
    ]
    for user in users:
        lines += [f"  - {{name: {user.username}, type: log, path: alerts/{user.username}.jsonl}}"]
    for team in company.teams:
        lines += [
            f"  - {{name: {team.key}-owners, type: log, path: alerts/{team.key}-owners.jsonl}}"
        ]
    lines.append("recipients:")
    lines += [f"  {u.username}: {{channels: [{u.username}]}}" for u in users]
    lines.append("roles:")
    lines += [f"  {role}: {{immediate: {kinds}, digest: {digest}}}"
              for role, (kinds, digest) in ROUTING.items()]  # fmt: skip
    return "\n".join(lines) + "\n"


def demo_owners(company: Company = NORTHWIND) -> str:
    """owners.yaml: each sub-account and each team to its team's owners channel."""
    lines = ["# Who owns what at Northwind (anomaly owners and alert routing).", "owners:"]
    for account in company.sub_accounts:
        lines += _entry(f"SubAccountId={account.id}", account.team)
    for team in company.teams:
        lines += _entry(f"team={team.key}", team.key)
    return "\n".join(lines) + "\n"


def write_demo_alerts(out: Path, company: Company = NORTHWIND) -> tuple[Path, Path]:
    alerts, owners = out / ALERTS_FILE, out / OWNERS_FILE
    alerts.write_text(demo_alerts(company), encoding="utf-8")
    owners.write_text(demo_owners(company), encoding="utf-8")
    return alerts, owners


def _entry(match: str, team: str) -> list[str]:
    lines = [f"  - match: {json.dumps(match)}"]
    if team == DEMO_TEAM:
        lines.append("    users: [demo-engineering]")
    lines.append(f"    channels: [{json.dumps(f'log:{team}-owners')}]")
    return lines
