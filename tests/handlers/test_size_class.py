import pytest

CASES = [
    # industry, employees, revenue, assets, expected
    ("industry", 300, 2000, None, "medium"),
    ("industry", 299, 2000, None, "small"),
    ("industry", 300, 1999, None, "small"),
    ("industry", 1000, 39999, None, "medium"),
    ("industry", 1000, 40000, None, "not_sme"),
    ("industry", 1500, 1500, None, "small"),  # 下划一档
    ("industry", 20, 300, None, "small"),
    ("industry", 19, 5000, None, "micro"),
    ("industry", 0, 0, None, "micro"),
    ("agriculture", None, 500, None, "medium"),
    ("agriculture", None, 49.99, None, "micro"),
    ("agriculture", None, 20000, None, "not_sme"),
    ("construction", None, 80000, 80000, "not_sme"),
    ("construction", None, 6000, 4999, "small"),
    ("real_estate_dev", None, 300000, 9000, "medium"),
    ("real_estate_dev", None, 200000, 10000, "not_sme"),
    ("leasing_business", 100, None, 8000, "medium"),
    ("leasing_business", 9, None, 10**6, "micro"),
    ("software_it", 10, 50, None, "small"),
    ("other", 299, None, None, "medium"),
    ("other", 300, None, None, "not_sme"),
    ("other", 9, 10**9, None, "micro"),
]


@pytest.mark.parametrize(("industry", "employees", "revenue", "assets", "expected"), CASES)
def test_size_thresholds(call, industry, employees, revenue, assets, expected):
    result = call(
        "size_class.classify",
        industry=industry,
        employees=employees,
        revenue=revenue,
        assets=assets,
    )
    assert result["size_class"] == expected
    assert result["missing"] == []


def test_result_names_class_industry_and_the_thresholds_that_held(call):
    result = call(
        "size_class.classify", industry="industry", employees=300, revenue=2000, assets=None
    )
    assert result["size_class_label"] == "中型"
    assert result["industry_label"] == "工业"
    assert any("中型下限全部达到" in line and "300人 ≥ 300人" in line for line in result["basis"])
    assert len(result["rule_version"]) == 12


def test_missing_figure_used_by_the_industry_is_undetermined(call):
    result = call(
        "size_class.classify", industry="industry", employees=None, revenue=2000, assets=None
    )
    assert result["size_class"] == "undetermined"
    assert result["size_class_label"] == "无法判定"
    assert result["missing"] == ["employees"]


def test_missing_assets_for_construction_is_undetermined(call):
    result = call(
        "size_class.classify", industry="construction", employees=50, revenue=100, assets=None
    )
    assert result["missing"] == ["assets"]


def test_unknown_industry_is_undetermined(call):
    result = call("size_class.classify", industry="mining", employees=1, revenue=1, assets=1)
    assert result["size_class"] == "undetermined"
    assert result["missing"] == ["industry"]


# §A of standards.md, restated independently of the DMN table: figure -> (大型, 中型, 小型)
THRESHOLDS = {
    "agriculture": {"revenue": (20000, 500, 50)},
    "industry": {"employees": (1000, 300, 20), "revenue": (40000, 2000, 300)},
    "construction": {"revenue": (80000, 6000, 300), "assets": (80000, 5000, 300)},
    "wholesale": {"employees": (200, 20, 5), "revenue": (40000, 5000, 1000)},
    "retail": {"employees": (300, 50, 10), "revenue": (20000, 500, 100)},
    "transport": {"employees": (1000, 300, 20), "revenue": (30000, 3000, 200)},
    "warehousing": {"employees": (200, 100, 20), "revenue": (30000, 1000, 100)},
    "postal": {"employees": (1000, 300, 20), "revenue": (30000, 2000, 100)},
    "accommodation": {"employees": (300, 100, 10), "revenue": (10000, 2000, 100)},
    "catering": {"employees": (300, 100, 10), "revenue": (10000, 2000, 100)},
    "info_transmission": {"employees": (2000, 100, 10), "revenue": (100000, 1000, 100)},
    "software_it": {"employees": (300, 100, 10), "revenue": (10000, 1000, 50)},
    "real_estate_dev": {"revenue": (200000, 1000, 100), "assets": (10000, 5000, 2000)},
    "property_mgmt": {"employees": (1000, 300, 100), "revenue": (5000, 1000, 500)},
    "leasing_business": {"employees": (300, 100, 10), "assets": (120000, 8000, 100)},
    "other": {"employees": (300, 100, 10)},
}
LEVELS = (("not_sme", "medium"), ("medium", "small"), ("small", "micro"))  # at, one below


def _edge_cases():
    for industry, figures in THRESHOLDS.items():
        for index, (at, below) in enumerate(LEVELS):
            bounds = {name: values[index] for name, values in figures.items()}
            yield industry, bounds, at
            yield industry, {n: v + 1 for n, v in bounds.items()}, at
            for name in bounds:
                yield industry, bounds | {name: bounds[name] - 1}, below


@pytest.mark.parametrize(("industry", "figures", "expected"), list(_edge_cases()))
def test_every_industry_at_below_and_above_each_threshold(call, industry, figures, expected):
    result = call("size_class.classify", industry=industry, **figures)
    assert result["size_class"] == expected, result["basis"]
