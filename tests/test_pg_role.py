"""PostgreSQL: the application's role (README, `flask pg-grants ROLE`) cannot TRUNCATE, UPDATE or
DELETE the audit trail, nor change the login log, yet runs the application."""
from __future__ import annotations

import secrets

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from coord import create_app
from coord.audit.cli import grants_sql
from coord.extensions import db
from tests.conftest import IS_PG, _overrides, login

pytestmark = pytest.mark.skipif(not IS_PG, reason="PostgreSQL roles")


@pytest.fixture
def app_role(app):
    url = make_url(app.config["SQLALCHEMY_DATABASE_URI"])
    role, password = f"coord_app_{secrets.token_hex(4)}", secrets.token_hex(12)
    with db.engine.begin() as conn:
        conn.execute(sa.text(f"CREATE ROLE \"{role}\" LOGIN PASSWORD '{password}'"))
        conn.execute(sa.text(f'GRANT CONNECT ON DATABASE "{url.database}" TO "{role}"'))
        for statement in grants_sql(role).splitlines():
            conn.execute(sa.text(statement))
    yield url.set(username=role, password=password)
    db.session.remove()
    with db.engine.begin() as conn:
        conn.execute(sa.text(f'DROP OWNED BY "{role}"'))
        conn.execute(sa.text(f'DROP ROLE "{role}"'))


def test_app_role_cannot_rewrite_the_audit_trail(app_role):
    engine = sa.create_engine(app_role)
    try:
        for sql in ["TRUNCATE audit_entry", "UPDATE audit_entry SET summary = 'x'", "DELETE FROM audit_entry",
                    "UPDATE login_event SET reason = 'x'", "TRUNCATE login_event", "TRUNCATE user_account",
                    "DELETE FROM alembic_version"]:
            with engine.connect() as conn, pytest.raises(sa.exc.ProgrammingError, match="permission denied"):
                conn.execute(sa.text(sql))
        with engine.connect() as conn:  # reading is allowed
            assert conn.execute(sa.text("SELECT count(*) FROM audit_entry")).scalar() > 0
    finally:
        engine.dispose()


def test_the_application_runs_as_that_role(app_role, tmp_path):
    """Log in (session row, login log), change something (audit entry), log out."""
    role_app = create_app(_overrides(app_role.render_as_string(hide_password=False), tmp_path))
    with role_app.app_context():
        client = role_app.test_client()
        assert login(client, "admin").status_code == 302
        assert client.get("/agencies/").status_code == 200
        from coord.agencies import services as agencies
        from coord.audit import services as audit
        from tests.conftest import user_by_name

        agency = agencies.by_name("区体育局")
        agencies.update(user_by_name("admin"), agency.id, {**agency.snapshot(), "phone": "023-60000000"})
        assert audit.verify().ok
        db.session.remove()
        db.engine.dispose()
