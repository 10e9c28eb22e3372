"""measures: the register of flexible measures, document numbers, oversight facts and assessment rules

Revision ID: 0013_measures
Revises: 0012_ux
Create Date: 2026-12-01 09:00:00

- `agency.full_name`, `agency.doc_prefix`: the official name documents use and the 文号 prefix.
- `document_counter` (per agency, kind, year) and `document_number` (the 文号 each document got).
- `measure` (柔性执法台账) with `measure_officer` and `measure_file`.
- `follow_up.item_id` and `follow_up.interview_id` become nullable: a visit may come from a measure's
  observation period (the measure names it in `measure.observation_visit_id`).
- `oversight_lead_event`: who returned which lead, or was supervised on it, when (filled from the audit trail).
- `assessment_rules`: versioned indicators and weights.
- `ix_lead_oversight`: a covering index for the figures of leads received per agency and period.
"""
import json
from datetime import datetime

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0013_measures'
down_revision = '0012_ux'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('agency', schema=None) as batch_op:
        batch_op.add_column(sa.Column('full_name', sa.String(length=200), nullable=False, server_default=''))
        batch_op.add_column(sa.Column('doc_prefix', sa.String(length=20), nullable=False, server_default=''))

    op.create_table('document_counter',
    sa.Column('agency_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=30), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('last', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['agency_id'], ['agency.id'], ),
    sa.PrimaryKeyConstraint('agency_id', 'kind', 'year')
    )
    op.create_table('document_number',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('agency_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=30), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('number', sa.String(length=60), nullable=False),
    sa.Column('entity_type', sa.String(length=30), nullable=False),
    sa.Column('entity_id', sa.String(length=60), nullable=False),
    sa.Column('issued_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('issued_by_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['agency_id'], ['agency.id'], ),
    sa.ForeignKeyConstraint(['issued_by_id'], ['user_account.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('kind', 'entity_type', 'entity_id', name='uq_document_number_entity'),
    sa.UniqueConstraint('agency_id', 'kind', 'year', 'seq', name='uq_document_number_seq')
    )

    with op.batch_alter_table('follow_up', schema=None) as batch_op:
        batch_op.alter_column('item_id', existing_type=sa.Integer(), nullable=True)
        batch_op.alter_column('interview_id', existing_type=sa.Integer(), nullable=True)

    op.create_table('measure',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('number', sa.String(length=30), nullable=True),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('source', sa.String(length=20), nullable=False),
    sa.Column('agency_id', sa.Integer(), nullable=False),
    sa.Column('party_id', sa.Integer(), nullable=False),
    sa.Column('measure_on', sa.Date(), nullable=False),
    sa.Column('place', sa.String(length=200), nullable=False),
    sa.Column('matter', sa.String(length=300), nullable=False),
    sa.Column('list_item_id', sa.Integer(), nullable=True),
    sa.Column('circumstances', sa.Text(), nullable=False),
    sa.Column('legal_basis', sa.Text(), nullable=False),
    sa.Column('outcome', sa.Text(), nullable=False),
    sa.Column('correction_deadline', sa.Date(), nullable=True),
    sa.Column('observation_requirement', sa.Text(), nullable=False),
    sa.Column('observation_visit_id', sa.Integer(), nullable=True),
    sa.Column('undertaking', sa.Text(), nullable=False),
    sa.Column('behaviour', sa.Text(), nullable=False),
    sa.Column('result', sa.String(length=20), nullable=False),
    sa.Column('channel', sa.String(length=20), nullable=False),
    sa.Column('content', sa.Text(), nullable=False),
    sa.Column('interview_id', sa.Integer(), nullable=True),
    sa.Column('other_parties', sa.Text(), nullable=False),
    sa.Column('agreement_reached', sa.Boolean(), nullable=True),
    sa.Column('agreement_terms', sa.Text(), nullable=False),
    sa.Column('follow_up_id', sa.Integer(), nullable=True),
    sa.Column('lead_id', sa.Integer(), nullable=True),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("kind IN ('persuasion', 'notice_advice', 'interview', 'mediation', 'follow_up')",
                       name='ck_measure_kind'),
    sa.ForeignKeyConstraint(['agency_id'], ['agency.id'], ),
    sa.ForeignKeyConstraint(['created_by_id'], ['user_account.id'], ),
    sa.ForeignKeyConstraint(['follow_up_id'], ['follow_up.id'], ),
    sa.ForeignKeyConstraint(['interview_id'], ['interview.id'], ),
    sa.ForeignKeyConstraint(['lead_id'], ['lead.id'], ),
    sa.ForeignKeyConstraint(['list_item_id'], ['list_item.id'], ),
    sa.ForeignKeyConstraint(['observation_visit_id'], ['follow_up.id'], ),
    sa.ForeignKeyConstraint(['party_id'], ['party.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('number'),
    sa.UniqueConstraint('observation_visit_id'),
    sa.UniqueConstraint('interview_id'),
    sa.UniqueConstraint('follow_up_id'),
    sa.UniqueConstraint('lead_id')
    )
    with op.batch_alter_table('measure', schema=None) as batch_op:
        batch_op.create_index('ix_measure_agency_kind_on', ['agency_id', 'kind', 'measure_on'], unique=False)
        batch_op.create_index('ix_measure_on', ['measure_on'], unique=False)
        batch_op.create_index(batch_op.f('ix_measure_party_id'), ['party_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_measure_list_item_id'), ['list_item_id'], unique=False)

    op.create_table('measure_officer',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('measure_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['measure_id'], ['measure.id'], ),
    sa.ForeignKeyConstraint(['user_id'], ['user_account.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('measure_id', 'user_id', name='uq_measure_officer')
    )
    with op.batch_alter_table('measure_officer', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_measure_officer_measure_id'), ['measure_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_measure_officer_user_id'), ['user_id'], unique=False)

    op.create_table('measure_file',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('measure_id', sa.Integer(), nullable=False),
    sa.Column('filename', sa.String(length=200), nullable=False),
    sa.Column('content_type', sa.String(length=120), nullable=False),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('uploaded_by_id', sa.Integer(), nullable=True),
    sa.Column('uploaded_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['measure_id'], ['measure.id'], ),
    sa.ForeignKeyConstraint(['uploaded_by_id'], ['user_account.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('measure_file', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_measure_file_measure_id'), ['measure_id'], unique=False)

    lead_event = op.create_table('oversight_lead_event',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('lead_id', sa.Integer(), nullable=False),
    sa.Column('agency_id', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['agency_id'], ['agency.id'], ),
    sa.ForeignKeyConstraint(['lead_id'], ['lead.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('oversight_lead_event', schema=None) as batch_op:
        batch_op.create_index('ix_oversight_lead_event', ['kind', 'at', 'agency_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_oversight_lead_event_lead_id'), ['lead_id'], unique=False)
    _backfill_lead_events(lead_event)

    op.create_table('assessment_rules',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('total', sa.Float(), nullable=False),
    sa.Column('indicators', sa.JSON(), nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['created_by_id'], ['user_account.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('version')
    )

    with op.batch_alter_table('lead', schema=None) as batch_op:
        batch_op.create_index('ix_lead_oversight', ['to_agency_id', 'referred_at', 'state', 'late', 'ack_on_time',
                                                    'reply_on_time', 'due_on'], unique=False)


def _backfill_lead_events(table):
    """Returns and supervisions made before this migration, from the audit trail: the lead's snapshot
    after the step names the agency that returned it, or that was supervised."""
    conn = op.get_bind()
    rows = conn.execute(sa.text(
        "SELECT action, entity_id, at, after FROM audit_entry "
        "WHERE action IN ('lead.return', 'lead.supervise') AND entity_type = 'lead'"))
    values = []
    for action, entity_id, at, after in rows:
        try:
            agency_id = json.loads(after or "{}").get("to_agency_id")
            lead_id = int(entity_id)
        except (ValueError, TypeError, AttributeError):
            continue
        if isinstance(at, str):  # SQLite hands back its text (naive UTC, as stored)
            at = datetime.fromisoformat(at)
        if agency_id:
            kind = "returned" if action == "lead.return" else "supervised"
            values.append({"kind": kind, "lead_id": lead_id, "agency_id": int(agency_id), "at": at})
    if values:
        op.bulk_insert(table, values)


def downgrade():
    with op.batch_alter_table('lead', schema=None) as batch_op:
        batch_op.drop_index('ix_lead_oversight')
    op.drop_table('assessment_rules')
    with op.batch_alter_table('oversight_lead_event', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_oversight_lead_event_lead_id'))
        batch_op.drop_index('ix_oversight_lead_event')
    op.drop_table('oversight_lead_event')
    with op.batch_alter_table('measure_file', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_measure_file_measure_id'))
    op.drop_table('measure_file')
    with op.batch_alter_table('measure_officer', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_measure_officer_user_id'))
        batch_op.drop_index(batch_op.f('ix_measure_officer_measure_id'))
    op.drop_table('measure_officer')
    with op.batch_alter_table('measure', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_measure_list_item_id'))
        batch_op.drop_index(batch_op.f('ix_measure_party_id'))
        batch_op.drop_index('ix_measure_on')
        batch_op.drop_index('ix_measure_agency_kind_on')
    op.drop_table('measure')
    # Visits of measures have no interview: they go with the register.
    op.execute("DELETE FROM follow_up WHERE interview_id IS NULL")
    with op.batch_alter_table('follow_up', schema=None) as batch_op:
        batch_op.alter_column('interview_id', existing_type=sa.Integer(), nullable=False)
        batch_op.alter_column('item_id', existing_type=sa.Integer(), nullable=False)
    op.drop_table('document_number')
    op.drop_table('document_counter')
    with op.batch_alter_table('agency', schema=None) as batch_op:
        batch_op.drop_column('doc_prefix')
        batch_op.drop_column('full_name')
