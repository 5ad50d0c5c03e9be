import pytest


def test_same_seed_and_key_give_the_same_draw(call):
    first = call("sampling.draw", seed="2025-H2-nanchang", rate=0.2, key="case-17")
    again = call("sampling.draw", seed="2025-H2-nanchang", rate=0.2, key="case-17")
    assert first == again
    assert 0 <= first["draw"] < 1


def test_draw_is_a_known_value_for_a_fixed_seed(call):
    result = call("sampling.draw", seed="audit-seed", rate=0.2, key="A")
    # random.Random(f"{seed}:{key}").random(): an auditor can redo the draw anywhere
    assert result["draw"] == 0.8168322489850889


def test_different_keys_give_different_draws(call):
    draws = {call("sampling.draw", seed="s", rate=0.2, key=str(k))["draw"] for k in range(50)}
    assert len(draws) == 50


def test_about_a_fifth_of_ten_thousand_keys_is_selected(call):
    selected = sum(
        call("sampling.draw", seed="round-2025-2", rate=0.2, key=f"app-{k}")["selected"]
        for k in range(10_000)
    )
    assert 1850 <= selected <= 2150


def test_flagged_applications_are_always_selected(call):
    result = call("sampling.draw", seed="s", rate=0.0, key="x", flagged=True)
    assert result["selected"] is True
    assert "重点关注" in result["reason"]


def test_reason_explains_the_lot(call):
    result = call("sampling.draw", seed="s", rate=1.0, key="x")
    assert result["selected"] is True
    assert result["reason"].startswith("随机抽中")
    assert call("sampling.draw", seed="s", rate=0.0, key="x")["reason"].startswith("未抽中")


def test_rate_outside_zero_to_one_is_refused(call):
    with pytest.raises(ValueError, match="rate"):
        call("sampling.draw", seed="s", rate=20)
