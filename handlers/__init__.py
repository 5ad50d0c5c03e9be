"""Business rules as pure handlers; importing this package fills the operator registry."""

from handlers import (
    deadlines,
    eligibility,
    lifecycle,
    little_giant,
    notify,
    preview,
    qualification,
    region,
    rules,
    sampling,
    sanctions,
    scoring,
    size_class,
    specialized,
)

__all__ = [
    "deadlines",
    "eligibility",
    "lifecycle",
    "little_giant",
    "notify",
    "preview",
    "qualification",
    "region",
    "rules",
    "sampling",
    "sanctions",
    "scoring",
    "size_class",
    "specialized",
]
