"""qualification lifecycle: renewal eligibility, status change (who/why/when), lifecycle instance

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-28 12:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("qualification", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("renewal_eligible", sa.Boolean(), nullable=False, server_default=sa.true())
        )
        batch_op.add_column(
            sa.Column("source", sa.String(length=20), nullable=False, server_default="evaluation")
        )
        batch_op.add_column(sa.Column("lifecycle_instance_id", sa.String(length=36), nullable=True))
        batch_op.add_column(sa.Column("status_reason", sa.Text(), nullable=True))
        batch_op.add_column(
            sa.Column("status_changed_at", sa.DateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(sa.Column("status_changed_by", sa.String(length=100), nullable=True))
        batch_op.add_column(sa.Column("info_updated_on", sa.Date(), nullable=True))
        batch_op.create_index(
            "ix_qualification_status_expires", ["status", "expires_on"], unique=False
        )
        batch_op.create_index(
            "ix_qualification_lifecycle_instance_id", ["lifecycle_instance_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("qualification", schema=None) as batch_op:
        batch_op.drop_index("ix_qualification_lifecycle_instance_id")
        batch_op.drop_index("ix_qualification_status_expires")
        for column in (
            "info_updated_on",
            "status_changed_by",
            "status_changed_at",
            "status_reason",
            "lifecycle_instance_id",
            "source",
            "renewal_eligible",
        ):
            batch_op.drop_column(column)
