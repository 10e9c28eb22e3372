"""page cache: the counter every committed write raises

Revision ID: 0017_page_generation
Revises: 0016_user_language
Create Date: 2026-12-01 23:00:00

`page_generation` holds one row (id 1). Every transaction that writes through the ORM raises its value
before it commits; a kept page (coord/web/pagecache.py) is answered only while the value is the one it
was rendered under.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0017_page_generation'
down_revision = '0016_user_language'
branch_labels = None
depends_on = None


def upgrade():
    table = op.create_table('page_generation',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('value', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_page_generation'))
    )
    op.bulk_insert(table, [{'id': 1, 'value': 0}])


def downgrade():
    op.drop_table('page_generation')
