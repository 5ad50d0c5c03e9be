"""Inbox indexes: drop ix_human_task_inbox, replace ix_human_task_uscc with an ordered index

ix_human_task_inbox was a prefix of ix_human_task_inbox_region_order, and every task write
updated both. An enterprise's inbox was served by the role index, scanning every enterprise's
open tasks for its own; ix_human_task_inbox_uscc_order (uscc first) finds its few tasks in
inbox order and serves every other lookup by enterprise as ix_human_task_uscc did.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-28 00:00:00
"""

from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

USCC_ORDER = ["uscc", "state", "role", "due_at", "created_at", "id"]


def upgrade() -> None:
    op.drop_index("ix_human_task_inbox", table_name="human_task")
    op.create_index("ix_human_task_inbox_uscc_order", "human_task", USCC_ORDER, unique=False)
    op.drop_index("ix_human_task_uscc", table_name="human_task")


def downgrade() -> None:
    op.create_index("ix_human_task_uscc", "human_task", ["uscc"], unique=False)
    op.drop_index("ix_human_task_inbox_uscc_order", table_name="human_task")
    op.create_index(
        "ix_human_task_inbox", "human_task", ["state", "role", "region", "due_at"], unique=False
    )
