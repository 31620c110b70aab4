"""alerts.yaml: every part read, secrets from the environment, errors with file:line:column."""

from __future__ import annotations

from pathlib import Path

import pytest

from costprism.alerts.config import DEFAULT_ROLES, RoleRouting, load_config, parse_config
from costprism.errors import InputError

FULL = """\
email:
  host: smtp.example.com
  security: starttls
  username: costprism
  password_env: SMTP_SECRET
  from: costprism@example.com
channels:
  - name: payments-slack
    type: slack
    url_env: SLACK_URL
  - name: siem
    type: webhook
    url: https://siem.example.com/costprism/in
    secret_env: HOOK_KEY
  - name: file
    type: log
    path: alerts.jsonl
recipients:
  ada: {email: ada@example.com, channels: [payments-slack]}
roles:
  finance: {immediate: [budget], digest: weekly}
  practitioner: {immediate: [anomaly, budget]}
digest_weekday: friday
timeout: 5
"""
ENV = {"SMTP_SECRET": "s3cret", "SLACK_URL": "https://hooks.slack.com/services/T/B/x",
       "HOOK_KEY": "k3y"}  # fmt: skip


def test_a_full_configuration_is_read(tmp_path: Path) -> None:
    config = parse_config(FULL, "alerts.yaml", home=tmp_path, environ=ENV)

    assert config.smtp is not None
    assert (config.smtp.host, config.smtp.port, config.smtp.security) == (
        "smtp.example.com", 587, "starttls",
    )  # fmt: skip
    assert (config.smtp.username, config.smtp.password) == ("costprism", "s3cret")
    assert config.channels["payments-slack"].url == ENV["SLACK_URL"]
    assert config.channels["siem"].secret == "k3y"
    assert config.channels["file"].path == tmp_path / "alerts.jsonl"
    assert config.reach("ada").email == "ada@example.com"
    assert config.reach("ada").channels == ("payments-slack",)
    assert config.reach("grace@example.com").email == "grace@example.com"  # a name that is one
    assert config.reach("grace").email is None
    assert dict(config.roles) == {
        "finance": RoleRouting(immediate=("budget",), digest="weekly"),
        "practitioner": RoleRouting(immediate=("anomaly", "budget"), digest="none"),
    }
    assert (config.digest_weekday, config.timeout) == (4, 5.0)


def test_what_the_page_shows_has_no_secret(tmp_path: Path) -> None:
    shown = str(parse_config(FULL, home=tmp_path, environ=ENV).channel_records())

    assert "s3cret" not in shown
    assert "k3y" not in shown
    assert "/services/T/B/x" not in shown
    assert "https://hooks.slack.com/…" in shown


def test_without_a_file_smtp_comes_from_the_environment_and_the_default_roles_apply(
    tmp_path: Path,
) -> None:
    env = {"COSTPRISM_SMTP_HOST": "mail.local", "COSTPRISM_SMTP_SECURITY": "ssl",
           "COSTPRISM_SMTP_PASSWORD": "pw", "COSTPRISM_SMTP_FROM": "cp@example.com"}  # fmt: skip
    config = load_config(tmp_path, environ=env)

    assert config.smtp is not None
    assert (config.smtp.host, config.smtp.port, config.smtp.password) == ("mail.local", 465, "pw")
    assert config.roles == DEFAULT_ROLES
    assert load_config(tmp_path, environ={}).smtp is None


def test_the_file_in_the_data_folder_is_read(tmp_path: Path) -> None:
    (tmp_path / "alerts.yaml").write_text("channels:\n  - {name: f, type: log, path: x.jsonl}\n")

    assert list(load_config(tmp_path, environ={}).channels) == ["f"]


@pytest.mark.parametrize(
    ("text", "where", "says"),
    [
        ("channels:\n  - name: a\n    type: pager\n", "alerts.yaml:2:5", "type 'pager'"),
        ("channels:\n  - name: a\n    type: slack\n", "alerts.yaml:2:5", "has no URL"),
        (
            "channels:\n  - {name: a, type: slack, url_env: NOPE}\n",
            "alerts.yaml:2:5",
            "variable NOPE is not set",
        ),
        (
            "channels:\n  - {name: a, type: webhook, url: 'https://x.example/'}\n",
            "alerts.yaml:2:5",
            "needs secret_env",
        ),
        (
            "channels:\n  - {name: a, type: slack, url: 'ftp://x'}\n",
            "alerts.yaml:2:5",
            "must start with https://",
        ),
        ("roles:\n  wizard: {digest: daily}\n", "alerts.yaml:2:3", "role 'wizard'"),
        ("roles:\n  finance: {digest: hourly}\n", "alerts.yaml:2:21", "digest 'hourly'"),
        ("roles:\n  finance: {immediate: [bills]}\n", "alerts.yaml:2:24", "immediate 'bills'"),
        ("recipients:\n  ada: {channels: [nope]}\n", "alerts.yaml:2:19", "'nope' is not"),
        ("recipients:\n  ada: {email: not-an-address}\n", "alerts.yaml:2:16", "not an e-mail"),
        ("email:\n  host: h\n  port: 99999\n", "alerts.yaml:2:3", "port '99999'"),
        ("email:\n  host: h\n  password_env: NOPE\n", "alerts.yaml:2:3", "NOPE is not set"),
        ("colour: blue\n", "alerts.yaml:1:1", "unknown key 'colour'"),
        ("digest_weekday: someday\n", "alerts.yaml:1:17", "digest_weekday 'someday'"),
        ("timeout: 0\n", "alerts.yaml:1:10", "timeout '0'"),
    ],
)
def test_mistakes_name_file_line_and_column(text: str, where: str, says: str) -> None:
    with pytest.raises(InputError) as error:
        parse_config(text, "alerts.yaml", environ={})

    assert error.value.code == "alerts.invalid"
    assert error.value.message.startswith(f"{where}: ")
    assert says in error.value.message


def test_bad_yaml_is_reported_with_its_position() -> None:
    with pytest.raises(InputError) as error:
        parse_config("channels: [\n", "alerts.yaml", environ={})

    assert error.value.code == "alerts.bad_yaml"
    assert error.value.message.startswith("alerts.yaml:2:1")


def test_a_bad_environment_setting_names_the_variables(tmp_path: Path) -> None:
    env = {"COSTPRISM_SMTP_HOST": "h", "COSTPRISM_SMTP_SECURITY": "tls"}
    with pytest.raises(InputError, match=r"COSTPRISM_SMTP_\* environment: security 'tls'"):
        load_config(tmp_path, environ=env)
