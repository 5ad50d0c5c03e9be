import pytest

from handlers.uscc import make_uscc


def uscc(division: str) -> str:
    return make_uscc(f"91{division}MA35A1B2C")


@pytest.mark.parametrize(
    ("division", "region", "label"),
    [
        ("360111", "360100", "南昌市"),
        ("360403", "360400", "九江市"),
        ("360702", "360700", "赣州市"),
        ("361128", "361100", "上饶市"),
    ],
)
def test_city_comes_from_the_first_four_division_digits(call, division, region, label):
    result = call("region.of_uscc", uscc=uscc(division))
    assert (result["region"], result["region_label"]) == (region, label)


def test_outside_jiangxi_has_no_region(call):
    result = call("region.of_uscc", uscc=uscc("440300"))
    assert (result["region"], result["region_label"]) == (None, None)


def test_malformed_code_has_no_region(call):
    assert call("region.of_uscc", uscc="bad")["region"] is None


def test_override_argument_moves_a_district_to_ganjiang_new_area(call):
    result = call("region.of_uscc", uscc=uscc("360112"), overrides={"360112": "361200"})
    assert (result["region"], result["region_label"]) == ("361200", "赣江新区")


def test_override_table_row_moves_a_district(call, rules, edit):
    row = (
        '<rule id="region_override_360112"><inputEntry id="x1"><text>"360112"</text>'
        '</inputEntry><outputEntry id="x2"><text>"361200"</text></outputEntry></rule>'
    )
    marker = 'name="region" typeRef="string" />'  # the overrides table's output column
    edited = edit(rules, "rules/regions.dmn", marker, marker + row)
    result = call("region.of_uscc", uscc=uscc("360112"), rules=edited)
    assert result["region"] == "361200"
    assert call("region.of_uscc", uscc=uscc("360112"))["region"] == "360100"


def test_works_without_an_explicit_rule_set():
    from handlers.region import of_uscc

    assert of_uscc(uscc=uscc("360502"))["region_label"] == "新余市"
