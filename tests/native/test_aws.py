"""AWS specifics: CUR 2.0 names derived from the legacy ones, and tag keys."""

from __future__ import annotations

import duckdb
import pytest

from costprism.native.aws import _CUR2_TAGS, CUR, CUR2, _tag_key, cur2_name


@pytest.mark.parametrize(
    ("legacy", "cur2"),
    [
        ("lineItem/UnblendedCost", "line_item_unblended_cost"),
        ("lineItem/LineItemType", "line_item_line_item_type"),
        ("bill/PayerAccountId", "bill_payer_account_id"),
        ("savingsPlan/SavingsPlanARN", "savings_plan_savings_plan_a_r_n"),
        ("reservation/ReservationARN", "reservation_reservation_a_r_n"),
        ("pricing/publicOnDemandCost", "pricing_public_on_demand_cost"),
        (
            "reservation/UnusedAmortizedUpfrontFeeForBillingPeriod",
            "reservation_unused_amortized_upfront_fee_for_billing_period",
        ),
    ],
)
def test_cur2_names_follow_aws_renaming(legacy: str, cur2: str) -> None:
    assert cur2_name(legacy) == cur2


def test_both_layouts_map_the_same_columns() -> None:
    assert [r.column for r in CUR.rules] == [r.column for r in CUR2.rules]
    assert all("/" not in name for rule in CUR2.rules for name in rule.sources())


def test_user_tag_keys_lose_their_prefix_and_aws_tags_keep_theirs() -> None:
    assert _tag_key("resourceTags/user:cost-center") == "cost-center"
    assert _tag_key("resourceTags/aws:createdBy") == "aws:createdBy"


@pytest.mark.parametrize(
    ("text", "tags"),
    [
        ('{"user_team": "a", "aws_createdBy": "me"}', {"team": "a", "aws:createdBy": "me"}),
        ('{"user_team": "a", "team": "b"}', {"team": "a"}),  # two keys become one: the first
        ('{"user_team": "a", "user_team": "b"}', None),  # a key twice: no map, no failed read
        ("{}", None),
        ("not json", None),
    ],
)
def test_cur2_tags_read_any_json_text(text: str, tags: dict[str, str] | None) -> None:
    sql = _CUR2_TAGS.replace("`resource_tags`", '"resource_tags"')
    query = f"SELECT {sql} FROM (SELECT ? AS resource_tags)"
    (row,) = duckdb.connect().execute(query, [text]).fetchall()
    assert row[0] == tags
