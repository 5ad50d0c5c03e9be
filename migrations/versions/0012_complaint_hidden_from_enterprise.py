"""A complaint is withheld from the enterprise it concerns until it is asked to respond

第十三条 protects the complainant: the enterprise a complaint names used to find the case in its
list of cases (and its history: who filed it, what it says) the moment it was filed, before the
authority had accepted it. `process_instance.hidden_from_enterprise` is True while the enterprise
has had no task in the case (engine/complaints.py clears it when the authority's acceptance
gives it 答复投诉); NULL for every other case, so their rows, inserts and reads are unchanged.

Existing complaints whose enterprise never had a task (awaiting acceptance, or not accepted)
are withheld here.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-01 10:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("process_instance", sa.Column("hidden_from_enterprise", sa.Boolean()))
    op.execute(
        sa.text(
            "UPDATE process_instance SET hidden_from_enterprise = :hidden "
            "WHERE process_key = 'complaint' AND NOT EXISTS (SELECT 1 FROM human_task "
            "WHERE human_task.instance_id = process_instance.id "
            "AND human_task.role = 'enterprise')"
        ).bindparams(sa.bindparam("hidden", True, type_=sa.Boolean()))
    )


def downgrade() -> None:
    with op.batch_alter_table("process_instance") as batch:
        batch.drop_column("hidden_from_enterprise")
