"""Where alerts go: e-mail over SMTP, Slack and Microsoft Teams incoming webhooks, a
generic JSON webhook signed with HMAC-SHA256, and a log channel (JSON lines in a file).

Each send either returns or raises :class:`SendFailed` naming the channel and what the
other side answered (the HTTP status and the start of the body, the SMTP reply code and
text, or the connection error); the caller records a failure and tries again on the
next run. Every network call has a timeout.

**Signed webhooks.** The body is the alert's JSON (UTF-8); two headers come with it::

    X-CostPrism-Timestamp: 1764770000              # Unix seconds, also the body's "timestamp"
    X-CostPrism-Signature: sha256=<hex HMAC-SHA256(key, raw body)>

Verify by computing the HMAC over the raw bytes received (before parsing), comparing in
constant time, then checking that the body's ``timestamp`` equals the header and is recent
(it is inside the signed body, so it can't be changed without breaking the signature);
see :func:`verify_signature` and docs/how-to/alerts.md.
"""

from __future__ import annotations

import hashlib
import hmac
import html
import json
import smtplib
import ssl
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import make_msgid
from pathlib import Path
from typing import Any

from costprism.alerts.config import EMAIL, ChannelSettings, SmtpSettings
from costprism.errors import UserError

SIGNATURE_HEADER = "X-CostPrism-Signature"
TIMESTAMP_HEADER = "X-CostPrism-Timestamp"
_LOG_LOCK = threading.Lock()


class SendFailed(UserError):  # noqa: N818 (reads as what happened to the send)
    """A channel refused or could not be reached; recorded and retried on the next run."""

    code = "alerts.send_failed"


@dataclass(frozen=True, kw_only=True)
class Message:
    """One alert or digest, as every channel renders it."""

    subject: str
    text: str  # plain text, a few lines
    data: dict[str, Any] = field(default_factory=dict)  # the JSON of the webhook channel
    facts: tuple[tuple[str, str], ...] = ()  # name → value lines for cards
    link: str = ""


def send(
    channel: str,
    message: Message,
    *,
    target: str = "",
    settings: ChannelSettings | None = None,
    smtp: SmtpSettings | None = None,
    timeout: float = 10.0,
    now: float | None = None,
) -> None:
    """Send ``message`` on ``channel`` (``email`` to ``target``, else the named channel)."""
    if channel == EMAIL:
        if smtp is None:
            raise SendFailed(
                "channel email: no SMTP server configured; set email: host in alerts.yaml "
                "or COSTPRISM_SMTP_HOST",
                code="alerts.send_failed",
            )
        send_email(smtp, target, message, timeout=timeout)
        return
    if settings is None:
        raise SendFailed(f"channel {channel!r} is not configured in alerts.yaml")
    if settings.type == "slack":
        post_json(settings, slack_payload(message), timeout=timeout)
    elif settings.type == "teams":
        post_json(settings, teams_payload(message), timeout=timeout)
    elif settings.type == "webhook":
        post_signed(settings, message, timeout=timeout, now=now)
    else:
        append_log(settings, message, now=now)


def send_email(smtp: SmtpSettings, to: str, message: Message, *, timeout: float) -> None:
    mail = EmailMessage()
    mail["Subject"] = " ".join(message.subject.split())  # no line breaks in a header
    mail["From"] = smtp.sender
    mail["To"] = to
    mail["Message-ID"] = make_msgid(domain=smtp.sender.partition("@")[2] or "costprism")
    mail.set_content(message.text + (f"\n\n{message.link}\n" if message.link else "\n"))
    where = f"channel email (SMTP {smtp.host}:{smtp.port}) to {to}"
    try:
        client: smtplib.SMTP
        if smtp.security == "ssl":
            client = smtplib.SMTP_SSL(
                smtp.host, smtp.port, timeout=timeout, context=ssl.create_default_context()
            )
        else:
            client = smtplib.SMTP(smtp.host, smtp.port, timeout=timeout)
        with client:
            if smtp.security == "starttls":
                client.starttls(context=ssl.create_default_context())
            if smtp.username:
                client.login(smtp.username, smtp.password or "")
            refused = client.send_message(mail)
        if refused:
            code, reply = next(iter(refused.values()))
            raise SendFailed(f"{where}: refused with {code} {_text(reply)}")
    except smtplib.SMTPResponseException as error:
        raise SendFailed(f"{where}: SMTP {error.smtp_code} {_text(error.smtp_error)}") from error
    except smtplib.SMTPRecipientsRefused as error:
        code, reply = next(iter(error.recipients.values()))
        raise SendFailed(f"{where}: recipient refused, SMTP {code} {_text(reply)}") from error
    except (smtplib.SMTPException, OSError) as error:
        raise SendFailed(f"{where}: {type(error).__name__}: {error}") from error


