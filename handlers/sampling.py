"""Reproducible spot-check draws (实地抽查): the seed is recorded so an auditor can redo them."""

from __future__ import annotations

import random
from typing import Any

from engine.registry import operator


def draw_value(seed: str, key: str = "") -> float:
    """Return the deterministic draw in [0, 1) for (seed, key)."""
    return random.Random(f"{seed}:{key}").random()


@operator("sampling.draw")
def draw(*, seed: str, rate: float, flagged: bool = False, key: str = "") -> dict[str, Any]:
    """Decide whether one application is spot-checked: always when flagged, else by lot."""
    if not 0 <= rate <= 1:
        raise ValueError(f"rate must be within [0, 1]: {rate}")
    value = draw_value(seed, key)
    flagged = bool(flagged)
    selected = flagged or value < rate
    if flagged:
        reason = "列为重点关注对象，必须实地抽查"
    elif selected:
        reason = f"随机抽中：抽签值 {value:.4f} 小于抽查比例 {rate:.0%}"
    else:
        reason = f"未抽中：抽签值 {value:.4f} 不小于抽查比例 {rate:.0%}"
    return {
        "selected": selected,
        "seed": seed,
        "key": key,
        "rate": rate,
        "draw": value,
        "flagged": flagged,
        "reason": reason,
    }
