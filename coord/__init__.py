"""coord — 柔性执法协同平台 (Shapingba flexible law enforcement)."""
from __future__ import annotations

import importlib
import importlib.util
import os
from pathlib import Path
from typing import Any

from flask import Flask, has_request_context, request

from coord import config as config_module
from coord.extensions import babel, csrf, db, htmx, limiter, login_manager, migrate

# One package per feature. Each may have `views.bp` (pages), `api.blp` (JSON API),
# and `cli.register(app)` (commands). Order matters only for the navigation.
FEATURES = [
    "coord.web",
    "coord.accounts",
    "coord.agencies",
    "coord.workdays",
    "coord.audit",
    "coord.lists",
    "coord.interviews",
    "coord.scheduling",
    "coord.notify",
    "coord.calendar",
    "coord.minutes",
    "coord.referrals",
    "coord.party",
    "coord.mailin",
    "coord.backup",
    "coord.measures",
    "coord.parties",
    "coord.oversight",
    "coord.notifications",
    "coord.worklist",
]


def create_app(overrides: dict[str, Any] | None = None) -> Flask:
    # COORD_INSTANCE_PATH: where instance/ lives (files, PDF store, keys in development), e.g. shared storage.
    app = Flask(__name__, instance_relative_config=True, instance_path=os.environ.get("COORD_INSTANCE_PATH") or None)
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)
    app.config.update(config_module.load(Path(app.instance_path)))
    if overrides:
        app.config.update(overrides)

    app.json.ensure_ascii = False  # Chinese stays readable in JSON
    db.init_app(app)
    migrate.init_app(app, db, directory=str(Path(__file__).resolve().parent.parent / "migrations"))
    csrf.init_app(app)
    login_manager.init_app(app)
    babel.init_app(app, locale_selector=_select_locale)
    htmx.init_app(app)
    limiter.init_app(app)

    with app.app_context():
        if db.engine.dialect.name == "sqlite":
            from coord.dbtypes import configure_sqlite

            configure_sqlite(db.engine)

    from coord import api, cli, idempotency, inputs, security, web
    from coord.web import pagecache

    inputs.init_app(app)  # first: the bounded `int` converter must exist before any route
    security.init_app(app)
    idempotency.init_app(app)
    web.init_app(app)
    pagecache.init_app(app)
    api.init_app(app)
    for name in FEATURES:
        _load_feature(app, name)
    pagecache.register_raise()  # after every feature's own before_commit
    cli.init_app(app)
    return app


def _load_feature(app: Flask, name: str) -> None:
    # listeners: reactions to other features' events; worklist: the feature's sections of the 工作台
    for part in ("models", "services", "listeners", "worklist"):
        if importlib.util.find_spec(f"{name}.{part}"):
            importlib.import_module(f"{name}.{part}")
    if importlib.util.find_spec(f"{name}.views"):
        app.register_blueprint(importlib.import_module(f"{name}.views").bp)
    if importlib.util.find_spec(f"{name}.api"):
        app.extensions["coord_api"].register_blueprint(importlib.import_module(f"{name}.api").blp)
    if importlib.util.find_spec(f"{name}.cli"):
        importlib.import_module(f"{name}.cli").register(app)


def _select_locale() -> str:
    """?lang= (a link asked for a language) > this browser's choice (the `lang` cookie, written only by the
    language switch, which also saves it on the account) > the logged-in user's saved language (a new
    device or browser) > Chinese. Mail is written in the recipient's saved language (coord.lang.in_language)."""
    if not has_request_context():
        return "zh_CN"  # worker tasks and the CLI write stored text, which stays Chinese
    for lang in (request.args.get("lang"), request.cookies.get("lang")):
        if lang in ("zh_CN", "en"):
            return lang
    return _saved_language()


def _saved_language() -> str:
    from flask import g

    if g.get("_coord_locale_user"):  # asked again while the user is being loaded: no user yet
        return "zh_CN"
    g._coord_locale_user = True
    try:
        from flask_login import current_user

        user = g.get("api_user") or current_user
        saved = getattr(user, "language", None) if getattr(user, "is_authenticated", False) else None
    finally:
        g._coord_locale_user = False
    return saved if saved in ("zh_CN", "en") else "zh_CN"
