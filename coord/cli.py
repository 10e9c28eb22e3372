"""Commands: `flask --app wsgi seed-demo | create-token USERNAME` (audit-verify: coord/audit/cli.py)."""
from __future__ import annotations

import sys

import click
import sqlalchemy as sa
from flask import Flask, current_app

from coord.extensions import db


def init_app(app: Flask) -> None:
    app.cli.add_command(seed_demo)
    app.cli.add_command(create_token)


@click.command("seed-demo")
def seed_demo() -> None:
    """Load the demo agencies, calendar and accounts (idempotent)."""
    from coord.demo import seed_all

    password = current_app.config["DEMO_PASSWORD"]
    counts = seed_all(password)
    click.echo("演示数据已就绪 / demo data ready: " + ", ".join(f"{k} +{v}" for k, v in counts.items()))
    click.echo(f"登录 / log in: admin, scjg_coord, scjg_officer, cgj_coord, gafj_officer — 密码 password: {password}")


@click.command("create-token")
@click.argument("username")
@click.option("--name", default="cli", help="A label for the token.")
def create_token(username: str, name: str) -> None:
    """Print a new API bearer token for USERNAME."""
    from coord.accounts.models import User
    from coord.accounts.services import create_token as make

    user = db.session.execute(sa.select(User).where(User.username == username.lower())).scalar_one_or_none()
    if user is None or not user.active:
        click.echo(f"用户 {username} 不存在或已停用。", err=True)
        sys.exit(1)
    _, clear = make(None, user, name)
    click.echo(clear)
