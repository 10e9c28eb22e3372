"""party: personal links, the party's answers, rectification proof, the signed undertaking, feedback;
SMS rows in the outbox

Revision ID: 0009_party
Revises: 0008_integration
Create Date: 2026-12-01 15:00:00

`party_link` keeps hashes of each link's token and access code (the secrets derive from `nonce` and
SECRET_KEY). `party_undertaking` rows are never changed or deleted (a trigger refuses it on both
engines): the signed PDF stays as signed. `outbox_message.channel` is "email" or "sms".
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0009_party'
down_revision = '0008_integration'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('outbox_message', schema=None) as batch_op:
        batch_op.add_column(sa.Column('channel', sa.String(length=10), nullable=False, server_default='email'))

    op.create_table('party_link',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('interview_id', sa.Integer(), nullable=False),
    sa.Column('attendee_id', sa.Integer(), nullable=True),
    sa.Column('kind', sa.String(length=10), nullable=False),
    sa.Column('attendee_name', sa.String(length=60), nullable=False),
    sa.Column('email', sa.String(length=254), nullable=False),
    sa.Column('phone', sa.String(length=40), nullable=False),
    sa.Column('nonce', sa.String(length=64), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('code_hash', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('sent_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('revoked_by_id', sa.Integer(), nullable=True),
    sa.Column('revoke_reason', sa.Text(), nullable=False),
    sa.Column('replaced_by_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['attendee_id'], ['party_attendee.id'], name='fk_party_link_attendee_id',
                            ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['created_by_id'], ['user_account.id'], name='fk_party_link_created_by_id'),
    sa.ForeignKeyConstraint(['interview_id'], ['interview.id'], name='fk_party_link_interview_id'),
    sa.ForeignKeyConstraint(['replaced_by_id'], ['party_link.id'], name='fk_party_link_replaced_by_id'),
    sa.ForeignKeyConstraint(['revoked_by_id'], ['user_account.id'], name='fk_party_link_revoked_by_id'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('code_hash', name='uq_party_link_code_hash'),
    sa.UniqueConstraint('nonce', name='uq_party_link_nonce'),
    sa.UniqueConstraint('token_hash', name='uq_party_link_token_hash')
    )
    with op.batch_alter_table('party_link', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_party_link_attendee_id'), ['attendee_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_party_link_interview_id'), ['interview_id'], unique=False)

    op.create_table('party_response',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('interview_id', sa.Integer(), nullable=False),
    sa.Column('link_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=25), nullable=False),
    sa.Column('for_start_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('starts', sa.JSON(), nullable=False),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('decision_reason', sa.Text(), nullable=False),
    sa.Column('chosen_start_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('decided_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['decided_by_id'], ['user_account.id'], name='fk_party_response_decided_by_id'),
    sa.ForeignKeyConstraint(['interview_id'], ['interview.id'], name='fk_party_response_interview_id'),
    sa.ForeignKeyConstraint(['link_id'], ['party_link.id'], name='fk_party_response_link_id'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('party_response', schema=None) as batch_op:
        batch_op.create_index('ix_party_response_interview', ['interview_id', 'id'], unique=False)
        batch_op.create_index(batch_op.f('ix_party_response_status'), ['status'], unique=False)

    op.create_table('party_proof',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('interview_id', sa.Integer(), nullable=False),
    sa.Column('item_id', sa.Integer(), nullable=False),
    sa.Column('follow_up_id', sa.Integer(), nullable=True),
    sa.Column('link_id', sa.Integer(), nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('fingerprint', sa.String(length=64), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('review_reason', sa.Text(), nullable=False),
    sa.Column('reviewed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('reviewed_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['follow_up_id'], ['follow_up.id'], name='fk_party_proof_follow_up_id'),
    sa.ForeignKeyConstraint(['interview_id'], ['interview.id'], name='fk_party_proof_interview_id'),
    sa.ForeignKeyConstraint(['item_id'], ['rectification_item.id'], name='fk_party_proof_item_id'),
    sa.ForeignKeyConstraint(['link_id'], ['party_link.id'], name='fk_party_proof_link_id'),
    sa.ForeignKeyConstraint(['reviewed_by_id'], ['user_account.id'], name='fk_party_proof_reviewed_by_id'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('party_proof', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_party_proof_follow_up_id'), ['follow_up_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_party_proof_interview_id'), ['interview_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_party_proof_item_id'), ['item_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_party_proof_status'), ['status'], unique=False)

    op.create_table('party_proof_file',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('proof_id', sa.Integer(), nullable=False),
    sa.Column('filename', sa.String(length=200), nullable=False),
    sa.Column('content_type', sa.String(length=100), nullable=False),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('original_sha256', sa.String(length=64), nullable=False),
    sa.Column('stripped', sa.String(length=200), nullable=False),
    sa.ForeignKeyConstraint(['proof_id'], ['party_proof.id'], name='fk_party_proof_file_proof_id'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('party_proof_file', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_party_proof_file_proof_id'), ['proof_id'], unique=False)

    op.create_table('party_undertaking',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('interview_id', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('link_id', sa.Integer(), nullable=True),
    sa.Column('signer_name', sa.String(length=60), nullable=False),
    sa.Column('signed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('minutes_revision', sa.Integer(), nullable=True),
    sa.Column('unsigned_sha256', sa.String(length=64), nullable=False),
    sa.Column('signature_png', sa.LargeBinary(), nullable=True),
    sa.Column('pdf', sa.LargeBinary(), nullable=True),
    sa.Column('pdf_sha256', sa.String(length=64), nullable=False),
    sa.Column('refusal_reason', sa.Text(), nullable=False),
    sa.Column('recorded_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['interview_id'], ['interview.id'], name='fk_party_undertaking_interview_id'),
    sa.ForeignKeyConstraint(['link_id'], ['party_link.id'], name='fk_party_undertaking_link_id'),
    sa.ForeignKeyConstraint(['recorded_by_id'], ['user_account.id'], name='fk_party_undertaking_recorded_by_id'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('interview_id', name='uq_party_undertaking_interview_id')
    )

    op.create_table('party_feedback',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('interview_id', sa.Integer(), nullable=False),
    sa.Column('stage', sa.String(length=10), nullable=False),
    sa.Column('process_rating', sa.Integer(), nullable=False),
    sa.Column('conduct_rating', sa.Integer(), nullable=False),
    sa.Column('comment', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['interview_id'], ['interview.id'], name='fk_party_feedback_interview_id'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('interview_id', 'stage', name='uq_party_feedback_stage')
    )
    with op.batch_alter_table('party_feedback', schema=None) as batch_op:
        batch_op.create_index('ix_party_feedback_created', ['created_at'], unique=False)

    op.create_table('party_integrity_report',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('interview_id', sa.Integer(), nullable=False),
    sa.Column('stage', sa.String(length=10), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['interview_id'], ['interview.id'], name='fk_party_integrity_report_interview_id'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('party_integrity_report', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_party_integrity_report_created_at'), ['created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_party_integrity_report_interview_id'), ['interview_id'], unique=False)

    # A signed undertaking (or a recorded refusal) is kept as it was: no UPDATE, no DELETE.
    message = '保证承诺书的签署记录一经保存不得修改或删除'
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"""
            CREATE FUNCTION party_undertaking_immutable() RETURNS trigger AS $$
            BEGIN
                RAISE EXCEPTION '{message}';
            END;
            $$ LANGUAGE plpgsql;
        """)
        op.execute("""
            CREATE TRIGGER party_undertaking_no_change BEFORE UPDATE OR DELETE ON party_undertaking
            FOR EACH ROW EXECUTE FUNCTION party_undertaking_immutable();
        """)
    else:
        for event in ("UPDATE", "DELETE"):
            op.execute(f"""
                CREATE TRIGGER party_undertaking_no_{event.lower()} BEFORE {event} ON party_undertaking
                BEGIN SELECT RAISE(ABORT, '{message}'); END;
            """)


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS party_undertaking_no_change ON party_undertaking")
        op.execute("DROP FUNCTION IF EXISTS party_undertaking_immutable()")
    else:
        op.execute("DROP TRIGGER IF EXISTS party_undertaking_no_update")
        op.execute("DROP TRIGGER IF EXISTS party_undertaking_no_delete")
    op.drop_table('party_integrity_report')
    op.drop_table('party_feedback')
    op.drop_table('party_undertaking')
    op.drop_table('party_proof_file')
    op.drop_table('party_proof')
    op.drop_table('party_response')
    op.drop_table('party_link')
    with op.batch_alter_table('outbox_message', schema=None) as batch_op:
        batch_op.drop_column('channel')
