"""scheduled rounds and notifications

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-28 10:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("round", schema=None) as batch_op:
        batch_op.add_column(sa.Column("schedule_key", sa.String(length=150), nullable=True))
        batch_op.create_unique_constraint("uq_round_schedule_key", ["schedule_key"])

    with op.batch_alter_table("timer", schema=None) as batch_op:
        batch_op.create_index("ix_timer_lock_expires_at", ["lock_expires_at"], unique=False)

    op.create_table(
        "notification",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("user_id", sa.String(length=100), nullable=True),
        sa.Column("role", sa.String(length=30), nullable=True),
        sa.Column("region", sa.String(length=6), nullable=True),
        sa.Column("uscc", sa.String(length=18), nullable=True),
        sa.Column("instance_id", sa.String(length=36), nullable=True),
        sa.Column("bpmn_id", sa.String(length=100), nullable=True),
        sa.Column("kind", sa.String(length=30), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("read_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("read_by", sa.String(length=100), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("notification", schema=None) as batch_op:
        batch_op.create_index("ix_notification_address", ["role", "region"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_notification_instance_id"), ["instance_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_notification_user_id"), ["user_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_notification_uscc"), ["uscc"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("notification", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_notification_uscc"))
        batch_op.drop_index(batch_op.f("ix_notification_user_id"))
        batch_op.drop_index(batch_op.f("ix_notification_instance_id"))
        batch_op.drop_index("ix_notification_address")
    op.drop_table("notification")
    with op.batch_alter_table("timer", schema=None) as batch_op:
        batch_op.drop_index("ix_timer_lock_expires_at")
    with op.batch_alter_table("round", schema=None) as batch_op:
        batch_op.drop_constraint("uq_round_schedule_key", type_="unique")
        batch_op.drop_column("schedule_key")
