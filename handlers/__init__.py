"""Business rules as pure handlers; importing this package fills the operator registry."""

from handlers import (
    deadlines,
    eligibility,
    qualification,
    region,
    rules,
    sampling,
    scoring,
    size_class,
)

__all__ = [
    "deadlines",
    "eligibility",
    "qualification",
    "region",
    "rules",
    "sampling",
    "scoring",
    "size_class",
]
