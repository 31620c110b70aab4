"""Alibaba Cloud: the bill details (instance / billable-item bill) CSV, to FOCUS 1.2.

The Expenses and Costs console exports, and delivers to OSS (``BillingItemDetail``,
``InstanceDetail``), the same bill in English on the International site (``Billing Cycle``,
``Pretax Gross Amount``, …) and in Chinese on the China site (``账期``, ``官网价``, …). The
rules are written once, against the English names, and the Chinese format is derived by
translating the header (:data:`CHINESE`), as the AWS CUR 2.0 rules are derived from the legacy
CUR's. Value spellings differ too (``Subscription`` / ``预付费``, ``Refund`` / ``退款``); the
rules accept both.

Costs follow Alibaba's bill arithmetic: ``Pretax Gross Amount`` (``官网价``, ``原价`` in older
exports) is usage at the list price; ``Invoice Discount`` (``优惠金额``) the contract and
promotion discounts; ``Deducted By Coupons`` (``优惠券抵扣``) the coupons; ``Pretax Amount``
(``应付金额``) what is payable, gross less those. So:

- BilledCost is ``Pretax Amount``: the payable amount, coupons already taken off inside the
  row (there are no separate coupon rows). Cash vouchers, prepaid cards and credit refunds
  only say how the payable amount was paid; they stay ``x_`` columns.
- ListCost is ``Pretax Gross Amount``; ContractedCost is gross less ``Invoice Discount`` (the
  account's price before coupons and commitments).
- EffectiveCost adds back what a savings plan paid for the row (``Deducted By Savings Plan``,
  ``节省计划抵扣金额``: money drawn from the plan's commitment), so covered usage carries its
  share of the plan, and a savings plan's own fee rows cost nothing there. Resource plans
  (``Deducted By Resource Package``) and reserved instances deduct *quantities*, not money:
  their covered usage costs what the bill says (often 0) and their purchase keeps its cost.

Times are written as the console writes them (Beijing time, without an offset) and read as
UTC, so a charge stays in its billing cycle.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

from costprism.ingest.checks import literal
from costprism.native.mapping import NativeFormat, Rule, lookup, service_rules

PROVIDER = "Alibaba Cloud"

# ``Product Code`` → FOCUS service subcategory (unknown codes are Other).
SUBCATEGORIES: Mapping[str, str] = {
    "ecs": "Virtual Machines",
    "ebs": "Block Storage",
    "ens": "Virtual Machines",
    "swas": "Virtual Machines",
    "fc": "Serverless Compute",
    "sae": "Serverless Compute",
    "cs": "Containers",
    "ack": "Containers",
    "acr": "Containers",
    "eci": "Containers",
    "oss": "Object Storage",
    "nas": "File Storage",
    "hbr": "Backup Storage",
    "rds": "Relational Databases",
    "polardb": "Relational Databases",
    "dds": "NoSQL Databases",
    "mongodb": "NoSQL Databases",
    "hbase": "NoSQL Databases",
    "ots": "NoSQL Databases",
    "redisa": "Caching",
    "kvstore": "Caching",
    "tair": "Caching",
    "ads": "Data Warehouses",
    "hologres": "Data Warehouses",
    "odps": "Data Processing",
    "emr": "Data Processing",
    "dataworks": "Data Processing",
    "elasticsearch": "Search",
    "opensearch": "Search",
    "quickbi": "Business Intelligence",
    "datahub": "Streaming Analytics",
    "sc": "Streaming Analytics",
    "pai": "Machine Learning",
    "learn": "Machine Learning",
    "dashscope": "Generative AI",
    "bailian": "Generative AI",
    "sfm": "Generative AI",
    "cdn": "Content Delivery",
    "dcdn": "Content Delivery",
    "vpc": "Network Connectivity",
    "eip": "Network Connectivity",
    "cbwp": "Network Connectivity",
    "nat": "Network Connectivity",
    "nat_gw": "Network Connectivity",
    "vpn": "Network Connectivity",
    "cen": "Network Routing",
    "ga": "Network Routing",
    "slb": "Application Networking",
    "alb": "Application Networking",
    "nlb": "Application Networking",
    "dns": "Network Infrastructure",
    "alidns": "Network Infrastructure",
    "apigateway": "API Management",
    "mns": "Messaging",
    "ons": "Messaging",
    "alikafka": "Messaging",
    "sls": "Observability",
    "cms": "Observability",
    "arms": "Observability",
    "actiontrail": "Compliance",
    "config": "Compliance",
    "kms": "Secret Management",
    "cas": "Secret Management",
    "sas": "Security Posture Management",
    "waf": "Network Security",
    "ddos": "Network Security",
    "ddoscoo": "Network Security",
    "cfw": "Network Security",
    "ram": "Identity and Access Management",
    "idaas": "Identity and Access Management",
    "dts": "Data Migration",
    "support": "Support",
}

# Region names as the bills write them (English and Chinese, brackets made half-width) →
# region ids. A value that already is an id is kept; an unknown name gives a null RegionId.
REGIONS: Mapping[str, str] = {
    "China (Qingdao)": "cn-qingdao",
    "华北1(青岛)": "cn-qingdao",
    "China (Beijing)": "cn-beijing",
    "华北2(北京)": "cn-beijing",
    "China (Zhangjiakou)": "cn-zhangjiakou",
    "华北3(张家口)": "cn-zhangjiakou",
    "China (Hohhot)": "cn-huhehaote",
    "华北5(呼和浩特)": "cn-huhehaote",
    "China (Ulanqab)": "cn-wulanchabu",
    "华北6(乌兰察布)": "cn-wulanchabu",
    "China (Hangzhou)": "cn-hangzhou",
    "华东1(杭州)": "cn-hangzhou",
    "China (Shanghai)": "cn-shanghai",
    "华东2(上海)": "cn-shanghai",
    "China (Shenzhen)": "cn-shenzhen",
    "华南1(深圳)": "cn-shenzhen",
    "China (Heyuan)": "cn-heyuan",
    "华南2(河源)": "cn-heyuan",
    "China (Guangzhou)": "cn-guangzhou",
    "华南3(广州)": "cn-guangzhou",
    "China (Chengdu)": "cn-chengdu",
    "西南1(成都)": "cn-chengdu",
    "China (Hong Kong)": "cn-hongkong",
    "中国香港": "cn-hongkong",
    "Singapore": "ap-southeast-1",
    "新加坡": "ap-southeast-1",
    "Malaysia (Kuala Lumpur)": "ap-southeast-3",
    "马来西亚(吉隆坡)": "ap-southeast-3",
    "Indonesia (Jakarta)": "ap-southeast-5",
    "印度尼西亚(雅加达)": "ap-southeast-5",
    "Philippines (Manila)": "ap-southeast-6",
    "菲律宾(马尼拉)": "ap-southeast-6",
    "Thailand (Bangkok)": "ap-southeast-7",
    "泰国(曼谷)": "ap-southeast-7",
    "Japan (Tokyo)": "ap-northeast-1",
    "日本(东京)": "ap-northeast-1",
    "South Korea (Seoul)": "ap-northeast-2",
    "韩国(首尔)": "ap-northeast-2",
    "US (Silicon Valley)": "us-west-1",
    "美国(硅谷)": "us-west-1",
    "US (Virginia)": "us-east-1",
    "美国(弗吉尼亚)": "us-east-1",
    "Germany (Frankfurt)": "eu-central-1",
    "德国(法兰克福)": "eu-central-1",
    "UK (London)": "eu-west-1",
    "英国(伦敦)": "eu-west-1",
    "UAE (Dubai)": "me-east-1",
    "阿联酋(迪拜)": "me-east-1",
    "Saudi Arabia (Riyadh)": "me-central-1",
    "沙特(利雅得)": "me-central-1",
}

# `Usage Unit` (用量单位) in either language → FOCUS unit format; a unit not listed is kept as
# written (and the column itself is kept as an `x_` column).
UNITS: Mapping[str, str] = {
    "Hour": "Hours",
    "小时": "Hours",
    "Day": "Days",
    "天": "Days",
    "Month": "Months",
    "月": "Months",
    "Year": "Years",
    "年": "Years",
    "Minute": "Minutes",
    "分钟": "Minutes",
    "Second": "Seconds",
    "秒": "Seconds",
    "个": "Units",
    "次": "Counts",
}

# Instance id prefixes → the resource type as Alibaba's resource ARNs name it
# (`acs:ecs:…:instance/i-…` → `ecs:instance`). Other ids: the product code.
RESOURCE_PREFIXES: Mapping[str, str] = {
    "i-": "ecs:instance",
    "d-": "ecs:disk",
    "rm-": "rds:dbinstance",
    "pgm-": "rds:dbinstance",
    "r-": "kvstore:instance",
    "lb-": "slb:loadbalancer",
    "eip-": "vpc:eip",
}

# English header name → its Chinese spelling(s). A name with two spellings (``官网价`` in
# current exports, ``原价`` in older ones) reads the first that is present.
CHINESE: Mapping[str, tuple[str, ...]] = {
    "Billing Cycle": ("账期",),
    "Account ID": ("账号ID",),
    "Account Name": ("账号",),
    "Owner Account ID": ("Owner账号ID",),
    "Owner Account Name": ("Owner账号",),
    "Product Code": ("产品Code",),
    "Product Name": ("产品",),
    "Product Type": ("产品明细Code",),
    "Product Detail": ("产品明细",),
    "Subscription Type": ("消费类型",),
    "Payment Time": ("消费时间",),
    "Usage Start Time": ("账单开始时间",),
    "Usage End Time": ("账单结束时间",),
    "Billing Date": ("账单日期",),
    "Item": ("账单类型",),
    "Instance ID": ("实例ID",),
    "Instance Name": ("实例昵称",),
    "Instance Tag": ("实例标签",),
    "Region": ("地域",),
    "Zone": ("可用区",),
    "Billing Item": ("计费项",),
    "Billing Item Code": ("计费项Code",),
    "List Price": ("单价",),
    "Usage": ("用量",),
    "Usage Unit": ("用量单位",),
    "Pretax Gross Amount": ("官网价", "原价"),
    "Invoice Discount": ("优惠金额",),
    "Deducted By Coupons": ("优惠券抵扣",),
    "Pretax Amount": ("应付金额",),
    "Currency": ("币种",),
    "Deducted By Savings Plan": ("节省计划抵扣金额",),
    "Savings Plan Instance ID": ("节省计划实例ID",),
}

# Value spellings: English console, API, Chinese console.
_SUBSCRIPTION = ("Subscription", "预付费", "包年包月")
_REFUND = ("Refund", "退款")
_ADJUSTMENT = ("Adjustment", "调账")

_GROSS = "`Pretax Gross Amount`"
_DISCOUNT = "coalesce(`Invoice Discount`, 0)"
_COUPONS = "coalesce(`Deducted By Coupons`, 0)"
_SP_PAID = "coalesce(`Deducted By Savings Plan`, 0)"
_BILLED = f"coalesce(`Pretax Amount`, {_GROSS} - {_DISCOUNT} - {_COUPONS})"
_ITEM = "replace(`Item`, ' ', '')"
_HALF_WIDTH = "replace(replace(trim(`Region`), '（', '('), '）', ')')"


def _sql_list(values: Sequence[str]) -> str:
    return "(" + ", ".join(literal(v) for v in values) + ")"


_IS_REFUND = f"coalesce({_ITEM} IN {_sql_list(_REFUND)}, false)"
_IS_ADJUSTMENT = f"coalesce({_ITEM} IN {_sql_list(_ADJUSTMENT)}, false)"
_IS_SUBSCRIPTION = f"coalesce(`Subscription Type` IN {_sql_list(_SUBSCRIPTION)}, false)"
_IS_SAVINGS_PLAN = (
    "coalesce(`Product Code` = 'savingplan' OR `Product Type` LIKE 'savingplan%', false)"
)
_IS_CREDIT = f"({_IS_REFUND} OR (NOT {_IS_ADJUSTMENT} AND coalesce({_BILLED} < 0, false)))"
_IS_PURCHASE = f"({_IS_SUBSCRIPTION} OR {_IS_SAVINGS_PLAN})"
_IS_USAGE = f"NOT ({_IS_CREDIT} OR {_IS_ADJUSTMENT} OR {_IS_PURCHASE})"
_COVERED = f"({_IS_USAGE} AND {_SP_PAID} > 0)"
_EFFECTIVE = (
    f"CASE WHEN {_IS_SAVINGS_PLAN} AND NOT {_IS_CREDIT} THEN 0 ELSE {_BILLED} + {_SP_PAID} END"
)
_UNIT = (
    f"coalesce(nullif({lookup('trim(`Usage Unit`)', UNITS, '')}, ''), "
    "nullif(trim(`Usage Unit`), ''))"
)
_RESOURCE_TYPE = (
    "CASE WHEN `Instance ID` IS NULL THEN NULL "
    + " ".join(
        f"WHEN starts_with(`Instance ID`, {literal(p)}) THEN {literal(t)}"
        for p, t in sorted(RESOURCE_PREFIXES.items(), key=lambda e: -len(e[0]))
    )
    + " ELSE lower(`Product Code`) END"
)


def _rules() -> tuple[Rule, ...]:
    return (
        Rule(column="BillingAccountId", sql="`Account ID`", explain="as is"),
        Rule(column="BillingAccountName", sql="`Account Name`", explain="as is"),
        Rule(
            column="BillingAccountType",
            sql="CASE WHEN `Account ID` IS NOT NULL THEN 'Alibaba Cloud Account' END",
            explain="'Alibaba Cloud Account' (the account the bill is for)",
        ),
        Rule(column="SubAccountId", sql="`Owner Account ID`", explain="the resource owner"),
        Rule(column="SubAccountName", sql="`Owner Account Name`", explain="as is"),
        Rule(
            column="SubAccountType",
            sql="CASE WHEN `Owner Account ID` IS NOT NULL THEN 'Owner Account' END",
            explain="'Owner Account' where the row names the account owning the resource",
        ),
        Rule(
            column="BillingCurrency",
            sql="coalesce(`Currency`, 'USD')",
            explain="as is (USD when the column is absent: older International-site exports)",
        ),
        Rule(
            column="BillingPeriodStart",
            sql="`Billing Cycle`",
            explain="the first day of the billing cycle (`YYYY-MM`)",
        ),
        Rule(
            column="BillingPeriodEnd",
            sql="`Billing Cycle` + INTERVAL 1 MONTH",
            explain="the first day of the month after the billing cycle",
        ),
        Rule(
            column="ChargePeriodStart",
            sql="coalesce(`Usage Start Time`, `Payment Time`, `Billing Date`, `Billing Cycle`)",
            explain=(
                "`Usage Start Time`, else `Payment Time`, else the `Billing Date` of a daily "
                "bill, else the billing cycle's first day (monthly bills)"
            ),
        ),
        Rule(
            column="ChargePeriodEnd",
            sql=(
                "coalesce(`Usage End Time`, `Billing Date` + INTERVAL 1 DAY, "
                "`Billing Cycle` + INTERVAL 1 MONTH)"
            ),
            explain=(
                "`Usage End Time`, else the day after `Billing Date`, else the end of the "
                "billing cycle"
            ),
        ),
        Rule(
            column="BilledCost",
            sql=_BILLED,
            explain=(
                "`Pretax Amount`, the payable amount (coupons already deducted); where the "
                "column is absent: `Pretax Gross Amount` − `Invoice Discount` − "
                "`Deducted By Coupons`"
            ),
        ),
        Rule(
            column="EffectiveCost",
            sql=_EFFECTIVE,
            explain=(
                "the billed cost plus `Deducted By Savings Plan` (the plan's commitment the row "
                "used); a savings plan's own fees → 0 (their cost is on the covered rows)"
            ),
        ),
        Rule(
            column="ListCost",
            sql=f"coalesce({_GROSS}, {_BILLED})",
            explain="`Pretax Gross Amount` (usage at the list price); the billed cost without it",
        ),
        Rule(
            column="ContractedCost",
            sql=f"coalesce({_GROSS} - {_DISCOUNT}, {_BILLED})",
            explain=(
                "`Pretax Gross Amount` − `Invoice Discount` (contract and promotion discounts, "
                "before coupons and savings plans); the billed cost without a gross amount"
            ),
        ),
        Rule(column="ListUnitPrice", sql="`List Price`", explain="as is"),
        Rule(
            column="ChargeCategory",
            sql=(
                f"CASE WHEN {_IS_CREDIT} THEN 'Credit' WHEN {_IS_ADJUSTMENT} THEN 'Adjustment' "
                f"WHEN {_IS_PURCHASE} THEN 'Purchase' ELSE 'Usage' END"
            ),
            explain=(
                "`Item` Refund (退款) or a negative payable amount → Credit; Adjustment (调账) → "
                "Adjustment; `Subscription Type` Subscription (预付费, 包年包月) or a savings "
                "plan's fee → Purchase; pay-as-you-go → Usage"
            ),
        ),
        Rule(
            column="ChargeFrequency",
            sql=(
                f"CASE WHEN {_IS_USAGE} THEN 'Usage-Based' "
                f"WHEN {_IS_PURCHASE} AND NOT {_IS_SUBSCRIPTION} AND NOT {_IS_CREDIT} "
                "THEN 'Recurring' ELSE 'One-Time' END"
            ),
            explain=(
                "pay-as-you-go usage → Usage-Based; a savings plan's pay-as-you-go fee → "
                "Recurring; subscription orders, refunds and adjustments → One-Time"
            ),
        ),
        Rule(
            column="ChargeDescription",
            sql="nullif(concat_ws(' / ', `Product Detail`, `Billing Item`), '')",
            explain="`Product Detail` / `Billing Item`",
        ),
        Rule(
            column="CommitmentDiscountId",
            sql=(
                f"CASE WHEN {_IS_SAVINGS_PLAN} THEN `Instance ID` "
                f"WHEN {_SP_PAID} <> 0 THEN `Savings Plan Instance ID` END"
            ),
            explain=(
                "a savings plan's own rows: its `Instance ID`; rows it paid for: "
                "`Savings Plan Instance ID`"
            ),
        ),
        Rule(
            column="CommitmentDiscountType",
            sql=(
                f"CASE WHEN {_IS_SAVINGS_PLAN} AND `Instance ID` IS NOT NULL THEN 'Savings Plan' "
                f"WHEN {_SP_PAID} <> 0 AND `Savings Plan Instance ID` IS NOT NULL "
                "THEN 'Savings Plan' END"
            ),
            explain="Savings Plan where there is a commitment id",
        ),
        Rule(
            column="CommitmentDiscountCategory",
            sql=(
                f"CASE WHEN {_IS_SAVINGS_PLAN} AND `Instance ID` IS NOT NULL THEN 'Spend' "
                f"WHEN {_SP_PAID} <> 0 AND `Savings Plan Instance ID` IS NOT NULL "
                "THEN 'Spend' END"
            ),
            explain="Spend (a savings plan commits an hourly spend)",
        ),
        Rule(
            column="CommitmentDiscountStatus",
            sql=f"CASE WHEN {_COVERED} AND `Savings Plan Instance ID` IS NOT NULL THEN 'Used' END",
            explain=(
                "Used on usage a savings plan paid for; the bill does not say how much of a "
                "plan went unused"
            ),
        ),
        Rule(
            column="PricingCategory",
            sql=(
                f"CASE WHEN {_COVERED} THEN 'Committed' WHEN {_IS_USAGE} THEN 'Standard' "
                f"WHEN {_IS_PURCHASE} AND NOT {_IS_CREDIT} THEN 'Standard' END"
            ),
            explain=(
                "usage a savings plan paid for → Committed; other usage and purchases → "
                "Standard; null on refunds and adjustments"
            ),
        ),
        Rule(
            column="ConsumedQuantity",
            sql=f"CASE WHEN {_IS_USAGE} THEN `Usage` END",
            explain="`Usage` on pay-as-you-go usage rows",
        ),
        Rule(
            column="ConsumedUnit",
            sql=f"CASE WHEN {_IS_USAGE} THEN {_UNIT} END",
            explain=(
                "`Usage Unit` on pay-as-you-go usage rows, in FOCUS's unit format (`Hour`, "
                "`小时` → `Hours`; `Month`, `月` → `Months`); the unit as written is kept as an "
                "`x_` column"
            ),
        ),
        Rule(column="PricingQuantity", sql="`Usage`", explain="as is"),
        Rule(
            column="PricingUnit",
            sql=f"CASE WHEN `Usage` IS NOT NULL THEN {_UNIT} END",
            explain="`Usage Unit` in FOCUS's unit format, where there is a `Usage`",
        ),
        Rule(
            column="PricingCurrency",
            sql="coalesce(`Currency`, 'USD')",
            explain="as BillingCurrency",
        ),
        Rule(
            column="PricingCurrencyEffectiveCost",
            sql=_EFFECTIVE,
            explain="EffectiveCost: the bill prices in its billing currency",
        ),
        Rule(column="ProviderName", sql=literal(PROVIDER), explain=PROVIDER),
        Rule(column="PublisherName", sql=literal(PROVIDER), explain=PROVIDER),
        Rule(
            column="InvoiceIssuerName",
            sql=literal(PROVIDER),
            explain=f"{PROVIDER} (the bill names no seller entity)",
        ),
        Rule(
            column="RegionId",
            sql=(
                "CASE WHEN regexp_full_match(`Region`, '[a-z]{2,}-[a-z0-9-]+') THEN `Region` "
                f"ELSE nullif({lookup(_HALF_WIDTH, REGIONS, '')}, '') END"
            ),
            explain="the region id, from the region's English or Chinese name",
        ),
        Rule(column="RegionName", sql="`Region`", explain="as is"),
        Rule(column="AvailabilityZone", sql="`Zone`", explain="as is"),
        Rule(column="ResourceId", sql="`Instance ID`", explain="as is"),
        Rule(column="ResourceName", sql="`Instance Name`", explain="as is"),
        Rule(
            column="ResourceType",
            sql=_RESOURCE_TYPE,
            explain=(
                "the resource type as Alibaba's resource ARNs name it, from the instance id's "
                "prefix (`i-` → `ecs:instance`, `rm-` → `rds:dbinstance`, `lb-` → "
                "`slb:loadbalancer`…); other ids: the product code (`oss`, `savingplan`)"
            ),
        ),
        Rule(
            column="ServiceName",
            sql="coalesce(`Product Name`, `Product Code`)",
            explain="the product name, else the product code",
        ),
        *service_rules("lower(`Product Code`)", SUBCATEGORIES, "`Product Code`"),
        Rule(column="SkuId", sql="`Product Type`", explain="the commodity code"),
        Rule(
            column="SkuMeter",
            sql=(
                "CASE WHEN `Product Type` IS NOT NULL "
                "THEN coalesce(`Billing Item`, `Billing Item Code`, `Product Detail`) END"
            ),
            explain=(
                "the billing item, where there is a SkuId; rows without one (subscriptions, "
                "refunds, adjustments): `Product Detail`"
            ),
        ),
        Rule(
            column="Tags",
            sql=_tags("`Instance Tag`"),
            explain=(
                "`Instance Tag` as a map: entries split on `;`, each `key:K value:V` or `K:V` "
                "(split on the first `:`); a later entry wins over an earlier one with its key"
            ),
        ),
    )


def _tags(column: str) -> str:
    """SQL reading Alibaba's tag text (``key:env value:prod; key:team value:data`` in bills,
    ``env:prod;team:data`` in the API's format) as a map; null when there are none."""
    entries = (
        f"list_filter(list_transform(string_split({column}, ';'), e -> trim(e)), e -> e <> '')"
    )
    pattern = literal(r"(?s)^key:(.*?) value:(.*)$")
    pairs = (
        f"list_transform({entries}, e -> CASE "
        f"WHEN regexp_full_match(e, {pattern}) THEN "
        f"{{'key': trim(regexp_extract(e, {pattern}, 1)), "
        f"'value': trim(regexp_extract(e, {pattern}, 2))}} "
        "WHEN strpos(e, ':') > 0 THEN "
        "{'key': trim(e[:strpos(e, ':') - 1]), 'value': trim(e[strpos(e, ':') + 1:])} "
        "ELSE {'key': e, 'value': ''} END)"
    )
    kept = (
        f"list_filter({pairs}, (p, i) -> p.key <> '' AND NOT "
        f"list_contains(list_transform({pairs}, q -> q.key)[i + 1:], p.key))"
    )
    return f"CASE WHEN len({kept}) > 0 THEN map_from_entries({kept}) END"


