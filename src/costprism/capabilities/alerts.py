"""Alerts: what ``costprism alerts run|test|deliveries``, ``costprism serve
--alerts-every``, the API's ``/alerts`` and the ``/alerts`` page all call.

:func:`run_alerts` evaluates, for every recipient (:mod:`costprism.alerts.routing`)
**within that recipient's scope, through the engine**:

* **anomaly alerts**: each recorded anomaly in state ``open`` (a suppressed one is recorded
  ``expected``, so it is not alerted), to its owners and to the roles that take its kind
  (``anomaly`` or ``security``), only to recipients for whom
  :func:`costprism.capabilities.anomalies.visible` says the whole anomaly lies in scope;
* **budget alerts**: each budget, to its owners, its owners-file entry and the roles that
  take ``budget``; a recipient is told only about a budget whose scope lies inside theirs
  (:func:`~costprism.capabilities.budget_store.covers`), with the figures computed under
  their scope (:func:`~costprism.capabilities.budgets.budget_statuses`); one alert per
  budget, period, basis (actual or forecast) and highest threshold crossed;
* **digests**: per role whose routing asks for one (``daily``: once a day; ``weekly``:
  once an ISO week, from the configured weekday), to each user with the role: the
  anomalies detected since the role's previous digest, the budgets not ``ok`` and the
  top movers (services whose cost changed most between the last 1 or 7 complete days and
  the ones before), all under the user's scope; an empty digest is not sent.

Each (alert, recipient, channel, address) is one delivery (:mod:`costprism.alerts.store`):
sent once; a failed one is kept ``failed`` with the error and tried again by the next run,
so running twice sends nothing new. ``dry_run`` sends and records nothing. Without an SMTP
server configured, e-mail addresses are not planned at all (a routing problem is reported
instead), so a deployment without e-mail is not a stream of failures.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select

from costprism.alerts.channels import Message, SendFailed, send
from costprism.alerts.config import EMAIL, AlertsConfig
from costprism.alerts.routing import (
    Person,
    Recipient,
    Routes,
    by_budget_owners,
    by_owner,
    by_role,
    load_people,
    owner_of_budget,
    role_people,
    user_recipient,
)
from costprism.alerts.store import (
    SENT,
    Delivery,
    channel_record,
    claim,
    delivery_key,
    delivery_record,
    find_delivery,
    last_digest,
    record_attempt,
    record_digest,
    sync_channels,
)
from costprism.anomalies.owners import OwnersFile
from costprism.anomalies.store import all_anomalies
from costprism.capabilities.anomalies import anomaly_record, detect_anomalies, visible
from costprism.capabilities.budget_store import StoredBudget, covers, list_budgets
from costprism.capabilities.budgets import BudgetStatus, Forecaster, budget_statuses
from costprism.capabilities.reporting import cost_report
from costprism.db import Database, utcnow
from costprism.db.models import AlertChannel, AlertDelivery, Anomaly
from costprism.engine.backends import LedgerView
from costprism.engine.filters import Filter
from costprism.engine.query import CostQuery
from costprism.errors import InputError

TOP_MOVERS = 5
DIGEST_ANOMALIES = 20


@dataclass(frozen=True, kw_only=True)
class Planned:
    """One message due to one recipient on one channel."""

    alert: str  # the alert's identity, e.g. anomaly:<fingerprint>
    kind: str  # anomaly, security, budget, digest, test
    recipient: Recipient
    channel: str
    target: str
    message: Message

    @property
    def key(self) -> str:
        return delivery_key(self.alert, self.recipient.key, self.channel, self.target)

    @property
    def to(self) -> str:
        return self.target or self.recipient.key

    @property
    def delivery(self) -> Delivery:
        return Delivery(
            key=self.key, alert=self.alert, kind=self.kind, recipient=self.recipient.key,
            channel=self.channel, subject=self.message.subject,
        )  # fmt: skip


@dataclass(frozen=True, kw_only=True)
class Outcome:
    planned: Planned
    status: str  # sent, failed, already-sent, in-progress (another run), would-send
    error: str | None = None

    def record(self) -> dict[str, Any]:
        p = self.planned
        return {
            "alert": p.alert,
            "kind": p.kind,
            "recipient": p.recipient.key,
            "channel": p.channel,
            "to": p.to,
            "subject": p.message.subject,
            "status": self.status,
            "error": self.error,
        }


@dataclass(frozen=True, kw_only=True)
class AlertRun:
    outcomes: tuple[Outcome, ...]
    problems: tuple[str, ...]
    dry_run: bool
    detected: dict[str, Any] | None = None

    def count(self, status: str) -> int:
        return sum(o.status == status for o in self.outcomes)

    def record(self) -> dict[str, Any]:
        return {
            "dry_run": self.dry_run,
            "sent": self.count("sent"),
            "failed": self.count("failed"),
            "already_sent": self.count("already-sent"),
            "would_send": self.count("would-send"),
            "deliveries": [o.record() for o in self.outcomes],
            "problems": list(self.problems),
            "detected": self.detected,
        }


@dataclass
class _Plan:
    planned: list[Planned] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    digests: list[tuple[str, str, str, int]] = field(default_factory=list)
    email_ready: bool = True  # an SMTP server is configured
    _seen: set[tuple[str, str, str]] = field(default_factory=set)

    def add(self, alert: str, kind: str, recipient: Recipient, message: Message) -> None:
        for channel, target in recipient.destinations:
            if channel == EMAIL and not self.email_ready:
                self.problem(
                    f"no SMTP server configured (email: in alerts.yaml, or COSTPRISM_SMTP_HOST): "
                    f"nothing is e-mailed to {target}"
                )
                continue
            if (alert, channel, target) in self._seen:
                continue  # one post per channel and address, whoever else it reaches
            self._seen.add((alert, channel, target))
            self.planned.append(
                Planned(
                    alert=alert,
                    kind=kind,
                    recipient=recipient,
                    channel=channel,
                    target=target,
                    message=message,
                )
            )

    def problem(self, text: str) -> None:
        if text not in self.problems:
            self.problems.append(text)


def run_alerts(
    view: LedgerView,
    db: Database,
    config: AlertsConfig,
    *,
    owners: OwnersFile | None = None,
    dry_run: bool = False,
    detect: bool = False,
    now: datetime | None = None,
    forecaster: Forecaster | None = None,
    actor: str | None = None,
) -> AlertRun:
    """Evaluate anomalies, budgets and digests and send what is due (module docstring)."""
    now = now or utcnow()
    detected = None
    if detect and not dry_run:
        detected = detect_anomalies(view, db, owners=owners, actor=actor).record()
    plan = plan_alerts(view, db, config, owners=owners, now=now, forecaster=forecaster)
    if not dry_run:
        with db.session() as session:
            sync_channels(session, config, now)
    outcomes = []
    for planned in plan.planned:
        outcomes.append(_deliver(db, config, planned, dry_run=dry_run, now=now))
    if not dry_run:
        with db.session() as session:
            for role, cadence, period, count in plan.digests:
                record_digest(session, role, cadence, period, count, now)
    return AlertRun(
        outcomes=tuple(outcomes), problems=tuple(plan.problems), dry_run=dry_run, detected=detected
    )


def plan_alerts(
    view: LedgerView,
    db: Database,
    config: AlertsConfig,
    *,
    owners: OwnersFile | None = None,
    now: datetime | None = None,
    forecaster: Forecaster | None = None,
) -> _Plan:
    now = now or utcnow()
    people = load_people(db)
    plan = _Plan(email_ready=config.smtp is not None)
    statuses = _StatusCache(view, list_budgets(db), forecaster)
    with db.session() as session:
        anomalies = all_anomalies(session)
    current = [a for a in anomalies if a.state in ("open", "acknowledged")]
    seen = _Visibility(view)  # shared by anomaly alerts and digests
    _anomaly_alerts(config, owners, people, [a for a in current if a.state == "open"], seen, plan)
    _budget_alerts(config, owners, people, statuses, plan)
    _digests(view, db, config, people, statuses, current, seen, now, plan)
    return plan


def _deliver(
    db: Database, config: AlertsConfig, planned: Planned, *, dry_run: bool, now: datetime
) -> Outcome:
    with db.session() as session:
        found = find_delivery(session, planned.key)
        if found is not None and found.status == SENT:
            return Outcome(planned=planned, status="already-sent")
    if dry_run:
        return Outcome(planned=planned, status="would-send")
    with db.session() as session:
        claimed = claim(session, planned.delivery, now=now)
    if not claimed:
        with db.session() as session:
            found = find_delivery(session, planned.key)
            sent = found is not None and found.status == SENT
        return Outcome(planned=planned, status="already-sent" if sent else "in-progress")
    error = None
    try:
        send(
            planned.channel,
            planned.message,
            target=planned.target,
            settings=config.channels.get(planned.channel),
            smtp=config.smtp,
            timeout=config.timeout,
            now=now.timestamp(),
        )
    except SendFailed as failure:
        error = failure.message
    with db.session() as session:
        record_attempt(session, planned.delivery, error=error, now=now)
    return Outcome(planned=planned, status="sent" if error is None else "failed", error=error)


# --- anomalies ---------------------------------------------------------------------------


def _anomaly_alerts(
    config: AlertsConfig,
    owners: OwnersFile | None,
    people: Mapping[str, Person],
    due: Sequence[Anomaly],
    seen: _Visibility,
    plan: _Plan,
) -> None:
    routed: list[tuple[Anomaly, Routes]] = []
    for anomaly in due:
        routes = Routes()
        by_owner(
            owners.owner_of(anomaly.scope) if owners else None,
            people,
            config,
            routes,
            owners.name if owners else "",
        )
        by_role("security" if anomaly.kind == "security" else "anomaly", people, config, routes)
        routed.append((anomaly, routes))
        for text in routes.problems:
            plan.problem(text)
        for recipient in routes.recipients.values():
            seen.want(recipient.scope, [anomaly])
    for anomaly, routes in routed:
        for recipient in routes.recipients.values():
            if seen.sees(recipient.scope, anomaly):
                plan.add(
                    f"anomaly:{anomaly.fingerprint}",
                    anomaly.kind,
                    recipient,
                    anomaly_message(anomaly),
                )


class _Visibility:
    """Which anomalies each scope sees, from :func:`visible` (the engine). The anomalies a
    scope will be asked about are announced first (:meth:`want`), so each scope is checked
    once, for just those: fewer watched-dimension groups, fewer and narrower queries."""

    def __init__(self, view: LedgerView) -> None:
        self.view = view
        self.known: dict[tuple[str, ...], dict[int, bool]] = {}
        self.wanted: dict[tuple[str, ...], dict[int, Anomaly]] = {}

    def want(self, scope: Sequence[Filter], anomalies: Sequence[Anomaly]) -> None:
        self.wanted.setdefault(_key(scope), {}).update((a.id, a) for a in anomalies)

    def sees(self, scope: Sequence[Filter], anomaly: Anomaly) -> bool:
        key = _key(scope)
        known = self.known.setdefault(key, {})
        if anomaly.id not in known:
            asked = {anomaly.id: anomaly, **self.wanted.pop(key, {})}
            batch = [a for i, a in asked.items() if i not in known]
            shown = visible(self.view, batch, scope)
            known.update((a.id, a.id in shown) for a in batch)
        return known[anomaly.id]


def _key(scope: Sequence[Filter]) -> tuple[str, ...]:
    return tuple(sorted(str(f) for f in scope))


def anomaly_message(anomaly: Anomaly) -> Message:
    record = anomaly_record(anomaly)
    scope = _scope_text(anomaly.scope)
    days = anomaly.start.isoformat() + (
        f" … {anomaly.end.isoformat()}" if anomaly.end != anomaly.start else ""
    )
    what = "security finding" if anomaly.kind == "security" else "cost anomaly"
    drivers = ", ".join(
        f"{d.get('dimension')}={d.get('value')} ({float(str(d.get('share') or 0)):.0%})"
        for d in anomaly.drivers[:3]
    )
    lines = [
        f"{anomaly.severity.capitalize()} {what} ({anomaly.rule}) in {scope}, {days}.",
        f"Actual {_money(anomaly.actual, anomaly.currency)}, expected "
        f"{_money(anomaly.expected, anomaly.currency)}, impact "
        f"{_money(anomaly.impact, anomaly.currency)}.",
    ]
    if drivers:
        lines.append(f"Drivers: {drivers}.")
    lines.append(f"Triage: costprism anomalies show {anomaly.id} (state {anomaly.state}).")
    return Message(
        subject=f"[CostPrism] {anomaly.severity} {what} in {scope}: "
        f"{_money(anomaly.impact, anomaly.currency)}",
        text="\n".join(lines),
        data={"type": "anomaly", "anomaly": record},
        facts=(
            ("Scope", scope),
            ("Days", days),
            ("Severity", anomaly.severity),
            ("Impact", _money(anomaly.impact, anomaly.currency)),
        ),
    )


# --- budgets -----------------------------------------------------------------------------


class _StatusCache:
    """Budget statuses per recipient scope (each budget's figures computed under it)."""

    def __init__(
        self, view: LedgerView, budgets: Sequence[StoredBudget], forecaster: Forecaster | None
    ) -> None:
        self.view, self.budgets, self.forecaster = view, tuple(budgets), forecaster
        self.known: dict[tuple[str, ...], dict[str, BudgetStatus]] = {}

    def under(self, scope: Sequence[Filter]) -> dict[str, BudgetStatus]:
        """The statuses of the budgets ``scope`` sees, computed under ``scope``."""
        key = tuple(sorted(str(f) for f in scope))
        if key not in self.known:
            seen = [b for b in self.budgets if covers(b.spec.scope, scope)]
            found = budget_statuses(self.view, seen, scope, forecaster=self.forecaster)
            self.known[key] = {s.budget.name: s for s in found}
        return self.known[key]


def _budget_alerts(
    config: AlertsConfig,
    owners: OwnersFile | None,
    people: Mapping[str, Person],
    statuses: _StatusCache,
    plan: _Plan,
) -> None:
    for budget in statuses.budgets:
        routes = Routes()
        by_budget_owners(budget.spec.owners, budget.spec.scope, people, config, routes)
        by_owner(
            owner_of_budget(owners, budget.spec.scope),
            people,
            config,
            routes,
            owners.name if owners else "",
        )
        by_role("budget", people, config, routes)
        for text in routes.problems:
            plan.problem(text)
        for recipient in routes.recipients.values():
            status = statuses.under(recipient.scope).get(budget.name)
            if status is None:
                continue  # the budget's scope is not inside the recipient's
            for basis, crossed in (
                ("actual", status.crossed_actual),
                ("forecast", status.crossed_forecast),
            ):
                if crossed:
                    threshold = max(crossed)
                    alert = (
                        f"budget:{budget.name}:{status.period.start.isoformat()}:"
                        f"{basis}:{threshold:g}"
                    )
                    plan.add(alert, "budget", recipient, budget_message(status, basis, threshold))


def budget_message(status: BudgetStatus, basis: str, threshold: Any) -> Message:
    spec = status.budget.spec
    value = status.actual if basis == "actual" else status.forecast
    shown = f"{float(value or 0):,.2f} {spec.currency}"
    available = f"{float(status.available):,.2f} {spec.currency}"
    if basis == "actual":
        head = f"spent {shown}, {threshold:g}% threshold of {available} crossed"
    else:
        head = f"forecast to reach {shown} by period end, {threshold:g}% threshold of {available}"
    return Message(
        subject=f"[CostPrism] budget {spec.name} ({status.period.label}): {head}",
        text="\n".join(
            (
                f"Budget {spec.name}, {status.period.label}: {head}.",
                f"Actual {float(status.actual):,.2f}, forecast "
                f"{float(status.forecast or 0):,.2f}, available {available}; "
                f"status {status.status}.",
                f"Scope: {' and '.join(str(f) for f in spec.scope) or 'everything'}.",
            )
        ),
        data={
            "type": "budget",
            "basis": basis,
            "threshold": float(threshold),
            "budget": status.record(),
        },
        facts=(
            ("Period", status.period.label),
            ("Actual", f"{float(status.actual):,.2f}"),
            ("Forecast", f"{float(status.forecast or 0):,.2f}"),
            ("Available", available),
            ("Status", status.status),
        ),
    )


# --- digests -----------------------------------------------------------------------------


def digest_period(cadence: str, now: datetime, weekday: int) -> str | None:
    """The period a digest is due for at ``now``: the day, or the ISO week from
    ``weekday`` on; None when not due."""
    if cadence == "daily":
        return now.date().isoformat()
    if cadence == "weekly" and now.weekday() >= weekday:
        year, week, _ = now.isocalendar()
        return f"{year}-W{week:02d}"
    return None


def _digests(
    view: LedgerView,
    db: Database,
    config: AlertsConfig,
    people: Mapping[str, Person],
    statuses: _StatusCache,
    current: Sequence[Anomaly],
    seen: _Visibility,
    now: datetime,
    plan: _Plan,
) -> None:
    with db.session() as session:
        previous = {
            (role, r.digest): (
                found.at if (found := last_digest(session, role, r.digest)) else None
            )
            for role, r in config.roles.items()
        }
    movers: dict[tuple[tuple[str, ...], int], list[dict[str, Any]]] = {}
    for role, routing in sorted(config.roles.items()):
        period = digest_period(routing.digest, now, config.digest_weekday)
        if period is None:
            continue
        window = 1 if routing.digest == "daily" else 7
        since = previous[(role, routing.digest)] or now - timedelta(days=window)
        fresh = [a for a in current if a.detected_at >= since]
        sent = 0
        for person in role_people(role, people):
            recipient = user_recipient(person, config, f"role {role} digest")
            if recipient is None:
                plan.problem(
                    f"user {person.username} has no e-mail address or channel; add it "
                    f"under recipients: in {config.name}"
                )
                continue
            seen.want(person.scope, fresh)
            shown = [a for a in fresh if seen.sees(person.scope, a)]
            at_risk = [s for s in statuses.under(person.scope).values() if s.status != "ok"]
            key = (recipient.scope_key, window)
            if key not in movers:
                movers[key] = top_movers(view, person.scope, window)
            if not (shown or at_risk or movers[key]):
                continue
            message = digest_message(role, routing.digest, period, shown, at_risk, movers[key])
            plan.add(f"digest:{role}:{routing.digest}:{period}", "digest", recipient, message)
            sent += 1
        plan.digests.append((role, routing.digest, period, sent))


def top_movers(view: LedgerView, scope: Sequence[Filter], window: int) -> list[dict[str, Any]]:
    """The services whose cost changed most between the last ``window`` complete days
    and the ``window`` days before them, under ``scope``."""
    from costprism.capabilities.budgets import ledger_through

    last = ledger_through(view, scope)
    if last is None:
        return []
    end = last + timedelta(days=1)
    middle, start = end - timedelta(days=window), end - timedelta(days=2 * window)
    now_costs = _by_service(view, scope, middle, end)
    before = _by_service(view, scope, start, middle)
    changes: list[dict[str, Any]] = [
        {
            "ServiceName": name,
            "BillingCurrency": currency,
            "before": round(before.get((name, currency), 0.0), 2),
            "now": round(now_costs.get((name, currency), 0.0), 2),
            "change": round(
                now_costs.get((name, currency), 0.0) - before.get((name, currency), 0.0), 2
            ),
            "from": start.isoformat(),
            "through": last.isoformat(),
        }
        for name, currency in set(now_costs) | set(before)
    ]
    changes = [c for c in changes if abs(float(c["change"])) >= 0.01]
    changes.sort(key=lambda c: (-abs(float(c["change"])), str(c["ServiceName"])))
    return changes[:TOP_MOVERS]


def _by_service(
    view: LedgerView, scope: Sequence[Filter], start: date, end: date
) -> dict[tuple[str, str], float]:
    query = CostQuery(group_by=("ServiceName",), start=start, end=end, granularity="total")
    return {
        (str(r["ServiceName"]), str(r["BillingCurrency"])): float(r["EffectiveCost"] or 0)
        for r in cost_report(view, query, scope).rows
    }


def digest_message(
    role: str,
    cadence: str,
    period: str,
    anomalies: Sequence[Anomaly],
    budgets: Sequence[BudgetStatus],
    movers: Sequence[dict[str, Any]],
) -> Message:
    lines = [f"{cadence.capitalize()} digest for {role}, {period}."]
    if anomalies:
        lines.append(f"New anomalies ({len(anomalies)}):")
        lines += [
            f"  #{a.id} {a.severity} {a.kind} in {_scope_text(a.scope)}: "
            f"{_money(a.impact, a.currency)}"
            for a in anomalies[:DIGEST_ANOMALIES]
        ]
    if budgets:
        lines.append(f"Budgets at risk ({len(budgets)}):")
        lines += [
            f"  {s.budget.name} {s.period.label}: {s.status}, actual "
            f"{float(s.actual):,.2f} of {float(s.available):,.2f} {s.budget.spec.currency}"
            for s in budgets
        ]
    if movers:
        lines.append("Top movers:")
        lines += [
            f"  {m['ServiceName']}: {m['change']:+,.2f} {m['BillingCurrency']}" for m in movers
        ]
    return Message(
        subject=f"[CostPrism] {cadence} digest ({role}, {period}): "
        f"{_count(len(anomalies), 'new anomaly', 'new anomalies')}, "
        f"{_count(len(budgets), 'budget', 'budgets')} at risk",
        text="\n".join(lines),
        data={
            "type": "digest",
            "role": role,
            "cadence": cadence,
            "period": period,
            "anomalies": [anomaly_record(a) for a in anomalies],
            "budgets": [s.record() for s in budgets],
            "movers": list(movers),
        },
        facts=(("New anomalies", str(len(anomalies))), ("Budgets at risk", str(len(budgets)))),
    )


# --- test, history -----------------------------------------------------------------------


def send_test(config: AlertsConfig, channel: str, *, to: str | None = None) -> dict[str, Any]:
    """Send a test message on ``channel`` (``email`` needs ``to``); raises on failure."""
    if channel == EMAIL:
        if not to:
            raise InputError("the email channel needs --to ADDRESS", code="alerts.no_address")
    elif channel not in config.channels:
        named = ", ".join([EMAIL, *config.channels]) if config.smtp else ", ".join(config.channels)
        raise InputError(
            f"channel {channel!r} is not configured in {config.name}; configured: "
            f"{named or 'none'}",
            code="alerts.unknown_channel",
        )
    message = Message(
        subject="[CostPrism] test alert",
        text=f"A test message from CostPrism on channel {channel}.",
        data={"type": "test", "channel": channel},
    )
    send(
        channel,
        message,
        target=to or "",
        settings=config.channels.get(channel),
        smtp=config.smtp,
        timeout=config.timeout,
    )
    return {"channel": channel, "to": to, "status": "sent"}


def list_deliveries(
    db: Database, *, limit: int = 200, status: str | None = None
) -> list[dict[str, Any]]:
    """The most recent deliveries first (``sent`` or ``failed``)."""
    if status is not None and status not in ("sent", "failed"):
        raise InputError(f"--status {status!r}: use sent or failed", code="input.bad_option")
    with db.session() as session:
        query = select(AlertDelivery).order_by(
            AlertDelivery.last_at.desc(), AlertDelivery.id.desc()
        )
        if status is not None:
            query = query.where(AlertDelivery.status == status)
        return [delivery_record(r) for r in session.scalars(query.limit(limit)).all()]


def list_channels(db: Database) -> list[dict[str, Any]]:
    """The channels as the last run synced them."""
    with db.session() as session:
        rows = session.scalars(select(AlertChannel).order_by(AlertChannel.name)).all()
        return [channel_record(r) for r in rows]


def config_for(home: Path, path: Path | None = None) -> AlertsConfig:
    from costprism.alerts.config import load_config

    return load_config(home, path)


def _scope_text(scope: Mapping[str, str]) -> str:
    return ", ".join(f"{k}={v}" for k, v in scope.items()) or "everything"


def _count(n: int, one: str, many: str) -> str:
    return f"{n} {one if n == 1 else many}"


def _money(value: float, currency: str) -> str:
    return f"{value:,.2f} {currency}"
