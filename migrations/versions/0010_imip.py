"""imip: invitees' answers (iMIP REPLY, answer links), counter-proposals, inbound mail and its quarantine

Revision ID: 0010_imip
Revises: 0009_party
Create Date: 2026-12-01 15:00:00

`inbound_message.key` (Message-ID, or a hash of the bytes) is unique: a message delivered twice is
recognised. `calendar_link` keeps only the SHA-256 of each answer-link token.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0010_imip'
down_revision = '0009_party'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('inbound_message',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=300), nullable=False),
    sa.Column('source', sa.String(length=10), nullable=False),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('summary', sa.Text(), nullable=False),
    sa.Column('from_addr', sa.String(length=320), nullable=False),
    sa.Column('subject', sa.String(length=300), nullable=False),
    sa.Column('method', sa.String(length=20), nullable=False),
    sa.Column('uid', sa.String(length=300), nullable=False),
    sa.Column('interview_id', sa.Integer(), nullable=True),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('raw', sa.LargeBinary(), nullable=True),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['interview_id'], ['interview.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('key')
    )
    with op.batch_alter_table('inbound_message', schema=None) as batch_op:
        batch_op.create_index('ix_inbound_message_status_received', ['status', 'received_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_inbound_message_interview_id'), ['interview_id'], unique=False)

    op.create_table('invitation_reply',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('interview_id', sa.Integer(), nullable=False),
    sa.Column('inbound_id', sa.Integer(), nullable=True),
    sa.Column('email', sa.String(length=254), nullable=False),
    sa.Column('name', sa.String(length=120), nullable=False),
    sa.Column('kind', sa.String(length=10), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('partstat', sa.String(length=20), nullable=False),
    sa.Column('comment', sa.Text(), nullable=False),
    sa.Column('sequence', sa.Integer(), nullable=False),
    sa.Column('stale_on_arrival', sa.Boolean(), nullable=False),
    sa.Column('answered_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('source', sa.String(length=10), nullable=False),
    sa.ForeignKeyConstraint(['inbound_id'], ['inbound_message.id'], ),
    sa.ForeignKeyConstraint(['interview_id'], ['interview.id'], ),
    sa.ForeignKeyConstraint(['user_id'], ['user_account.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('invitation_reply', schema=None) as batch_op:
        batch_op.create_index('ix_invitation_reply_interview_email', ['interview_id', 'email'], unique=False)
        batch_op.create_index(batch_op.f('ix_invitation_reply_inbound_id'), ['inbound_id'], unique=False)

    op.create_table('counter_proposal',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('interview_id', sa.Integer(), nullable=False),
    sa.Column('inbound_id', sa.Integer(), nullable=True),
    sa.Column('email', sa.String(length=254), nullable=False),
    sa.Column('name', sa.String(length=120), nullable=False),
    sa.Column('kind', sa.String(length=10), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('proposed_start', sa.DateTime(timezone=True), nullable=False),
    sa.Column('proposed_end', sa.DateTime(timezone=True), nullable=False),
    sa.Column('comment', sa.Text(), nullable=False),
    sa.Column('sequence', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('decided_by_id', sa.Integer(), nullable=True),
    sa.Column('decision_comment', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['decided_by_id'], ['user_account.id'], ),
    sa.ForeignKeyConstraint(['inbound_id'], ['inbound_message.id'], ),
    sa.ForeignKeyConstraint(['interview_id'], ['interview.id'], ),
    sa.ForeignKeyConstraint(['user_id'], ['user_account.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('counter_proposal', schema=None) as batch_op:
        batch_op.create_index('ix_counter_proposal_interview_status', ['interview_id', 'status'], unique=False)
        batch_op.create_index(batch_op.f('ix_counter_proposal_inbound_id'), ['inbound_id'], unique=False)

    op.create_table('calendar_link',
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('interview_id', sa.Integer(), nullable=False),
    sa.Column('email', sa.String(length=254), nullable=False),
    sa.Column('name', sa.String(length=120), nullable=False),
    sa.Column('sequence', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['interview_id'], ['interview.id'], ),
    sa.PrimaryKeyConstraint('token_hash')
    )
    with op.batch_alter_table('calendar_link', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_calendar_link_interview_id'), ['interview_id'], unique=False)


def downgrade():
    with op.batch_alter_table('calendar_link', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_calendar_link_interview_id'))
    op.drop_table('calendar_link')
    with op.batch_alter_table('counter_proposal', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_counter_proposal_inbound_id'))
        batch_op.drop_index('ix_counter_proposal_interview_status')
    op.drop_table('counter_proposal')
    with op.batch_alter_table('invitation_reply', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_invitation_reply_inbound_id'))
        batch_op.drop_index('ix_invitation_reply_interview_email')
    op.drop_table('invitation_reply')
    with op.batch_alter_table('inbound_message', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_inbound_message_interview_id'))
        batch_op.drop_index('ix_inbound_message_status_received')
    op.drop_table('inbound_message')
