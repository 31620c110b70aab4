"""The owners file: first match wins, the filter language on a scope, file:line:column errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from costprism.anomalies.owners import load_owners, parse_owners
from costprism.errors import InputError

OWNERS = """\
owners:
  - match: team=payments
    users: [ada, grace]
    emails: [payments@example.com]
  - match: [SubAccountId=111, "ServiceName in (Amazon EC2, Amazon S3)"]
    channels: "slack:#infra"
  - match: "ServiceName like Amazon%"
    users: lin
  - match: "*"
    emails: finops@example.com
"""


def test_first_matching_entry_wins() -> None:
    owners = parse_owners(OWNERS)
    payments = owners.owner_of({"team": "payments", "ServiceName": "Amazon EC2"})
    assert payments is not None
    assert payments.users == ("ada", "grace")
    infra = owners.owner_of({"SubAccountId": "111", "ServiceName": "Amazon S3"})
    assert infra is not None
    assert (infra.channels, infra.line) == (("slack:#infra",), 5)
    lin = owners.owner_of({"SubAccountId": "222", "ServiceName": "Amazon RDS"})
    assert lin is not None
    assert lin.label == "lin"
    fallback = owners.owner_of({"ServiceName": "Cloud Storage"})
    assert fallback is not None
    assert fallback.emails == ("finops@example.com",)


def test_a_condition_on_a_column_the_scope_lacks_does_not_hold() -> None:
    owners = parse_owners("owners:\n  - match: team=payments\n    users: [ada]\n")
    assert owners.owner_of({"ServiceName": "Amazon EC2"}) is None


def test_load_reads_a_file(tmp_path: Path) -> None:
    path = tmp_path / "owners.yaml"
    path.write_text(OWNERS, encoding="utf-8")
    assert len(load_owners(path).owners) == 4


@pytest.mark.parametrize(
    ("text", "where", "says"),
    [
        ("owners:\n  - match: team=payments\n    user: [ada]\n", ":3:5", "unknown key 'user'"),
        ("owners:\n  - users: [ada]\n", ":2:5", "needs match:"),
        ("owners:\n  - match: team=payments\n", ":2:5", "at least one of users:"),
        ("owners:\n  - match: team ~ x\n    users: ada\n", ":2:12", "not understood"),
        ("owners:\n  - match: '*'\n    emails: [nobody]\n", ":3:13", "not an e-mail"),
        ("owners: [\n", ":2:1", "not valid YAML"),
        ("teams: []\n", ":1:1", "one key, 'owners:'"),
    ],
)
def test_errors_name_file_line_and_column(text: str, where: str, says: str) -> None:
    with pytest.raises(InputError, match=says) as raised:
        parse_owners(text, "owners.yaml")
    assert raised.value.message.startswith(f"owners.yaml{where}: ")


def test_an_unreadable_file_is_an_input_error(tmp_path: Path) -> None:
    with pytest.raises(InputError) as raised:
        load_owners(tmp_path / "missing.yaml")
    assert raised.value.code == "owners.bad_file"
