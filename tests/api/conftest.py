"""API test fixtures: the P1 cast of users (all diagrams, or P1 alone deployed), an open round."""

from tests.fixtures.cast import p1, p1_round, people, round_id  # noqa: F401 - fixtures