def slack_payload(message: Message) -> dict[str, Any]:
    """Slack's incoming-webhook JSON: ``text`` (the fallback) and blocks; ``&``, ``<`` and
    ``>`` escaped as Slack asks, so ledger values can't mention ``<!channel>`` or link."""
    fields = [
        {"type": "mrkdwn", "text": f"*{_slack(k)}*\n{_slack(v)}"} for k, v in message.facts[:10]
    ]
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": message.subject[:150]}},
        {"type": "section", "text": {"type": "mrkdwn", "text": _slack(message.text)[:3000]}},
    ]
    if fields:
        blocks.append({"type": "section", "fields": fields})
    if message.link:
        blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": message.link}]})
    return {"text": _slack(f"{message.subject}\n{message.text}"), "blocks": blocks}


def _slack(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def teams_payload(message: Message) -> dict[str, Any]:
    """A Microsoft Teams incoming-webhook MessageCard."""
    card: dict[str, Any] = {
        "@type": "MessageCard",
        "@context": "https://schema.org/extensions",
        "summary": message.subject[:150],
        "themeColor": "D83B01",
        "title": message.subject,
        "text": html.escape(message.text).replace("\n", "<br>"),
        "sections": [{"facts": [{"name": k, "value": v} for k, v in message.facts]}],
    }
    if message.link:
        card["potentialAction"] = [
            {
                "@type": "OpenUri",
                "name": "Open in CostPrism",
                "targets": [{"os": "default", "uri": message.link}],
            }
        ]
    return card


def post_json(
    settings: ChannelSettings,
    payload: dict[str, Any],
    *,
    timeout: float,
    headers: dict[str, str] | None = None,
    body: bytes | None = None,
) -> None:
    raw = body if body is not None else json.dumps(payload).encode()
    request = urllib.request.Request(
        settings.url,
        data=raw,
        method="POST",
        headers={
            "Content-Type": "application/json",
            "User-Agent": "CostPrism-Alerts",
            **(headers or {}),
        },
    )
    where = f"channel {settings.name} ({settings.type}, {_host(settings.url)})"
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            status = response.status
    except urllib.error.HTTPError as error:
        detail = error.read(200).decode("utf-8", "replace").strip()
        raise SendFailed(f"{where}: HTTP {error.code} {detail}".rstrip()) from error
    except (urllib.error.URLError, OSError) as error:
        reason = getattr(error, "reason", error)
        raise SendFailed(f"{where}: not reached ({reason})") from error
    if not 200 <= status < 300:
        raise SendFailed(f"{where}: HTTP {status}")


def post_signed(
    settings: ChannelSettings, message: Message, *, timeout: float, now: float | None = None
) -> None:
    stamp = str(int(now if now is not None else time.time()))
    payload = {
        "subject": message.subject,
        "text": message.text,
        "timestamp": int(stamp),
        **message.data,
    }
    body = json.dumps(payload, sort_keys=True).encode()
    headers = {TIMESTAMP_HEADER: stamp, SIGNATURE_HEADER: signature(settings.secret, body)}
    post_json(settings, payload, timeout=timeout, headers=headers, body=body)


def signature(secret: str, body: bytes) -> str:
    """``sha256=<hex>``: HMAC-SHA256 of the raw body with the shared key."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def verify_signature(
    secret: str,
    body: bytes,
    header_signature: str,
    header_timestamp: str,
    *,
    tolerance: float = 300,
    now: float | None = None,
) -> bool:
    """What a receiver does: the signature matches the raw body, the body's timestamp is
    the header's, and it is at most ``tolerance`` seconds old."""
    if not hmac.compare_digest(signature(secret, body), header_signature):
        return False
    try:
        stamp = int(json.loads(body)["timestamp"])
    except (ValueError, KeyError, TypeError):
        return False
    current = time.time() if now is None else now
    return str(stamp) == header_timestamp and abs(current - stamp) <= tolerance


def append_log(settings: ChannelSettings, message: Message, *, now: float | None = None) -> None:
    """One JSON line per message, appended (the file and its folder are created)."""
    assert settings.path is not None
    line = json.dumps(
        {
            "at": now if now is not None else time.time(),
            "channel": settings.name,
            "subject": message.subject,
            "text": message.text,
            **message.data,
        }
    )
    try:
        _append(settings.path, line)
    except OSError as error:
        raise SendFailed(f"channel {settings.name} (log {settings.path}): {error}") from error


def _append(path: Path, line: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with _LOG_LOCK, path.open("a", encoding="utf-8") as handle:
        handle.write(line + "\n")


def _text(reply: bytes | str) -> str:
    return reply.decode("utf-8", "replace") if isinstance(reply, bytes) else str(reply)


def _host(url: str) -> str:
    from urllib.parse import urlsplit

    return urlsplit(url).netloc
