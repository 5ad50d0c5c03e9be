"""One round of a procedure per opening day

The province's 开放批次 (`POST /rounds`) and the schedulers (processes/rounds.json) both open
rounds. Each checks that the procedure has no round opening that day, but two of them at the
same instant could both pass the check: an enterprise could then apply in both rounds. A unique
index on (process_key, opens_on) makes the second one fail (409 naming the existing round).

A database that already holds two rounds of a procedure on the same day cannot take the index:
the upgrade stops naming them, to be merged or moved by hand first.

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-29 23:30:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    duplicates = (
        op.get_bind()
        .execute(
            sa.text(
                "SELECT process_key, opens_on, COUNT(*) FROM round "
                "GROUP BY process_key, opens_on HAVING COUNT(*) > 1 ORDER BY process_key, opens_on"
            )
        )
        .all()
    )
    if duplicates:
        listed = "; ".join(f"{key} opening {day}: {n} rounds" for key, day, n in duplicates)
        raise RuntimeError(
            f"rounds of one procedure on the same day ({listed}): merge or move them, then "
            "run tidu db upgrade again"
        )
    op.create_index("uq_round_process_opens_on", "round", ["process_key", "opens_on"], unique=True)


def downgrade() -> None:
    op.drop_index("uq_round_process_opens_on", table_name="round")
