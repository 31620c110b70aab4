"""The channels against real local receivers: aiosmtpd for e-mail, http.server for Slack,
Teams and the signed webhook; the log channel on disk."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from costprism.alerts.channels import (
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    Message,
    SendFailed,
    send,
    signature,
    verify_signature,
)
from costprism.alerts.config import ChannelSettings, SmtpSettings
from tests.alerts.receivers import (
    HttpReceiver,
    SmtpHandler,
    free_port,
    http_receiver,
    smtp_server,
)

MESSAGE = Message(
    subject="[CostPrism] budget payments (2026-05): 80% crossed",
    text="Budget payments: spent 8,000.00 USD of 10,000.00 USD.",
    data={"type": "budget", "budget": {"name": "payments", "actual": 8000.0}},
    facts=(("Actual", "8,000.00"), ("Available", "10,000.00 USD")),
)
KEY = "the webhook's shared key"
NOW = 1_796_634_000.0


@pytest.fixture
def smtp() -> Iterator[tuple[SmtpHandler, SmtpSettings]]:
    with smtp_server() as (handler, port):
        yield handler, SmtpSettings(host="127.0.0.1", port=port, sender="alerts@example.com")


@pytest.fixture
def http() -> Iterator[HttpReceiver]:
    with http_receiver() as receiver:
        yield receiver


def _channel(http: HttpReceiver, kind: str, path: str, secret: str = "") -> ChannelSettings:
    return ChannelSettings(name=f"my-{kind}", type=kind, url=http.url(path), secret=secret)


def test_email_reaches_the_smtp_server_with_subject_sender_and_text(
    smtp: tuple[SmtpHandler, SmtpSettings],
) -> None:
    handler, settings = smtp

    send("email", MESSAGE, target="ada@example.com", smtp=settings)

    (mail,) = handler.received
    assert mail.recipients == ["ada@example.com"]
    assert mail.sender == "alerts@example.com"
    assert mail.subject == MESSAGE.subject
    assert mail.message["To"] == "ada@example.com"
    assert "spent 8,000.00 USD" in mail.body


def test_a_refused_recipient_fails_with_the_smtp_reply(
    smtp: tuple[SmtpHandler, SmtpSettings],
) -> None:
    handler, settings = smtp
    handler.refuse.add("gone@example.com")

    with pytest.raises(SendFailed) as failure:
        send("email", MESSAGE, target="gone@example.com", smtp=settings)

    assert "channel email" in failure.value.message
    assert "550" in failure.value.message
    assert "mailbox unavailable" in failure.value.message
    assert handler.received == []


def test_an_unreachable_smtp_server_fails_naming_it() -> None:
    settings = SmtpSettings(host="127.0.0.1", port=free_port())

    with pytest.raises(SendFailed) as failure:
        send("email", MESSAGE, target="ada@example.com", smtp=settings, timeout=2)

    assert f"SMTP 127.0.0.1:{settings.port}" in failure.value.message


def test_email_without_an_smtp_server_configured_fails() -> None:
    with pytest.raises(SendFailed, match="no SMTP server configured"):
        send("email", MESSAGE, target="ada@example.com", smtp=None)


def test_slack_gets_text_and_blocks(http: HttpReceiver) -> None:
    send("my-slack", MESSAGE, settings=_channel(http, "slack", "/slack"))

    (post,) = http.at("/slack")
    body = post.json()
    assert post.headers["content-type"] == "application/json"
    assert body["text"].startswith(MESSAGE.subject)
    assert [b["type"] for b in body["blocks"]] == ["header", "section", "section"]
    assert body["blocks"][2]["fields"][0]["text"] == "*Actual*\n8,000.00"


def test_teams_gets_a_message_card(http: HttpReceiver) -> None:
    send("my-teams", MESSAGE, settings=_channel(http, "teams", "/teams"))

    card = http.at("/teams")[0].json()
    assert card["@type"] == "MessageCard"
    assert card["title"] == MESSAGE.subject
    assert card["sections"][0]["facts"][1] == {"name": "Available", "value": "10,000.00 USD"}


def test_the_webhook_body_is_signed_and_verifies(http: HttpReceiver) -> None:
    send("my-webhook", MESSAGE, settings=_channel(http, "webhook", "/hook", KEY), now=NOW)

    (post,) = http.at("/hook")
    sent, stamp = post.headers[SIGNATURE_HEADER.lower()], post.headers[TIMESTAMP_HEADER.lower()]
    assert sent == signature(KEY, post.body)
    assert stamp == str(int(NOW))
    assert post.json()["budget"] == {"name": "payments", "actual": 8000.0}
    assert post.json()["timestamp"] == int(NOW)
    assert verify_signature(KEY, post.body, sent, stamp, now=NOW + 60)
    assert not verify_signature(KEY, post.body, sent, stamp, now=NOW + 3600)  # too old
    assert not verify_signature("another key", post.body, sent, stamp, now=NOW)
    assert not verify_signature(KEY, post.body + b" ", sent, stamp, now=NOW)
    assert not verify_signature(KEY, post.body, sent, str(int(NOW) + 1), now=NOW)


@pytest.mark.parametrize("status", [400, 403, 500])
def test_an_http_error_fails_naming_the_channel_and_status(http: HttpReceiver, status: int) -> None:
    http.statuses["/slack"] = status

    with pytest.raises(SendFailed) as failure:
        send("my-slack", MESSAGE, settings=_channel(http, "slack", "/slack"))

    assert failure.value.message.startswith("channel my-slack (slack, 127.0.0.1:")
    assert f"HTTP {status} invalid_token" in failure.value.message


def test_an_unreachable_webhook_fails_naming_the_channel() -> None:
    settings = ChannelSettings(
        name="gone", type="teams", url=f"http://127.0.0.1:{free_port()}/x", secret=""
    )

    with pytest.raises(SendFailed, match=r"channel gone \(teams, 127\.0\.0\.1:\d+\): not reached"):
        send("gone", MESSAGE, settings=settings, timeout=2)


def test_the_log_channel_appends_one_json_line_per_message(tmp_path: Path) -> None:
    path = tmp_path / "logs" / "alerts.jsonl"
    settings = ChannelSettings(name="file", type="log", path=path)

    send("file", MESSAGE, settings=settings, now=NOW)
    send("file", MESSAGE, settings=settings, now=NOW + 1)

    lines = [json.loads(line) for line in path.read_text().splitlines()]
    assert [line["at"] for line in lines] == [NOW, NOW + 1]
    assert lines[0]["subject"] == MESSAGE.subject
    assert lines[0]["budget"] == {"name": "payments", "actual": 8000.0}


def test_a_log_channel_that_cannot_write_fails(tmp_path: Path) -> None:
    (tmp_path / "blocked").write_text("a file, not a folder")
    settings = ChannelSettings(name="file", type="log", path=tmp_path / "blocked" / "a.jsonl")

    with pytest.raises(SendFailed, match="channel file"):
        send("file", MESSAGE, settings=settings)


def test_a_channel_that_is_not_configured_fails() -> None:
    with pytest.raises(SendFailed, match="'nowhere' is not configured"):
        send("nowhere", MESSAGE)


def test_line_breaks_and_markup_from_the_ledger_cannot_break_out(
    smtp: tuple[SmtpHandler, SmtpSettings], http: HttpReceiver
) -> None:
    handler, settings = smtp
    hostile = Message(
        subject="anomaly in Evil\r\nBcc: victim@example.com", text="<b>x</b>\ny <!channel>"
    )

    send("email", hostile, target="ada@example.com", smtp=settings)
    send("my-teams", hostile, settings=_channel(http, "teams", "/teams"))
    send("my-slack", hostile, settings=_channel(http, "slack", "/slack"))

    (mail,) = handler.received
    assert mail.recipients == ["ada@example.com"]
    assert mail.subject == "anomaly in Evil Bcc: victim@example.com"
    assert mail.message["Bcc"] is None
    assert http.at("/teams")[0].json()["text"] == "&lt;b&gt;x&lt;/b&gt;<br>y &lt;!channel&gt;"
    slack = http.at("/slack")[0].json()
    assert slack["blocks"][1]["text"]["text"] == "&lt;b&gt;x&lt;/b&gt;\ny &lt;!channel&gt;"
    assert "<!channel>" not in slack["text"]