_NUMBERS = (
    "Pretax Gross Amount",
    "Invoice Discount",
    "Deducted By Coupons",
    "Pretax Amount",
    "Deducted By Savings Plan",
    "List Price",
    "Usage",
)
_TIMES: Mapping[str, tuple[str, ...]] = {
    "Billing Cycle": ("%Y-%m", "%Y/%m", "%Y%m"),
    "Payment Time": (),
    "Usage Start Time": (),
    "Usage End Time": (),
    "Billing Date": (),
}
_REQUIRED = ("Billing Cycle", "Account ID", "Product Code", "Subscription Type")


def chinese(name: str) -> tuple[str, ...]:
    """The Chinese spelling(s) of an English header name (itself when it has none)."""
    return CHINESE.get(name, (name,))


def _translated_reference(match: re.Match[str]) -> str:
    names = chinese(match.group(1))
    quoted = [f"`{n}`" for n in names]
    return quoted[0] if len(quoted) == 1 else f"coalesce({', '.join(quoted)})"


def _translated(rule: Rule) -> Rule:
    if rule.column in ("BillingCurrency", "PricingCurrency"):
        return Rule(
            column=rule.column,
            sql="coalesce(`币种`, 'CNY')",
            explain="as is (CNY when the column is absent)"
            if rule.column == "BillingCurrency"
            else rule.explain,
        )
    sql = re.sub(r"`([^`]+)`", _translated_reference, rule.sql)
    explain = re.sub(
        r"`([^`]+)`",
        lambda m: " or ".join(f"`{n}`" for n in chinese(m.group(1))),
        rule.explain,
    )
    return Rule(column=rule.column, sql=sql, explain=explain)


