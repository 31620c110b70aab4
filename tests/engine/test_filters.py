import pytest

from costprism.engine.filters import Filter, normalize_tag_key, parse_filter, parse_filters
from costprism.errors import QueryError


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("RegionId=us-east-1", Filter(column="RegionId", op="=", values=("us-east-1",))),
        ("RegionId = 'us east 1'", Filter(column="RegionId", op="=", values=("us east 1",))),
        ("ServiceName!=Amazon S3", Filter(column="ServiceName", op="!=", values=("Amazon S3",))),
        (
            "tag:CostCenter in (cc-2087, 'cc, 3001')",
            Filter(column="tag:CostCenter", op="in", values=("cc-2087", "cc, 3001")),
        ),
        ("SubAccountName not in (a)", Filter(column="SubAccountName", op="not in", values=("a",))),
        (
            "SubAccountName like sandbox-%",
            Filter(column="SubAccountName", op="like", values=("sandbox-%",)),
        ),
        ("tag:team is null", Filter(column="tag:team", op="is null")),
        ("ResourceId IS NOT NULL", Filter(column="ResourceId", op="is not null")),
    ],
)
def test_parse_filter_reads_each_operator(text: str, expected: Filter) -> None:
    assert parse_filter(text) == expected


def test_parse_filters_splits_and_outside_quotes_and_lists() -> None:
    filters = parse_filters(["RegionId=us-east-1 and tag:team in (a and b, c)", "X='p and q'"])
    assert [str(f) for f in filters] == [
        "RegionId=us-east-1",
        "tag:team in (a and b, c)",
        "X=p and q",
    ]


@pytest.mark.parametrize("text", ["RegionId", "RegionId=", "1col=3", "tag:x in ()", "a ~ b"])
def test_parse_filter_rejects_with_a_hint(text: str) -> None:
    with pytest.raises(QueryError, match="filter") as info:
        parse_filter(text)
    assert info.value.code == "query.bad_filter"


def test_tag_filter_knows_its_key() -> None:
    f = parse_filter("tag:cost-center=cc-1")
    assert f.is_tag
    assert f.tag_key == "cost-center"
    assert not parse_filter("RegionId=x").is_tag


def test_normalize_tag_key_ignores_case_dash_and_underscore() -> None:
    assert {normalize_tag_key(k) for k in ("CostCenter", "cost-center", "cost_center")} == {
        "costcenter"
    }


def test_and_inside_an_unquoted_value_is_part_of_the_value() -> None:
    filters = parse_filters(["ServiceCategory=AI and Machine Learning and RegionId=us-east-1"])
    assert filters == (
        Filter(column="ServiceCategory", op="=", values=("AI and Machine Learning",)),
        Filter(column="RegionId", op="=", values=("us-east-1",)),
    )
