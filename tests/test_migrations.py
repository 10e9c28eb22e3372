"""The schema comes only from migrations: upgrade from empty, downgrade cleanly, upgrade again."""
from __future__ import annotations

import sqlalchemy as sa
from flask_migrate import downgrade, upgrade

from coord import create_app
from coord.extensions import db
from tests.conftest import _PG, BASE_URL, IS_PG


def test_upgrade_downgrade_upgrade(tmp_path):
    if IS_PG:
        pg = _PG(BASE_URL, "_mig")  # named per checkout: suites of several worktrees run at once
        url = pg.recreate(pg.run)
    else:
        url = f"sqlite:///{tmp_path / 'mig.db'}"
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "TESTING": True, "SECRET_KEY": "x"})
    with app.app_context():
        upgrade(revision="heads")
        tables = set(sa.inspect(db.engine).get_table_names())
        assert {"agency", "user_account", "audit_entry", "work_day", "api_token"} <= tables
        downgrade(revision="base")
        remaining = set(sa.inspect(db.engine).get_table_names()) - {"alembic_version"}
        assert remaining == set()
        upgrade(revision="heads")
        assert "agency" in sa.inspect(db.engine).get_table_names()
        db.engine.dispose()


def test_one_linear_history():
    """Branches merged from parallel work are re-chained: exactly one head, no forks."""
    from pathlib import Path

    from alembic.config import Config
    from alembic.script import ScriptDirectory

    cfg = Config()
    cfg.set_main_option("script_location", str(Path(__file__).resolve().parent.parent / "migrations"))
    script = ScriptDirectory.from_config(cfg)
    assert len(script.get_heads()) == 1
    assert all(len(rev._all_down_revisions) <= 1 for rev in script.walk_revisions())
