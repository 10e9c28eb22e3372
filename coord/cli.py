"""Commands: `flask --app wsgi seed-demo | create-token USERNAME | audit-verify`."""
from __future__ import annotations

import sys

import click
import sqlalchemy as sa
from flask import Flask, current_app

from coord.extensions import db


def init_app(app: Flask) -> None:
    app.cli.add_command(seed_demo)
    app.cli.add_command(create_token)
    app.cli.add_command(audit_verify)


@click.command("seed-demo")
@click.option("--reset", is_flag=True, help="Rebuild the demo district's records for today (not in production).")
def seed_demo(reset: bool) -> None:
    """Load the demo agencies, calendar and accounts, and a demo district that is alive (idempotent)."""
    from coord.demo import seed_all
    from coord.district.seed import DistrictError
    from coord.district.seed import seed as seed_district

    password = current_app.config["DEMO_PASSWORD"]
    counts = seed_all(password)
    click.echo("演示数据已就绪 / demo data ready: " + ", ".join(f"{k} +{v}" for k, v in counts.items()))
    try:
        district = seed_district(reset=reset)
    except DistrictError as err:
        click.echo(f"演示辖区数据未生成 / demo district not made: {err}", err=True)
        sys.exit(1)
    done = ", ".join(f"{k} +{v}" for k, v in district.items()) or "已存在 / already there"
    click.echo(("已重置演示辖区 / demo district rebuilt: " if reset else "演示辖区 / demo district: ") + done)
    click.echo("登录 / log in: admin, scjg_coord, scjg_officer, cgj_coord, cgj_officer, gafj_officer, sthj_coord, "
               f"viewer — 密码 password: {password}")


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


@click.command("audit-verify")
def audit_verify() -> None:
    """Check the audit hash chain; exit 1 and name the first altered row if broken."""
    from coord.audit.services import verify

    result = verify()
    if result.ok:
        click.echo(f"审计链完整 / audit trail intact: {result.checked} entries verified.")
        return
    click.echo(f"审计链被破坏 / audit trail broken at entry id={result.bad_id}: {result.reason} "
               f"({result.checked} entries verified before it).")
    sys.exit(1)
