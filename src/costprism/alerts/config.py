"""The alerts configuration: ``alerts.yaml`` in the data folder (or ``--config``).

::

    email:                        # SMTP; each key may instead come from COSTPRISM_SMTP_<KEY>
      host: smtp.example.com      #   (HOST, PORT, SECURITY, USERNAME, PASSWORD, FROM)
      port: 587
      security: starttls          # none | starttls | ssl
      username: costprism
      password_env: COSTPRISM_SMTP_PASSWORD   # the variable holding the password
      from: costprism@example.com
    channels:
      - name: payments-slack
        type: slack               # slack | teams | webhook | log
        url_env: PAYMENTS_SLACK_WEBHOOK       # or url: https://hooks.slack.com/…
      - name: siem
        type: webhook
        url: https://siem.example.com/costprism
        secret_env: COSTPRISM_SIEM_SECRET     # HMAC-SHA256 key (required for webhook)
      - name: alerts-file
        type: log
        path: alerts.jsonl        # JSON lines, relative to the data folder
    recipients:                   # how to reach CostPrism users (a user name that is an
      ada: {email: ada@example.com, channels: [payments-slack]}   # e-mail address needs none)
    roles:                        # replaces the defaults (finance: budget alerts, weekly
      finance: {immediate: [budget], digest: weekly}     # digest; security: security
      security: {immediate: [security], digest: daily}   # anomalies, daily digest)
    digest_weekday: monday        # the day weekly digests are due (default monday)
    timeout: 10                   # seconds per send

Immediate alert kinds: ``budget`` (a budget threshold crossed, actual or forecast),
``anomaly`` (a new open cost anomaly), ``security`` (a new open security anomaly).
Digests: ``daily``, ``weekly`` or ``none``. Secrets are never written in the file: name
the environment variable that holds them (``*_env``). Errors name file:line:column
(``alerts.bad_yaml``, ``alerts.invalid``).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Literal

import yaml

from costprism.allocation.rules import YamlParser, compose, read_text
from costprism.errors import InputError
from costprism.roles import ROLES

CONFIG_FILE = "alerts.yaml"
CHANNEL_TYPES = ("slack", "teams", "webhook", "log")
IMMEDIATE = ("budget", "anomaly", "security")
DIGESTS = ("daily", "weekly", "none")
SECURITIES = ("none", "starttls", "ssl")
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
EMAIL = "email"  # the built-in channel name of e-mail
SMTP_ENV = "COSTPRISM_SMTP_"
Security = Literal["none", "starttls", "ssl"]


@dataclass(frozen=True, kw_only=True)
class SmtpSettings:
    host: str
    port: int
    security: Security = "none"
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    sender: str = "costprism@localhost"

    def record(self) -> dict[str, object]:
        return {
            "host": self.host,
            "port": self.port,
            "security": self.security,
            "username": self.username,
            "from": self.sender,
            "password": "***" if self.password else None,
        }


@dataclass(frozen=True, kw_only=True)
class ChannelSettings:
    name: str
    type: str
    url: str = field(default="", repr=False)
    secret: str = field(default="", repr=False)
    path: Path | None = None
    line: int = 0

    def record(self) -> dict[str, object]:
        """What the /alerts page shows: never a secret, a webhook URL only by its host."""
        shown: dict[str, object] = {"name": self.name, "type": self.type}
        if self.url:
            shown["target"] = _host_of(self.url)
        if self.path is not None:
            shown["target"] = str(self.path)
        if self.type == "webhook":
            shown["signed"] = bool(self.secret)
        return shown


@dataclass(frozen=True, kw_only=True)
class Reach:
    """How one user is reached: an e-mail address and named channels."""

    email: str | None = None
    channels: tuple[str, ...] = ()


@dataclass(frozen=True, kw_only=True)
class RoleRouting:
    immediate: tuple[str, ...] = ()
    digest: str = "none"


DEFAULT_ROLES: Mapping[str, RoleRouting] = MappingProxyType(
    {
        "finance": RoleRouting(immediate=("budget",), digest="weekly"),
        "security": RoleRouting(immediate=("security",), digest="daily"),
    }
)


@dataclass(frozen=True, kw_only=True)
class AlertsConfig:
    smtp: SmtpSettings | None = None
    channels: Mapping[str, ChannelSettings] = field(default_factory=lambda: MappingProxyType({}))
    recipients: Mapping[str, Reach] = field(default_factory=lambda: MappingProxyType({}))
    roles: Mapping[str, RoleRouting] = field(default_factory=lambda: DEFAULT_ROLES)
    digest_weekday: int = 0
    timeout: float = 10.0
    name: str = "<alerts>"

    def reach(self, username: str) -> Reach:
        """A user's e-mail and channels: from ``recipients``, else the user name when it is
        an e-mail address."""
        found = self.recipients.get(username)
        if found is not None:
            return found
        return Reach(email=username if _is_email(username) else None)

    def channel_records(self) -> list[dict[str, object]]:
        listed: list[dict[str, object]] = []
        if self.smtp is not None:
            listed.append({"name": EMAIL, "type": EMAIL, **self.smtp.record()})
        listed.extend(c.record() for c in self.channels.values())
        return listed


def load_config(
    home: Path, path: Path | None = None, environ: Mapping[str, str] | None = None
) -> AlertsConfig:
    """The file given, else ``alerts.yaml`` in the data folder, else the defaults (SMTP
    from the environment only, no channels, the default roles)."""
    env = os.environ if environ is None else environ
    chosen = path or home / CONFIG_FILE
    if path is None and not chosen.exists():
        return AlertsConfig(smtp=_smtp({}, env, None), name="<defaults>")
    text = read_text(chosen, "alerts configuration", "alerts.bad_file")
    return parse_config(text, str(chosen), home=home, environ=env)


def parse_config(
    text: str,
    name: str = "<alerts>",
    *,
    home: Path | None = None,
    environ: Mapping[str, str] | None = None,
) -> AlertsConfig:
    env = os.environ if environ is None else environ
    root = compose(text, name, "alerts.bad_yaml")
    return _Parser(name, home or Path.cwd(), env).config(root)


def _smtp(
    given: Mapping[str, str],
    env: Mapping[str, str],
    fail: _Parser | None,
    node: yaml.Node | None = None,
) -> SmtpSettings | None:
    def value(key: str) -> str | None:
        return given.get(key) or env.get(SMTP_ENV + key.upper()) or None

    host = value("host")
    if host is None:
        return None
    security = value("security") or "none"
    if security not in SECURITIES:
        raise _error(fail, node, f"security {security!r}: use one of {', '.join(SECURITIES)}")
    port_text = value("port") or {"none": "25", "starttls": "587", "ssl": "465"}[security]
    if not port_text.isdigit() or not 0 < int(port_text) < 65536:
        raise _error(fail, node, f"port {port_text!r}: use 1 to 65535")
    password = given.get("password") or env.get(SMTP_ENV + "PASSWORD")
    if given.get("password_env"):
        password = env.get(given["password_env"])
        if password is None:
            raise _error(fail, node, f"password_env: variable {given['password_env']} is not set")
    sender = value("from") or "costprism@localhost"
    if not _is_email(sender):
        raise _error(fail, node, f"from {sender!r} is not an e-mail address (name@domain)")
    return SmtpSettings(
        host=host,
        port=int(port_text),
        security=security,  # type: ignore[arg-type]
        username=value("username"),
        password=password,
        sender=sender,
    )


def _error(parser: _Parser | None, node: yaml.Node | None, message: str) -> InputError:
    if parser is not None:
        return parser.fail(node, message)
    return InputError(f"{SMTP_ENV}* environment: {message}", code="alerts.invalid")


class _Parser(YamlParser):
    code = "alerts.invalid"

    def __init__(self, name: str, home: Path, env: Mapping[str, str]) -> None:
        super().__init__(name)
        self.home, self.env = home, env

    def config(self, root: yaml.Node | None) -> AlertsConfig:
        if root is None:
            return AlertsConfig(smtp=_smtp({}, self.env, self), name=self.name)
        top = self.mapping(
            root,
            "the alerts configuration",
            {"email", "channels", "recipients", "roles", "digest_weekday", "timeout"},
        )
        email = top.get("email")
        smtp_given = (
            self.flat(
                email, "email", {"host", "port", "security", "username", "password_env", "from"}
            )
            if email
            else {}
        )
        smtp = _smtp(smtp_given, self.env, self, email)
        channels = self.channels(top.get("channels"))
        recipients = self.recipients(top.get("recipients"), channels)
        roles = self.roles(top["roles"]) if "roles" in top else DEFAULT_ROLES
        weekday = 0
        if "digest_weekday" in top:
            day = self.scalar(top["digest_weekday"], "digest_weekday").lower()
            if day not in WEEKDAYS:
                raise self.fail(top["digest_weekday"], f"digest_weekday {day!r}: use monday…sunday")
            weekday = WEEKDAYS.index(day)
        timeout = 10.0
        if "timeout" in top:
            text = self.scalar(top["timeout"], "timeout")
            try:
                timeout = float(text)
            except ValueError:
                timeout = -1.0
            if not 0 < timeout <= 300:
                raise self.fail(top["timeout"], f"timeout {text!r}: use seconds, 0 < t <= 300")
        return AlertsConfig(
            smtp=smtp,
            channels=MappingProxyType(channels),
            recipients=MappingProxyType(recipients),
            roles=MappingProxyType(roles),
            digest_weekday=weekday,
            timeout=timeout,
            name=self.name,
        )

    def channels(self, node: yaml.Node | None) -> dict[str, ChannelSettings]:
        if node is None:
            return {}
        if not isinstance(node, yaml.SequenceNode):
            raise self.fail(node, "channels: must be a list of entries (- name: …, type: …)")
        found: dict[str, ChannelSettings] = {}
        for item in node.value:
            given = self.flat(
                item, "a channel", {"name", "type", "url", "url_env", "secret_env", "path"}
            )
            name, kind = given.get("name"), given.get("type")
            if not name or not kind:
                raise self.fail(
                    item, "a channel needs name: and type: (slack, teams, webhook, log)"
                )
            if name == EMAIL or name in found:
                raise self.fail(item, f"channel name {name!r} is taken; pick another")
            if kind not in CHANNEL_TYPES:
                raise self.fail(item, f"type {kind!r}: use one of {', '.join(CHANNEL_TYPES)}")
            url = path = secret = None
            if kind == "log":
                if not given.get("path"):
                    raise self.fail(item, "a log channel needs path: (a JSON-lines file)")
                path = Path(given["path"])
                path = path if path.is_absolute() else self.home / path
            else:
                url = given.get("url") or (
                    self.env.get(given["url_env"]) if given.get("url_env") else None
                )
                if not url:
                    what = (
                        f"variable {given['url_env']} is not set"
                        if given.get("url_env")
                        else "give url: or url_env:"
                    )
                    raise self.fail(item, f"channel {name!r} has no URL ({what})")
                if not url.startswith(("http://", "https://")):
                    raise self.fail(item, f"channel {name!r}: URL must start with https://")
            if kind == "webhook":
                secret = (
                    self.env.get(given.get("secret_env", "")) if given.get("secret_env") else None
                )
                if not secret:
                    raise self.fail(
                        item,
                        f"webhook {name!r} needs secret_env: naming a set "
                        "variable that holds its HMAC key",
                    )
            found[name] = ChannelSettings(
                name=name,
                type=kind,
                url=url or "",
                secret=secret or "",
                path=path,
                line=item.start_mark.line + 1,
            )
        return found

    def recipients(
        self, node: yaml.Node | None, channels: Mapping[str, ChannelSettings]
    ) -> dict[str, Reach]:
        if node is None:
            return {}
        found: dict[str, Reach] = {}
        for user, value in self.mapping(node, "recipients", None).items():
            fields = self.mapping(value, f"recipient {user}", {"email", "channels"})
            email = self.scalar(fields["email"], "email") if "email" in fields else None
            if email is not None and not _is_email(email):
                raise self.fail(fields["email"], f"{email!r} is not an e-mail address")
            named = self.scalars(fields["channels"], "channels") if "channels" in fields else ()
            for channel in named:
                if channel not in channels:
                    raise self.fail(
                        fields["channels"], f"channel {channel!r} is not configured under channels:"
                    )
            found[user] = Reach(email=email, channels=named)
        return found

    def roles(self, node: yaml.Node) -> dict[str, RoleRouting]:
        found: dict[str, RoleRouting] = {}
        for role, value in self.mapping(node, "roles", None).items():
            if role not in ROLES:
                raise self.fail(node, f"role {role!r} is not one of {', '.join(ROLES)}")
            fields = self.mapping(value, f"role {role}", {"immediate", "digest"})
            immediate = (
                self.scalars(fields["immediate"], "immediate") if "immediate" in fields else ()
            )
            for kind in immediate:
                if kind not in IMMEDIATE:
                    raise self.fail(
                        fields["immediate"], f"immediate {kind!r}: use {', '.join(IMMEDIATE)}"
                    )
            digest = self.scalar(fields["digest"], "digest") if "digest" in fields else "none"
            if digest not in DIGESTS:
                raise self.fail(fields["digest"], f"digest {digest!r}: use {', '.join(DIGESTS)}")
            found[role] = RoleRouting(immediate=immediate, digest=digest)
        return found

    def mapping(
        self, node: yaml.Node | None, what: str, keys: set[str] | None = None
    ) -> dict[str, yaml.Node]:
        found = super().mapping(node, what)  # a mapping with no key twice, or an error
        if keys is not None and isinstance(node, yaml.MappingNode):
            for key, _ in node.value:
                if key.value not in keys:
                    raise self.fail(
                        key, f"unknown key {key.value!r} in {what}; use {', '.join(sorted(keys))}"
                    )
        return found

    def flat(self, node: yaml.Node | None, what: str, keys: set[str]) -> dict[str, str]:
        return {k: self.scalar(v, k) for k, v in self.mapping(node, what, keys).items()}

    def scalars(self, node: yaml.Node, what: str) -> tuple[str, ...]:
        """A value or a list of values (the list may be empty: no channels)."""
        if isinstance(node, yaml.ScalarNode):
            return (self.scalar(node, what),)
        if not isinstance(node, yaml.SequenceNode):
            raise self.fail(node, f"{what} must be a value or a list of values")
        return tuple(self.scalar(item, what) for item in node.value)


def _is_email(text: str) -> bool:
    local, _, domain = text.partition("@")
    return (
        bool(local)
        and bool(domain)
        and not any(c in text for c in " \t\r\n<>,;")
        and "@" not in domain
    )


def _host_of(url: str) -> str:
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}/…"
