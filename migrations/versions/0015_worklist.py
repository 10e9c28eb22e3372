"""worklist and notifications: per-user attention stamp and e-mail choice, notifications, demo records

Revision ID: 0015_worklist
Revises: 0014_calendar_years
Create Date: 2026-12-01 15:00:00

`user_account.attention_stamp` is raised by the listeners whenever a user's worklist or notifications
may have changed (the key of the per-process cache of badges and the bell); `notify_mail` is the
user's e-mail choice for notifications. `notification` holds the in-app notifications. `demo_record`
lists what the demo district made (`seed-demo`, `seed-demo --reset`). Four indexes serve worklist
sections: pending co-organiser confirmations per agency, pending follow-up visits per agency by date,
an agency's inbox by state in deadline order, open supervisions (partial), an organiser's interviews
by status and time, and minutes by interview and status (covering).
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0015_worklist'
down_revision = '0014_calendar_years'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('user_account', schema=None) as batch_op:
        batch_op.add_column(sa.Column('attention_stamp', sa.Integer(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('notify_mail', sa.String(length=10), server_default='digest', nullable=False))

    op.create_table('notification',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=40), nullable=False),
    sa.Column('title', sa.String(length=300), nullable=False),
    sa.Column('url', sa.String(length=300), nullable=False),
    sa.Column('record_type', sa.String(length=40), nullable=False),
    sa.Column('record_id', sa.String(length=40), nullable=False),
    sa.Column('actor_id', sa.Integer(), nullable=True),
    sa.Column('key', sa.String(length=200), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('read_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('mail_state', sa.String(length=10), nullable=False),
    sa.Column('mailed_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['actor_id'], ['user_account.id'], ),
    sa.ForeignKeyConstraint(['user_id'], ['user_account.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('user_id', 'key', name='uq_notification_user_key')
    )
    with op.batch_alter_table('notification', schema=None) as batch_op:
        batch_op.create_index('ix_notification_user_unread', ['user_id', 'read_at', 'id'], unique=False)
        batch_op.create_index('ix_notification_mail_state', ['mail_state', 'user_id'], unique=False)

    op.create_table('demo_record',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('scenario', sa.String(length=60), nullable=False),
    sa.Column('entity', sa.String(length=40), nullable=False),
    sa.Column('entity_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('entity', 'entity_id', name='uq_demo_record_entity')
    )
    with op.batch_alter_table('demo_record', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_demo_record_scenario'), ['scenario'], unique=False)

    with op.batch_alter_table('interview_agency', schema=None) as batch_op:
        batch_op.create_index('ix_interview_agency_pending', ['agency_id', 'confirmation', 'role'], unique=False)
    with op.batch_alter_table('follow_up', schema=None) as batch_op:
        batch_op.create_index('ix_follow_up_agency_status_due', ['agency_id', 'status', 'due'], unique=False)
    with op.batch_alter_table('lead', schema=None) as batch_op:
        batch_op.create_index('ix_lead_to_state_due_on', ['to_agency_id', 'state', 'due_on'], unique=False)
        batch_op.create_index('ix_lead_supervised', ['to_agency_id'], unique=False,
                              sqlite_where=sa.text('supervised = 1'), postgresql_where=sa.text('supervised'))
    with op.batch_alter_table('interview', schema=None) as batch_op:
        batch_op.create_index('ix_interview_lead_status_start', ['lead_agency_id', 'status', 'start_at'], unique=False)
    with op.batch_alter_table('minutes', schema=None) as batch_op:
        batch_op.create_index('ix_minutes_final', ['interview_id', 'status'], unique=False)


def downgrade():
    with op.batch_alter_table('minutes', schema=None) as batch_op:
        batch_op.drop_index('ix_minutes_final')
    with op.batch_alter_table('interview', schema=None) as batch_op:
        batch_op.drop_index('ix_interview_lead_status_start')
    with op.batch_alter_table('lead', schema=None) as batch_op:
        batch_op.drop_index('ix_lead_supervised')
        batch_op.drop_index('ix_lead_to_state_due_on')
    with op.batch_alter_table('follow_up', schema=None) as batch_op:
        batch_op.drop_index('ix_follow_up_agency_status_due')
    with op.batch_alter_table('interview_agency', schema=None) as batch_op:
        batch_op.drop_index('ix_interview_agency_pending')

    with op.batch_alter_table('demo_record', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_demo_record_scenario'))
    op.drop_table('demo_record')

    with op.batch_alter_table('notification', schema=None) as batch_op:
        batch_op.drop_index('ix_notification_mail_state')
        batch_op.drop_index('ix_notification_user_unread')
    op.drop_table('notification')

    with op.batch_alter_table('user_account', schema=None) as batch_op:
        batch_op.drop_column('notify_mail')
        batch_op.drop_column('attention_stamp')
