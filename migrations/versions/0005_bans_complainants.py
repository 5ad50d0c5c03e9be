"""Article 12 bans and P6 complainant identities (kept apart from case data)

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01 12:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "ban",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("uscc", sa.String(length=18), nullable=False),
        sa.Column("starts_on", sa.Date(), nullable=False),
        sa.Column("ends_on", sa.Date(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("basis", sa.String(length=50), nullable=False),
        sa.Column("instance_id", sa.String(length=36), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=100), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_ban_uscc_ends_on", "ban", ["uscc", "ends_on"], unique=False)
    op.create_table(
        "complainant",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("instance_id", sa.String(length=36), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("id_number", sa.String(length=30), nullable=False),
        sa.Column("contact", sa.String(length=100), nullable=False),
        sa.Column("authority", sa.String(length=30), nullable=False),
        sa.Column("region", sa.String(length=6), nullable=True),
        sa.Column("filed_by", sa.String(length=100), nullable=False),
        sa.Column("filed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("instance_id", name="uq_complainant_instance"),
    )
    op.create_index("ix_complainant_filed_by", "complainant", ["filed_by"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_complainant_filed_by", table_name="complainant")
    op.drop_table("complainant")
    op.drop_index("ix_ban_uscc_ends_on", table_name="ban")
    op.drop_table("ban")
