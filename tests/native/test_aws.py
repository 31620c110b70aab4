"""AWS specifics: CUR 2.0 names derived from the legacy ones, and tag keys."""

from __future__ import annotations

import pytest

from costprism.native.aws import CUR, CUR2, _tag_key, cur2_name


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
