"""message outbox and deliveries; inbox ordering indexes

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-28 11:00:00
"""

from alembic import op
import sqlalchemy as sa


revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('message',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('payload', sa.JSON(), nullable=False),
    sa.Column('correlation', sa.JSON(), nullable=False),
    sa.Column('broadcast', sa.Boolean(), nullable=False),
    sa.Column('sender_instance_id', sa.String(length=36), nullable=True),
    sa.Column('sent_by', sa.String(length=100), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('delivered_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('message', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_message_name'), ['name'], unique=False)
        batch_op.create_index(batch_op.f('ix_message_status'), ['status'], unique=False)

    op.create_table('message_delivery',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('message_id', sa.String(length=36), nullable=False),
    sa.Column('instance_id', sa.String(length=36), nullable=False),
    sa.Column('delivered_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['message_id'], ['message.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('message_id', 'instance_id')
    )
    with op.batch_alter_table('message_delivery', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_message_delivery_instance_id'), ['instance_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_message_delivery_message_id'), ['message_id'], unique=False)


    # inbox: equality on state/role(/region), then the inbox order, so LIMIT reads an index range
    op.create_index('ix_human_task_inbox_region_order', 'human_task',
                    ['state', 'role', 'region', 'due_at', 'created_at', 'id'])
    op.create_index('ix_human_task_inbox_role_order', 'human_task', ['state', 'role', 'due_at', 'created_at', 'id'])


def downgrade() -> None:
    op.drop_index('ix_human_task_inbox_role_order', table_name='human_task')
    op.drop_index('ix_human_task_inbox_region_order', table_name='human_task')
    op.drop_table('message_delivery')
    op.drop_table('message')
