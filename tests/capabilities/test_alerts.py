"""``run_alerts`` end to end on the shop (tests/alerts/conftest.py): real e-mails to a local
SMTP server, real posts to a local HTTP receiver, deliveries in the metadata database."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import select

from costprism.alerts.channels import SIGNATURE_HEADER, TIMESTAMP_HEADER, verify_signature
from costprism.capabilities.alerts import list_channels, list_deliveries, run_alerts
from costprism.capabilities.anomalies import list_anomalies
from costprism.capabilities.budget_store import list_budgets
from costprism.db.models import AlertDigestRun, Anomaly
from costprism.engine.filters import parse_filters
from tests.alerts_site import SECRET, AlertSite, alert_site


@pytest.fixture
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AlertSite]:
    with alert_site(tmp_path_factory) as found:
        yield found


NOW = datetime(2026, 12, 7, 9, 0)  # a Monday: weekly digests are due


def _subjects(site: AlertSite, address: str) -> list[str]:
    return [m.subject for m in site.smtp.to(address)]


def _anomaly_ids_told(site: AlertSite, address: str) -> set[int]:
    told = set()
    for mail in site.smtp.to(address):
        if "anomaly" in mail.subject or "finding" in mail.subject:
            told.add(int(mail.body.split("costprism anomalies show ")[1].split()[0]))
    return told


def _visible_ids(site: AlertSite, scope: list[str]) -> set[int]:
    return {a["id"] for a in list_anomalies(site.view, site.db, scope=parse_filters(scope))}


def test_a_run_sends_each_alert_to_its_owners_and_roles_on_every_channel(
    site: AlertSite,
) -> None:
    run = run_alerts(site.view, site.db, site.config(), owners=site.owners, now=NOW)

    assert run.count("failed") == 0
    assert run.count("sent") == len(run.outcomes) > 0
    # e-mail: the real SMTP server got one message per delivery on the email channel
    emailed = [o for o in run.outcomes if o.planned.channel == "email"]
    assert len(site.smtp.received) == len(emailed)
    assert all(m.sender == "costprism@example.com" for m in site.smtp.received)
    # the payments owners (owners file: SubAccountId=111) got account 111's cost anomaly
    with site.db.session() as session:
        spike = session.scalars(
            select(Anomaly).where(Anomaly.kind == "cost", Anomaly.start == date(2026, 3, 10))
        ).one()
        spike_id = spike.id
    assert spike_id in _anomaly_ids_told(site, "pay-eng@example.com")
    assert spike_id in _anomaly_ids_told(site, "payments-oncall@example.com")
    slack = [p.json() for p in site.http.at("/slack")]
    assert any(f"costprism anomalies show {spike_id} " in p["text"] for p in slack)
    assert all(p["blocks"][0]["type"] == "header" for p in slack)
    # Teams got MessageCards for account 222's owners
    teams = [p.json() for p in site.http.at("/teams")]
    assert teams
    assert all(c["@type"] == "MessageCard" and c["title"] for c in teams)
    # security anomalies go to the security role (sec, whole ledger) by e-mail and webhook
    security = {a["id"] for a in list_anomalies(site.view, site.db, kind="security")}
    assert security
    assert security <= _anomaly_ids_told(site, "sec@example.com")
    # budget alerts go to finance (role), the budget owners and the owners-file entry
    assert any("budget payments-quarter" in s for s in _subjects(site, "fin@example.com"))
    assert any("budget payments-quarter" in s for s in _subjects(site, "pay-eng@example.com"))
    assert any("budget data-monthly" in s for s in _subjects(site, "data-owner@example.com"))


def test_the_webhook_is_signed_and_the_signature_verifies(site: AlertSite) -> None:
    run_alerts(site.view, site.db, site.config(), owners=site.owners, now=NOW)

    posts = site.http.at("/hook")
    assert posts
    for post in posts:
        signature, stamp = (
            post.headers[SIGNATURE_HEADER.lower()],
            post.headers[TIMESTAMP_HEADER.lower()],
        )
        assert signature.startswith("sha256=")
        assert verify_signature(SECRET, post.body, signature, stamp, now=NOW.timestamp())
        assert not verify_signature("another key", post.body, signature, stamp, now=NOW.timestamp())
        tampered = post.body.replace(b'"subject": "', b'"subject": "X', 1)
        assert not verify_signature(SECRET, tampered, signature, stamp, now=NOW.timestamp())
        assert json.loads(post.body)["type"] in ("anomaly", "budget", "digest")


def test_running_twice_sends_nothing_new(site: AlertSite) -> None:
    config = site.config()
    first = run_alerts(site.view, site.db, config, owners=site.owners, now=NOW)
    mails, posts = len(site.smtp.received), len(site.http.posts)

    second = run_alerts(
        site.view, site.db, config, owners=site.owners, now=NOW + timedelta(hours=1)
    )

    assert first.count("sent") > 0
    assert second.count("sent") == 0
    assert second.count("failed") == 0
    assert second.count("already-sent") == first.count("sent")
    assert (len(site.smtp.received), len(site.http.posts)) == (mails, posts)
    assert len(list_deliveries(site.db, limit=10_000)) == first.count("sent")


def test_a_failing_endpoint_is_recorded_and_retried_on_the_next_run(site: AlertSite) -> None:
    config = site.config()
    site.http.statuses["/teams"] = 500
    site.smtp.refuse.add("data-owner@example.com")

    first = run_alerts(site.view, site.db, config, owners=site.owners, now=NOW)

    failed = [o for o in first.outcomes if o.status == "failed"]
    assert {o.planned.channel for o in failed} == {"data-teams", "email"}
    teams_error = next(o.error for o in failed if o.planned.channel == "data-teams")
    assert teams_error is not None
    assert "data-teams" in teams_error
    assert "HTTP 500" in teams_error
    smtp_error = next(o.error for o in failed if o.planned.channel == "email")
    assert smtp_error is not None
    assert "550" in smtp_error
    assert "data-owner@example.com" in smtp_error
    stored = list_deliveries(site.db, status="failed")
    assert len(stored) == len(failed)
    assert all(d["sent_at"] is None for d in stored)

    site.http.statuses.clear()
    site.smtp.refuse.clear()
    second = run_alerts(site.view, site.db, config, owners=site.owners, now=NOW)

    assert second.count("sent") == len(failed)
    assert second.count("failed") == 0
    assert len(site.http.at("/teams")) == sum(o.planned.channel == "data-teams" for o in failed)
    assert site.smtp.to("data-owner@example.com")
    assert list_deliveries(site.db, status="failed") == []
    retried = [d for d in list_deliveries(site.db) if d["attempts"] == 2]
    assert len(retried) == len(failed)
    assert all(d["status"] == "sent" for d in retried)


def test_nobody_is_told_about_cost_outside_their_scope(site: AlertSite) -> None:
    run_alerts(site.view, site.db, site.config(), owners=site.owners, now=NOW)

    # every anomaly a scoped recipient was told about is one their scope sees, and the
    # security user scoped to account 222 was not told account 111's security finding
    for address, scope in (
        ("data-sec@example.com", ["SubAccountId=222"]),
        ("pay-eng@example.com", ["tag:team=payments"]),
        ("payments-oncall@example.com", ["SubAccountId=111"]),
    ):
        told = _anomaly_ids_told(site, address)
        assert told, address
        assert told <= _visible_ids(site, scope), address
    payments_only = _visible_ids(site, ["SubAccountId=111"]) - _visible_ids(
        site, ["SubAccountId=222"]
    )
    assert not payments_only & _anomaly_ids_told(site, "data-sec@example.com")
    # the data-scoped finance user hears of the data budget, never the payments one
    fin_data = _subjects(site, "fin-data@example.com")
    assert any("budget data-monthly" in s for s in fin_data)
    assert not any("payments-quarter" in s for s in fin_data)
    scoped = parse_filters(["SubAccountId=222"])
    assert [b.name for b in list_budgets(site.db, scoped)] == ["data-monthly"]
    # the digest of a scoped user lists only what the scope sees
    digest = next(m for m in site.smtp.to("fin-data@example.com") if "digest" in m.subject)
    assert "SubAccountId=111" not in digest.body
    assert "payments-quarter" not in digest.body


def test_the_budget_figures_of_an_alert_are_computed_under_the_recipients_scope(
    site: AlertSite,
) -> None:
    run = run_alerts(site.view, site.db, site.config(), owners=site.owners, now=NOW)

    told = [o for o in run.outcomes if o.planned.alert.startswith("budget:data-monthly")]
    by_user = {o.planned.recipient.key: o.planned.message.data["budget"] for o in told}
    assert {"user:fin", "user:fin-data", "email:data-owner@example.com"} <= set(by_user)
    # the budget's scope lies inside each recipient's, so the figures agree
    forecasts = {round(b["forecast"], 6) for b in by_user.values()}
    assert len(forecasts) == 1
    assert forecasts.pop() > 1200
    assert all(b["crossed"]["forecast"] == [100.0] for b in by_user.values())


def test_digests_are_one_per_role_and_period_for_each_user_of_the_role(site: AlertSite) -> None:
    run = run_alerts(site.view, site.db, site.config(), owners=site.owners, now=NOW)

    digests = [o for o in run.outcomes if o.planned.kind == "digest"]
    by_alert: dict[str, set[str]] = {}
    for o in digests:
        by_alert.setdefault(o.planned.alert, set()).add(o.planned.recipient.key)
    assert by_alert == {
        "digest:finance:weekly:2026-W50": {"user:fin", "user:fin-data"},
        "digest:security:daily:2026-12-07": {"user:sec", "user:data-sec"},
    }
    fin = next(m for m in site.smtp.to("fin@example.com") if "digest" in m.subject)
    assert "Budgets at risk (2)" in fin.body
    assert "Top movers:" in fin.body
    with site.db.session() as session:
        runs = {(r.role, r.cadence, r.period) for r in session.scalars(select(AlertDigestRun))}
    assert runs == {("finance", "weekly", "2026-W50"), ("security", "daily", "2026-12-07")}

    # the next day a new daily security digest is due (no anomaly new since the last one;
    # the budgets still at risk), the weekly finance one is not due again that week
    later = run_alerts(site.view, site.db, site.config(), owners=site.owners,
                       now=NOW + timedelta(days=1))  # fmt: skip
    sent = [o for o in later.outcomes if o.status == "sent"]
    assert {o.planned.alert for o in sent} == {"digest:security:daily:2026-12-08"}
    assert all(" 0 new anomalies" in o.planned.message.subject for o in sent)


def test_roles_in_the_configuration_replace_the_default_routing(site: AlertSite) -> None:
    roles = "roles:\n  engineering: {immediate: [anomaly], digest: none}\n"
    run = run_alerts(site.view, site.db, site.config(roles=roles), owners=None, now=NOW)

    # no owners file and no finance or security routing: the engineering role's anomaly
    # alerts, and each budget's own owners
    told = {(o.planned.recipient.key, o.planned.kind) for o in run.outcomes}
    assert told == {
        ("user:pay-eng", "cost"),
        ("user:pay-eng", "budget"),
        ("email:data-owner@example.com", "budget"),
    }
    assert _anomaly_ids_told(site, "pay-eng@example.com") == {
        a["id"]
        for a in list_anomalies(site.view, site.db, scope=parse_filters(["tag:team=payments"]))
        if a["kind"] == "cost"
    }


def test_a_dry_run_sends_and_records_nothing(site: AlertSite) -> None:
    run = run_alerts(site.view, site.db, site.config(), owners=site.owners, dry_run=True, now=NOW)

    assert run.count("would-send") == len(run.outcomes) > 0
    assert site.smtp.received == []
    assert site.http.posts == []
    assert list_deliveries(site.db) == []
    assert list_channels(site.db) == []
    assert not (site.home / "alerts.jsonl").exists()


def test_the_run_syncs_the_channels_without_their_secrets(site: AlertSite) -> None:
    run_alerts(site.view, site.db, site.config(), owners=site.owners, now=NOW)

    channels = {c["name"]: c for c in list_channels(site.db)}
    assert set(channels) == {"email", "payments-slack", "data-teams", "siem", "file"}
    assert channels["siem"]["signed"] is True
    assert SECRET not in json.dumps(channels)
    assert "/hook" not in json.dumps(channels)  # a webhook URL is shown by its host only


def test_unroutable_owners_are_reported_as_problems(site: AlertSite) -> None:
    from costprism.anomalies.owners import parse_owners

    owners = parse_owners(
        "owners:\n  - match: SubAccountId=111\n    users: [nobody]\n"
        '    channels: ["slack:missing"]\n',
        "owners.yaml",
    )
    run = run_alerts(site.view, site.db, site.config(), owners=owners, dry_run=True, now=NOW)

    assert "owners.yaml line 2: user 'nobody' does not exist" in run.problems
    assert any("channel 'slack:missing' is not configured" in p for p in run.problems)


def test_without_an_smtp_server_nothing_is_e_mailed_and_the_run_says_so(site: AlertSite) -> None:
    from costprism.alerts.config import parse_config

    text = "channels:" + site.config_text().split("channels:", 1)[1]
    config = parse_config(text, home=site.home, environ={"TEST_HOOK_SECRET": SECRET})
    run = run_alerts(site.view, site.db, config, owners=site.owners, now=NOW)

    assert run.count("failed") == 0
    assert {o.planned.channel for o in run.outcomes} == {"payments-slack", "data-teams", "siem"}
    assert site.smtp.received == []
    assert any(p.startswith("no SMTP server configured") and p.endswith("fin@example.com")
               for p in run.problems)  # fmt: skip


def test_anomalies_not_open_are_not_alerted(site: AlertSite) -> None:
    from costprism.capabilities.anomalies import triage_anomaly

    spike = next(a for a in list_anomalies(site.view, site.db, kind="cost")
                 if a["start"] == "2026-03-10")  # fmt: skip
    triage_anomaly(site.view, site.db, spike["id"], "acknowledged", actor="test")
    run = run_alerts(site.view, site.db, site.config(), owners=site.owners, now=NOW)

    assert spike["id"] not in _anomaly_ids_told(site, "pay-eng@example.com")
    assert not [o for o in run.outcomes if o.planned.message.data.get("anomaly", {}).get("id")
                == spike["id"]]  # fmt: skip
