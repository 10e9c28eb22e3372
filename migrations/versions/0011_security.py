"""security: keyed audit chain, TRUNCATE refused, login log, server-side sessions, lockout

Revision ID: 0011_security
Revises: 0010_imip
Create Date: 2026-12-01 15:00:00

- `audit_entry.alg`: the algorithm of each entry's hash. Rows written before this revision keep
  `sha256` (unkeyed); new rows are `hmac-sha256` or `hmac-sm3` (key from COORD_AUDIT_KEY, outside
  the database), so verification works across a change of algorithm.
- PostgreSQL: TRUNCATE of `audit_entry` is refused by a statement-level trigger (UPDATE and DELETE
  already were, 0001). SQLite: triggers refuse UPDATE and DELETE of audit rows.
- `login_event` (登录日志): never updated; a row younger than 180 days cannot be deleted (网络安全法
  art. 21), on both databases; TRUNCATE refused on PostgreSQL.
- `user_session`: sessions tracked server-side (idle timeout, absolute limit, logout ends them).
- `user_account`: failed-login count and lock, forced password change, password change time.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0011_security'
down_revision = '0010_imip'
branch_labels = None
depends_on = None

RETENTION_DAYS = 180  # legal minimum; the application may keep rows longer, never shorter


def upgrade():
    with op.batch_alter_table('audit_entry', schema=None) as batch_op:
        batch_op.add_column(sa.Column('alg', sa.String(length=16), nullable=False, server_default='sha256'))

    with op.batch_alter_table('user_account', schema=None) as batch_op:
        batch_op.add_column(sa.Column('failed_logins', sa.Integer(), nullable=False, server_default='0'))
        batch_op.add_column(sa.Column('locked_until', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('must_change_password', sa.Boolean(), nullable=False,
                                      server_default=sa.false()))
        batch_op.add_column(sa.Column('password_changed_at', sa.DateTime(timezone=True), nullable=True))

    op.create_table('login_event',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('username', sa.String(length=60), nullable=False),
    sa.Column('address', sa.String(length=64), nullable=False),
    sa.Column('user_agent', sa.String(length=200), nullable=False),
    sa.Column('event', sa.String(length=10), nullable=False),
    sa.Column('success', sa.Boolean(), nullable=False),
    sa.Column('reason', sa.String(length=20), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['user_account.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('login_event', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_login_event_at'), ['at'], unique=False)
        batch_op.create_index('ix_login_event_user_at', ['user_id', 'at'], unique=False)

    op.create_table('user_session',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_seen_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('ended_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('end_reason', sa.String(length=20), nullable=False),
    sa.Column('address', sa.String(length=64), nullable=False),
    sa.Column('user_agent', sa.String(length=200), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['user_account.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('token_hash')
    )
    with op.batch_alter_table('user_session', schema=None) as batch_op:
        batch_op.create_index('ix_user_session_user_open', ['user_id', 'ended_at'], unique=False)

    if op.get_bind().dialect.name == "postgresql":
        # TRUNCATE bypasses row triggers: refuse it with a statement-level one.
        op.execute("""
            CREATE TRIGGER audit_entry_no_truncate BEFORE TRUNCATE ON audit_entry
            FOR EACH STATEMENT EXECUTE FUNCTION audit_entry_append_only();
        """)
        op.execute(f"""
            CREATE FUNCTION login_event_retention() RETURNS trigger AS $$
            BEGIN
              IF TG_OP = 'DELETE' AND OLD.at < now() - interval '{RETENTION_DAYS} days' THEN
                RETURN OLD;
              END IF;
              RAISE EXCEPTION 'login_event rows are kept unchanged for at least {RETENTION_DAYS} days';
            END $$ LANGUAGE plpgsql;
        """)
        op.execute("""
            CREATE TRIGGER login_event_keep BEFORE UPDATE OR DELETE ON login_event
            FOR EACH ROW EXECUTE FUNCTION login_event_retention();
        """)
        op.execute("""
            CREATE TRIGGER login_event_no_truncate BEFORE TRUNCATE ON login_event
            FOR EACH STATEMENT EXECUTE FUNCTION login_event_retention();
        """)
    else:
        # SQLite stores instants as naive UTC text ('YYYY-MM-DD HH:MM:SS.ffffff'), comparable with
        # datetime('now').
        op.execute("""
            CREATE TRIGGER audit_entry_no_update BEFORE UPDATE ON audit_entry
            BEGIN SELECT RAISE(ABORT, 'audit_entry is append-only'); END
        """)
        op.execute("""
            CREATE TRIGGER audit_entry_no_delete BEFORE DELETE ON audit_entry
            BEGIN SELECT RAISE(ABORT, 'audit_entry is append-only'); END
        """)
        op.execute("""
            CREATE TRIGGER login_event_no_update BEFORE UPDATE ON login_event
            BEGIN SELECT RAISE(ABORT, 'login_event rows are kept unchanged'); END
        """)
        op.execute(f"""
            CREATE TRIGGER login_event_keep BEFORE DELETE ON login_event
            WHEN OLD.at >= datetime('now', '-{RETENTION_DAYS} days')
            BEGIN SELECT RAISE(ABORT, 'login_event rows are kept for at least {RETENTION_DAYS} days'); END
        """)


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS login_event_no_truncate ON login_event")
        op.execute("DROP TRIGGER IF EXISTS login_event_keep ON login_event")
        op.execute("DROP FUNCTION IF EXISTS login_event_retention()")
        op.execute("DROP TRIGGER IF EXISTS audit_entry_no_truncate ON audit_entry")
    else:
        for name in ("audit_entry_no_update", "audit_entry_no_delete", "login_event_no_update",
                     "login_event_keep"):
            op.execute(f"DROP TRIGGER IF EXISTS {name}")

    with op.batch_alter_table('user_session', schema=None) as batch_op:
        batch_op.drop_index('ix_user_session_user_open')
    op.drop_table('user_session')
    with op.batch_alter_table('login_event', schema=None) as batch_op:
        batch_op.drop_index('ix_login_event_user_at')
        batch_op.drop_index(batch_op.f('ix_login_event_at'))
    op.drop_table('login_event')

    with op.batch_alter_table('user_account', schema=None) as batch_op:
        batch_op.drop_column('password_changed_at')
        batch_op.drop_column('must_change_password')
        batch_op.drop_column('locked_until')
        batch_op.drop_column('failed_logins')

    with op.batch_alter_table('audit_entry', schema=None) as batch_op:
        batch_op.drop_column('alg')
