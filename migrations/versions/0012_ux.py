"""ux: idempotent POSTs (form tokens, Idempotency-Key) and what became of each message

Revision ID: 0012_ux
Revises: 0011_security
Create Date: 2026-12-01 15:00:00

`idempotency_key`: one row per (scope, owner, key); inserted with the record a POST creates, so a
repeat finds it and replays the stored answer. `outbox_message` gains `transport` (smtp or the development catch-all), the record it is about
(`entity_type`, `entity_id`) and `refused` (recipients the server refused, with its answer).
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0012_ux'
down_revision = '0011_security'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'idempotency_key',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('scope', sa.String(length=10), nullable=False),
        sa.Column('owner', sa.String(length=40), nullable=False),
        sa.Column('key', sa.String(length=200), nullable=False),
        sa.Column('method', sa.String(length=10), nullable=False),
        sa.Column('path', sa.String(length=300), nullable=False),
        sa.Column('fingerprint', sa.String(length=64), nullable=False),
        sa.Column('status_code', sa.Integer(), nullable=True),
        sa.Column('content_type', sa.String(length=100), nullable=True),
        sa.Column('location', sa.String(length=500), nullable=True),
        sa.Column('body', sa.LargeBinary(), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('scope', 'owner', 'key', name='uq_idempotency_key'),
    )
    with op.batch_alter_table('outbox_message', schema=None) as batch_op:
        batch_op.add_column(sa.Column('transport', sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column('entity_type', sa.String(length=40), nullable=True))
        batch_op.add_column(sa.Column('entity_id', sa.String(length=40), nullable=True))
        batch_op.add_column(sa.Column('refused', sa.JSON(), nullable=True))
        batch_op.create_index('ix_outbox_message_entity', ['entity_type', 'entity_id'], unique=False)


def downgrade():
    with op.batch_alter_table('outbox_message', schema=None) as batch_op:
        batch_op.drop_index('ix_outbox_message_entity')
        batch_op.drop_column('refused')
        batch_op.drop_column('entity_id')
        batch_op.drop_column('entity_type')
        batch_op.drop_column('transport')
    op.drop_table('idempotency_key')
