import pytest

from handlers.uscc import CHARSET, check_char, is_valid_uscc, make_uscc


def test_a_published_example_code_is_valid():
    assert is_valid_uscc("91350100M000100Y43")


def test_make_uscc_appends_a_check_character_that_validates():
    for prefix in ("91360100MA35A1B2C", "9136010000000000X", "12360000491010250"):
        code = make_uscc(prefix)
        assert len(code) == 18
        assert is_valid_uscc(code)


def test_any_single_character_change_breaks_the_checksum():
    code = make_uscc("91360100MA35A1B2C")
    for char in CHARSET:
        if char != code[17]:
            assert not is_valid_uscc(code[:17] + char)


def test_check_value_31_maps_to_zero():
    prefixes = (f"913601{n:011d}" for n in range(2000))
    zero = next(p for p in prefixes if check_char(p) == "0")
    assert is_valid_uscc(zero + "0")


@pytest.mark.parametrize(
    "code", [None, "", "91360100MA35A1B2", "91360100MA35A1B2CJX", "91360100MA35A1B2CI"]
)
def test_malformed_codes_are_invalid(code):
    assert not is_valid_uscc(code)


def test_make_uscc_rejects_characters_outside_the_charset():
    with pytest.raises(ValueError, match="17 characters"):
        make_uscc("91360100MA35A1B2I")
