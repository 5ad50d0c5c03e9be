"""The figures an enterprise reports: one definition per form field (label, unit, bounds).

The self-evaluation forms (``processes/forms/*_self_evaluation.schema.json``) are generated
from these definitions (:func:`form_schema`), the rules read them by name, and the score
preview checks submitted values against them (:func:`check`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from engine.registry import data_check
from handlers.dmn import to_fraction


@dataclass(frozen=True)
class Field:
    """One reported figure or declaration."""

    title: str
    kind: str  # number | integer | boolean | choice | multi
    unit: str = ""  # 万元 人 年 项 % 名 (display and form description)
    description: str = ""
    minimum: int | None = 0
    maximum: int | None = None
    choices: tuple[tuple[Any, str], ...] = ()

    def choice_label(self, value: Any) -> str | None:
        return next((label for code, label in self.choices if code == value), None)


INDUSTRIES = (
    ("agriculture", "农、林、牧、渔业"),
    ("industry", "工业（采矿业，制造业，电力、热力、燃气及水生产和供应业）"),
    ("construction", "建筑业"),
    ("wholesale", "批发业"),
    ("retail", "零售业"),
    ("transport", "交通运输业（不含铁路运输业）"),
    ("warehousing", "仓储业"),
    ("postal", "邮政业"),
    ("accommodation", "住宿业"),
    ("catering", "餐饮业"),
    ("info_transmission", "信息传输业（电信、互联网和相关服务）"),
    ("software_it", "软件和信息技术服务业"),
    ("real_estate_dev", "房地产开发经营"),
    ("property_mgmt", "物业管理"),
    ("leasing_business", "租赁和商务服务业"),
    (
        "other",
        "其他未列明行业（科学研究和技术服务业，水利、环境和公共设施管理业，居民服务、"
        "修理和其他服务业，社会工作，文化、体育和娱乐业等）",
    ),
)
IP_CLASSES = (
    ("high_value_class1", "Ⅰ类高价值知识产权（至少 1 项）"),
    ("own_class1", "自主研发Ⅰ类知识产权（至少 1 项）"),
    ("class1", "Ⅰ类知识产权（至少 1 项）"),
    ("class2", "Ⅱ类知识产权（至少 1 项）"),
    ("none", "无"),
)
RD_LEVELS = (
    ("national", "国家级"),
    ("provincial", "省级"),
    ("city", "市级"),
    ("below_city", "市级以下"),
    ("none", "未建立"),
)


def _money(title: str, description: str = "", minimum: int | None = 0) -> Field:
    return Field(title, "number", "万元", description, minimum)


def _yes(title: str, description: str = "") -> Field:
    return Field(title, "boolean", description=description, minimum=None)


FIELDS: dict[str, Field] = {
    # 第四条 declarations and 划型 figures (every tier)
    "independent_legal_person": _yes("具有独立法人资格", "在江西省内依法设立、具有独立法人资格"),
    "on_abnormal_list": _yes("列入经营异常名录"),
    "on_serious_dishonesty_list": _yes("列入严重失信主体名单"),
    "prohibited_product": _yes("主导产品属于禁止、限制或淘汰类"),
    "major_accident_3y": _yes(
        "近三年发生重大事故", "重大安全（含网络安全、数据安全）、质量、环境污染等事故"
    ),
    "tax_violation_3y": _yes("近三年存在偷漏税等违法违规行为"),
    "industry": Field(
        "所属行业",
        "choice",
        description="按《中小企业划型标准规定》选择",
        minimum=None,
        choices=INDUSTRIES,
    ),
    "employees": Field(
        "从业人员", "integer", "人", "期末从业人员数（职工总数）", maximum=10_000_000
    ),
    "revenue_y1": _money("上年度营业收入"),
    "revenue_y2": _money("前年度营业收入", "用于计算前年度研发费用占比"),
    "assets_y1": _money("上年末资产总额"),
    "liabilities_y1": _money("上年末负债总额", "用于计算资产负债率"),
    "net_profit_y1": _money("上年度净利润", "亏损填负数；用于计算净利润率", minimum=None),
    "main_revenue_y1": _money("上年度主营业务收入"),
    "main_revenue_y2": _money("前年度主营业务收入"),
    "main_revenue_y3": _money("大前年度主营业务收入", "用于计算近2年主营业务收入平均增长率"),
    "rd_expense_y1": _money("上年度研发费用总额"),
    "rd_expense_y2": _money("前年度研发费用总额"),
    "rd_staff": Field("研发人员", "integer", "人", "上年度研发人员数", maximum=10_000_000),
    # innovative
    "ip_class": Field(
        "与主导产品相关的有效知识产权",
        "choice",
        minimum=None,
        choices=IP_CLASSES,
        description="选择所拥有的最高类别",
    ),
    "strategic_emerging": _yes("主导产品属于战略性新兴产业", "属于《战略性新兴产业分类》"),
    "sci_award_3y": _yes("近三年获得省级以上科技奖励"),
    "valid_honours": _yes("拥有有效期内的高新技术企业等荣誉"),
    "provincial_rd_institution": _yes("拥有省部级以上研发机构"),
    "equity_financing_3y": _money("近三年新增股权融资总额", "合格机构投资者的实缴额"),
    # specialized and little giant
    "niche_years": Field(
        "从事特定细分市场年限", "integer", "年", "截至上年末，满整年计", maximum=200
    ),
    "product_field": Field(
        "主导产品所属领域",
        "choice",
        minimum=None,
        choices=(
            (
                "chain_key_link",
                "在产业链供应链关键环节及关键领域“补短板”“锻长板”“填空白”取得实际成效",
            ),
            (
                "six_foundations",
                "属于工业“六基”领域、中华老字号名录或企业主导产品服务产业链重点龙头企业",
            ),
            ("none", "以上均不属于"),
        ),
    ),
    "digital_level": Field(
        "数字化水平",
        "choice",
        minimum=None,
        choices=(
            (1, "一级"),
            (2, "二级"),
            (3, "三级"),
            (4, "四级"),
        ),
        description="按《中小企业数字化水平评测指标》评测的等级",
    ),
    "quality_award": _yes("获得省级以上质量奖荣誉"),
    "quality_certified": _yes("建立质量管理体系，获得ISO9001等质量管理体系认证证书"),
    "own_brand": _yes("拥有自主品牌", "拥有直接面向市场并具有竞争优势的自主品牌"),
    "standard_setting": _yes("参与制修订标准", "参与制修订国际、国家或行业标准"),
    "jx_industry": Field(
        "属于本省重点产业领域",
        "choice",
        minimum=None,
        choices=(
            ("provincial_key", "A 江西省“2+6+N”重点产业领域"),
            ("city_leading", "B 市级主导产业"),
            ("county_leading", "C 县（市、区）主导产业"),
            ("none", "D 不属于"),
        ),
        description="单选，取符合的最高项",
    ),
    "jx_operations": Field(
        "企业特色化生产经营",
        "multi",
        minimum=None,
        choices=(
            ("two_integration_demo", "A 近三年获省级以上两化融合示范企业和管理创新示范企业称号"),
            ("green_factory", "B 近三年获省级以上绿色工厂称号"),
            (
                "military_qualification",
                "C 武器装备科研生产单位保密资格、武器装备科研生产许可（备案）或装备承制单位资格",
            ),
            ("listed", "D 企业已上市"),
            ("chain_leader_supplier", "E 为产业链龙头企业配套"),
            ("listing_plan", "F 有上市计划且纳入映山红企业名单"),
            ("contest_award", "G 近三年在“创客中国”、工业设计大赛等市级以上创新创业大赛中获奖"),
            (
                "industrial_cluster",
                "H 属于省级、国家级（培育、特色）产业集群、中小企业特色产业集群"
                "或小型微型企业创业创新示范基地内的企业",
            ),
            ("none", "I 不属于"),
        ),
        description="可多选（累计得分，最高6分）；“不属于”不能与其他项同选",
    ),
    "jx_product": Field(
        "主导产品特色化",
        "multi",
        minimum=None,
        choices=(
            ("intl_certification", "A 产品通过发达国家和地区产品认证（国际标准协会行业认证）"),
            ("jiangxi_quality_product", "B 荣评江西省优秀新产品或“赣出精品”"),
            ("first_set_equipment", "C 纳入江西省首台（套）重大技术装备推广应用指导目录"),
            ("top10_market_share", "D 细分市场占有率达到全省前十位"),
            ("special_process", "E 掌握特色工艺、技术、配方或服务"),
            ("none", "F 不属于"),
        ),
        description="可多选（累计得分，最高5分）；“不属于”不能与其他项同选",
    ),
    "rd_institution_level": Field(
        "建立研发机构级别",
        "choice",
        minimum=None,
        choices=RD_LEVELS,
        description="自建或与高等院校、科研机构联合建立的研发机构的最高级别",
    ),
    "provincial_award_rank_3y": Field(
        "近三年省级科技奖励中的排名",
        "integer",
        "名",
        "获奖单位中的最好排名；未获奖不填",
        minimum=1,
        maximum=1000,
    ),
    "national_award_rank_3y": Field(
        "近三年国家级科技奖励中的排名",
        "integer",
        "名",
        "获奖单位中的最好排名；未获奖不填",
        minimum=1,
        maximum=1000,
    ),
    "equity_financing_2y": _money("近两年新增股权融资总额", "合格机构投资者的实缴额"),
    "maker_china_top500_3y": _yes("近三年进入“创客中国”全国500强企业组名单"),
    "maker_china_top50_3y": _yes("近三年进入“创客中国”全国50强企业组名单"),
    "info_system": _yes(
        "核心业务采用信息系统支撑",
        "研发设计、生产制造、供应链管理等环节，至少1项核心业务采用信息系统支撑",
    ),
    "management_system_certified": _yes("取得相关管理体系认证"),
    "intl_product_certified": _yes("产品通过发达国家和地区产品认证", "国际标准协会行业认证"),
    "national_market_share": Field(
        "主导产品全国细分市场占有率", "number", "%", "百分数，如 12.5 表示 12.5%", maximum=100
    ),
    "class1_ip_applied": Field(
        "已实际应用并产生经济效益的Ⅰ类知识产权",
        "integer",
        "项",
        "与主导产品相关",
        maximum=1_000_000,
    ),
    "chain_key_role": _yes(
        "位于产业链关键环节并发挥“补短板”“锻长板”“填空白”作用",
        "围绕重点产业链实现关键基础技术和产品的产业化应用",
    ),
    "key_field": Field(
        "主导产品所属领域",
        "choice",
        minimum=None,
        choices=(
            (
                "core_foundation",
                "制造业核心基础零部件、元器件、关键软件、先进基础工艺、关键基础材料和产业技术基础",
            ),
            ("manufacturing_key", "符合制造强国战略十大重点产业领域"),
            (
                "network_power",
                "属于网络强国建设的信息基础设施、关键核心技术、网络安全、数据安全领域等产品",
            ),
            ("none", "以上均不属于"),
        ),
    ),
}
SIZE_FIELDS = {"employees": "employees", "revenue": "revenue_y1", "assets": "assets_y1"}
ELIGIBILITY_FIELDS = (
    "independent_legal_person",
    "on_abnormal_list",
    "on_serious_dishonesty_list",
    "prohibited_product",
    "major_accident_3y",
    "tax_violation_3y",
)
COMMON_FIELDS = (*ELIGIBILITY_FIELDS, "industry", *SIZE_FIELDS.values())


NONE_WITH_OTHERS = "“不属于”不能与其他选项同时选择"


def _none_with_others(field: Field, value: Any) -> bool:
    """A multi-select answer naming "none" (不属于) together with other options."""
    return field.kind == "multi" and isinstance(value, list) and "none" in value and len(value) > 1


def _kind_error(field: Field, value: Any) -> str | None:
    if field.kind == "boolean":
        return None if isinstance(value, bool) else "应为是/否（true/false）"
    if field.kind in {"choice", "multi"}:
        values = value if field.kind == "multi" else [value]
        if field.kind == "multi" and not isinstance(value, list):
            return "应为选项列表"
        codes = [code for code, _ in field.choices]
        if any(isinstance(v, bool) or v not in codes for v in values):
            return "不是允许的取值"
        return NONE_WITH_OTHERS if _none_with_others(field, value) else None
    number = None if isinstance(value, bool | str) else to_fraction(value)
    if number is None or (field.kind == "integer" and number.denominator != 1):
        return "应为整数" if field.kind == "integer" else "应为数字"
    if field.minimum is not None and number < field.minimum:
        return f"不能小于 {field.minimum}"
    if field.maximum is not None and number > field.maximum:
        return f"不能大于 {field.maximum}"
    return None


def _impossible(figures: Mapping[str, Any]) -> dict[str, str]:
    """Cross-field checks: figures that cannot hold together."""
    errors = {}
    message = "主营业务收入不能大于营业收入"
    pairs = [(f"main_revenue_y{y}", f"revenue_y{y}", message) for y in (1, 2)]
    pairs.append(("rd_staff", "employees", "研发人员不能多于从业人员"))
    for part, whole, message in pairs:
        small, large = to_fraction(figures.get(part)), to_fraction(figures.get(whole))
        if small is not None and large is not None and small > large:
            errors[part] = message
    return errors


@data_check
def figures_hold_together(data: Mapping[str, Any]) -> dict[str, list[str]]:
    """The checks of the preview that a JSON schema cannot express, on every submitted task
    form that reports the figures (self-evaluations, renewals, information updates): figures
    that cannot hold together, and "none" (不属于) chosen with other options of a multi-select
    (the other options would still score)."""
    errors = {
        name: [NONE_WITH_OTHERS]
        for name, field in FIELDS.items()
        if _none_with_others(field, data.get(name))
    }
    for name, message in _impossible(data).items():
        errors.setdefault(name, []).append(message)
    return errors


def check(
    figures: dict[str, Any], *, allowed: frozenset[str] = frozenset()
) -> dict[str, list[str]]:
    """Return {field: [message]} for unknown fields, wrong types, out-of-range values."""
    errors: dict[str, list[str]] = {}
    for name, value in figures.items():
        field = FIELDS.get(name)
        if field is None:
            if name not in allowed:
                errors[name] = ["包含表单中不存在的字段"]
            continue
        message = None if value is None else _kind_error(field, value)
        if message:
            errors[name] = [message]
    valid = {name: value for name, value in figures.items() if name not in errors}
    for name, message in _impossible(valid).items():
        errors.setdefault(name, []).append(message)
    return errors


def display(name: str, value: Any) -> str | None:
    """Show a reported value with its unit or choice label (None when absent)."""
    field = FIELDS.get(name)
    if value is None:
        return None
    if isinstance(value, bool):
        return "是" if value else "否"
    if field is not None and field.kind == "choice":
        return field.choice_label(value) or str(value)
    if field is not None and field.kind == "multi" and isinstance(value, list):
        return "、".join(field.choice_label(v) or str(v) for v in value) or "（未选）"
    number = to_fraction(value)
    if number is None:
        return str(value)
    text = str(number.numerator) if number.denominator == 1 else f"{float(number):g}"
    unit = field.unit if field else ""
    return f"第{text}名" if unit == "名" else f"{text}{unit}"


def _property(field: Field) -> dict[str, Any]:
    prop: dict[str, Any] = {"title": field.title}
    unit = f"单位：{field.unit}" if field.unit and field.unit != "名" else ""
    description = "；".join(part for part in (field.description, unit) if part)
    if description:
        prop["description"] = description
    if field.kind in {"number", "integer", "boolean"}:
        prop["type"] = field.kind
    if field.kind == "choice":
        prop["oneOf"] = [{"const": code, "title": label} for code, label in field.choices]
    if field.kind == "multi":
        items = [{"const": code, "title": label} for code, label in field.choices]
        prop |= {"type": "array", "uniqueItems": True, "items": {"oneOf": items}}
    if field.kind in {"number", "integer"} and field.minimum is not None:
        prop["minimum"] = field.minimum
    if field.maximum is not None:
        prop["maximum"] = field.maximum
    return prop


EVIDENCE = {
    "type": "array",
    "title": "佐证材料",
    "minItems": 1,
    "description": "上传的佐证材料文件（系统校验并计算哈希）",
    "items": {"type": "string", "format": "evidence-file", "title": "佐证材料文件"},
}


def form_schema(title: str, description: str, names: list[str], optional: set[str]) -> dict:
    """Build a self-evaluation form (JSON Schema) from field definitions, in `names` order."""
    properties = {name: _property(FIELDS[name]) for name in names} | {"evidence": EVIDENCE}
    required = [name for name in names if name not in optional] + ["evidence"]
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": title,
        "description": description,
        "type": "object",
        "properties": properties,
        "required": required,
        "additionalProperties": False,
    }
