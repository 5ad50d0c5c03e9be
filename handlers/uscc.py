"""Unified social credit codes (统一社会信用代码, GB 32100-2015)."""

from __future__ import annotations

CHARSET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_VALUE = {char: index for index, char in enumerate(CHARSET)}
_WEIGHTS = tuple(pow(3, i, 31) for i in range(17))


def check_char(prefix17: str) -> str:
    """Return the check character of the first 17 characters of a USCC."""
    total = sum(_VALUE[char] * weight for char, weight in zip(prefix17, _WEIGHTS, strict=True))
    return CHARSET[(31 - total % 31) % 31]


def is_valid_uscc(code: str | None) -> bool:
    """Tell whether `code` is 18 characters of the USCC charset with a correct check char."""
    if not isinstance(code, str) or len(code) != 18 or any(c not in _VALUE for c in code):
        return False
    return check_char(code[:17]) == code[17]


def make_uscc(prefix17: str) -> str:
    """Append the check character to 17 USCC characters (tests and demo data)."""
    prefix17 = prefix17.upper()
    if len(prefix17) != 17 or any(c not in _VALUE for c in prefix17):
        raise ValueError(f"USCC prefix must be 17 characters of {CHARSET}: {prefix17!r}")
    return prefix17 + check_char(prefix17)


def division_code(code: str | None) -> str | None:
    """Return the 6-digit administrative division code (characters 3-8), if well formed."""
    if not isinstance(code, str) or len(code) < 8 or not code[2:8].isdigit():
        return None
    return code[2:8]
