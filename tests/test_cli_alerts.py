"""``costprism alerts run|test|deliveries`` as a subprocess on a copy of the alert tests'
company (tests/alerts_site.py), with alerts.yaml and owners.yaml in its data folder, a real
local SMTP server and a real local HTTP receiver."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.alerts_site import SECRET, AlertSite, alert_site
from tests.test_cli import ok, run_cli

ENV = {"TEST_HOOK_SECRET": SECRET}


@pytest.fixture
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AlertSite]:
    with alert_site(tmp_path_factory) as found:
        (found.home / "alerts.yaml").write_text(found.config_text())
        yield found


def _run(site: AlertSite, *args: str) -> dict[str, object]:
    result = run_cli("alerts", "run", *args, "--format", "json", home=site.home, env=ENV)
    assert result.returncode in (0, 1), result.stderr
    found: dict[str, object] = json.loads(result.stdout)
    return found


def test_run_sends_once_then_nothing_new(site: AlertSite) -> None:
    dry = _run(site, "--dry-run")
    assert dry["dry_run"] is True
    assert isinstance(dry["would_send"], int)
    assert dry["would_send"] > 0
    assert site.smtp.received == []
    assert site.http.posts == []

    first = _run(site)
    assert (first["sent"], first["failed"]) == (dry["would_send"], 0)
    deliveries = first["deliveries"]
    assert isinstance(deliveries, list)
    emailed = [d for d in deliveries if d["channel"] == "email"]
    assert len(site.smtp.received) == len(emailed) > 0
    assert len(site.http.posts) == sum(d["channel"] in ("payments-slack", "data-teams", "siem")
                                       for d in deliveries)  # fmt: skip
    logged = (site.home / "alerts.jsonl").read_text().splitlines() if (
        site.home / "alerts.jsonl").exists() else []  # fmt: skip
    assert len(logged) == sum(d["channel"] == "file" for d in deliveries)

    second = _run(site)
    assert (second["sent"], second["already_sent"]) == (0, first["sent"])
    assert len(site.smtp.received) == len(emailed)

    history = json.loads(ok(run_cli("alerts", "deliveries", "--limit", "1000", "--format",
                                    "json", home=site.home)))  # fmt: skip
    assert len(history) == first["sent"]
    assert {h["status"] for h in history} == {"sent"}
    table = ok(run_cli("alerts", "run", "--dry-run", home=site.home, env=ENV))
    assert f"0 sent, 0 failed, {first['sent']} already sent, 0 due" in table


def test_a_failed_send_exits_1_and_is_sent_by_the_next_run(site: AlertSite) -> None:
    site.http.statuses["/slack"] = 503

    failed = run_cli("alerts", "run", home=site.home, env=ENV)

    assert failed.returncode == 1
    assert "error [alerts.send_failed]" in failed.stderr
    assert "HTTP 503" in failed.stdout
    site.http.statuses.clear()
    again = _run(site)
    assert again["failed"] == 0
    assert isinstance(again["sent"], int)
    assert again["sent"] > 0
    deliveries = again["deliveries"]
    assert isinstance(deliveries, list)
    assert {d["channel"] for d in deliveries if d["status"] == "sent"} == {"payments-slack"}


def test_test_sends_on_a_channel_and_names_unknown_ones(site: AlertSite) -> None:
    assert "test message sent on file" in ok(run_cli("alerts", "test", "file", home=site.home,
                                                     env=ENV))  # fmt: skip
    line = json.loads((site.home / "alerts.jsonl").read_text())
    assert (line["type"], line["channel"]) == ("test", "file")
    ok(run_cli("alerts", "test", "email", "--to", "ops@example.com", home=site.home, env=ENV))
    assert [m.subject for m in site.smtp.to("ops@example.com")] == ["[CostPrism] test alert"]
    ok(run_cli("alerts", "test", "siem", home=site.home, env=ENV))
    assert site.http.at("/hook")[0].json()["type"] == "test"

    unknown = run_cli("alerts", "test", "pager", home=site.home, env=ENV)
    assert unknown.returncode == 1
    assert "error [alerts.unknown_channel]" in unknown.stderr
    assert "configured: email, payments-slack, data-teams, siem, file" in unknown.stderr
    no_to = run_cli("alerts", "test", "email", home=site.home, env=ENV)
    assert "error [alerts.no_address]" in no_to.stderr


def test_a_bad_configuration_names_file_line_and_column(site: AlertSite) -> None:
    (site.home / "alerts.yaml").write_text("roles:\n  finance: {digest: hourly}\n")

    result = run_cli("alerts", "run", "--dry-run", home=site.home)

    assert result.returncode == 1
    assert f"error [alerts.invalid]: {site.home / 'alerts.yaml'}:2:21: digest 'hourly'" in (
        result.stderr.replace("\n", "")
    )


def test_serve_refuses_a_bad_schedule(tmp_path: Path) -> None:
    result = run_cli("serve", "--alerts-every", "5s", home=tmp_path)

    assert result.returncode == 1
    assert "error [input.bad_option]: --alerts-every '5s': use a duration of at least 10s" in (
        result.stderr.replace("\n", " ")
    )