def _all_chinese(names: Sequence[str]) -> tuple[str, ...]:
    return tuple(n for name in names for n in chinese(name))


_ENGLISH_RULES = _rules()

ENGLISH = NativeFormat(
    name="alibaba-bill",
    provider=PROVIDER,
    title="Alibaba Cloud bill details (International site, English headers)",
    required=(*_REQUIRED, "Pretax Gross Amount"),
    rules=_ENGLISH_RULES,
    numbers=frozenset(_NUMBERS),
    times=_TIMES,
    keep=frozenset({"Usage Unit"}),
    notes=(
        "One reader for the billable-item and instance bills, monthly, daily (`Billing Date`) "
        "or detailed (`Usage Start Time`, `Usage End Time`).",
        "Times are Beijing time as the console writes them; they are read as UTC so that "
        "each charge stays in its billing cycle.",
        "Tax is not in the bill details (they are pre-tax); it is on the invoice only.",
    ),
)

CHINESE_FORMAT = NativeFormat(
    name="alibaba-bill-zh",
    provider=PROVIDER,
    title="Alibaba Cloud bill details (China site, Chinese headers)",
    required=(*_all_chinese(_REQUIRED), "应付金额"),
    rules=tuple(_translated(rule) for rule in _ENGLISH_RULES),
    numbers=frozenset(_all_chinese(_NUMBERS)),
    times={n: formats for name, formats in _TIMES.items() for n in chinese(name)},
    keep=frozenset(chinese("Usage Unit")),
    notes=(
        "The English rules with the header translated: 账期 = Billing Cycle, 应付金额 = "
        "Pretax Amount, 官网价 (原价 in older exports) = Pretax Gross Amount, 优惠金额 = "
        "Invoice Discount, 优惠券抵扣 = Deducted By Coupons, 实例标签 = Instance Tag.",
        "Values are matched in either language: 预付费 / 包年包月 = Subscription, 退款 = "
        "Refund, 调账 = Adjustment.",
        "Columns no rule reads keep their Chinese names: 财务单元 → `x_财务单元`.",
    ),
)

FORMATS = (ENGLISH, CHINESE_FORMAT)
