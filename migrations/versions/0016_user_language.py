"""user language and notification titles in the reader's language

Revision ID: 0016_user_language
Revises: 0015_worklist
Create Date: 2026-12-08 10:00:00

`user_account.language` ("zh_CN" or "en") is the language a user chose with the language switch: the
pages' language when the browser has not chosen one, and the language of every e-mail to the user.
`notification.template` and `notification.params` let a notification's title be shown in its reader's
language (coord.notifications.titles); `notification.title` keeps the Chinese text, and older rows,
without a template, are shown by it.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0016_user_language'
down_revision = '0015_worklist'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('user_account', schema=None) as batch_op:
        batch_op.add_column(sa.Column('language', sa.String(length=10), server_default='zh_CN', nullable=False))

    with op.batch_alter_table('notification', schema=None) as batch_op:
        batch_op.add_column(sa.Column('template', sa.String(length=60), server_default='', nullable=False))
        batch_op.add_column(sa.Column('params', sa.JSON(), nullable=True))


def downgrade():
    with op.batch_alter_table('notification', schema=None) as batch_op:
        batch_op.drop_column('params')
        batch_op.drop_column('template')

    with op.batch_alter_table('user_account', schema=None) as batch_op:
        batch_op.drop_column('language')
