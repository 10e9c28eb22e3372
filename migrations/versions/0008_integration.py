"""integration: leads and interviews name a published list item; an escalated follow-up names its lead

Revision ID: 0008_integration
Revises: 0007_calendar
Create Date: 2026-11-29 09:00:00

`list_item_id` references one row of a published list version (rows of published versions never
change and are never deleted); the row's `uid` leads to the same item in later versions.
`follow_up.lead_id` existed as a plain integer; it becomes a foreign key, unique (one lead per visit).
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0008_integration'
down_revision = '0007_calendar'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('lead', schema=None) as batch_op:
        batch_op.add_column(sa.Column('list_item_id', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_lead_list_item_id'), ['list_item_id'], unique=False)
        batch_op.create_foreign_key('fk_lead_list_item_id', 'list_item', ['list_item_id'], ['id'])

    with op.batch_alter_table('interview', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_interview_list_item_id'), ['list_item_id'], unique=False)
        batch_op.create_foreign_key('fk_interview_list_item_id', 'list_item', ['list_item_id'], ['id'])

    with op.batch_alter_table('follow_up', schema=None) as batch_op:
        batch_op.create_unique_constraint('uq_follow_up_lead_id', ['lead_id'])
        batch_op.create_foreign_key('fk_follow_up_lead_id', 'lead', ['lead_id'], ['id'])


def downgrade():
    with op.batch_alter_table('follow_up', schema=None) as batch_op:
        batch_op.drop_constraint('fk_follow_up_lead_id', type_='foreignkey')
        batch_op.drop_constraint('uq_follow_up_lead_id', type_='unique')

    with op.batch_alter_table('interview', schema=None) as batch_op:
        batch_op.drop_constraint('fk_interview_list_item_id', type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_interview_list_item_id'))

    with op.batch_alter_table('lead', schema=None) as batch_op:
        batch_op.drop_constraint('fk_lead_list_item_id', type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_lead_list_item_id'))
        batch_op.drop_column('list_item_id')
