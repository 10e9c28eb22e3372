"""Commands: `flask --app wsgi seed-demo | create-token USERNAME` (audit-verify: coord/audit/cli.py)."""
from __future__ import annotations

import sys

import click
import sqlalchemy as sa
from flask import Flask, current_app

from coord.extensions import db


def init_app(app: Flask) -> None:
    app.cli.add_command(seed_demo)
    app.cli.add_command(demo_accounts)
    app.cli.add_command(create_token)


@click.command("seed-demo")
@click.option("--quiet", is_flag=True, help="Do not list the demo accounts.")
@click.option("--upgrade", is_flag=True, help="Apply the migrations first (one process: a faster start).")
@click.option("--reset", is_flag=True, help="Rebuild the demo district's records for today (not in production).")
def seed_demo(quiet: bool, upgrade: bool, reset: bool) -> None:
    """Load the demo agencies, calendar and accounts, and a demo district that is alive (idempotent).

    Exits 3 when only the demo district could not be made (e.g. a calendar day is missing): the
    accounts exist, so `make run` still starts and the office can fix the calendar."""
    from coord.demo import seed_all
    from coord.district.seed import DistrictError
    from coord.district.seed import seed as seed_district

    if upgrade:
        from flask_migrate import upgrade as migrate_up

        migrate_up(revision="heads")
    if reset and current_app.config.get("COORD_ENV") == "production":
        click.echo("生产环境（COORD_ENV=production）不能重置演示数据。 / --reset is refused in production.", err=True)
        sys.exit(1)
    password = current_app.config["DEMO_PASSWORD"]
    counts = seed_all(password)
    click.echo("演示数据已就绪 / demo data ready: " + ", ".join(f"{k} +{v}" for k, v in counts.items()))
    try:
        district = seed_district(reset=reset)
    except DistrictError as err:
        click.echo(f"演示辖区数据未生成 / demo district not made: {err}", err=True)
        district = None
    if district is not None:
        done = ", ".join(f"{k} +{v}" for k, v in district.items()) or "已存在 / already there"
        click.echo(("已重置演示辖区 / demo district rebuilt: " if reset else "演示辖区 / demo district: ") + done)
    if not quiet:
        _print_accounts(password)
        _print_mail()
    if district is None:
        sys.exit(3)


@click.command("demo-accounts")
def demo_accounts() -> None:
    """List every demo account (from the seed's own list) and where development mail goes."""
    _print_accounts(current_app.config["DEMO_PASSWORD"])
    _print_mail()


def _print_mail() -> None:
    from coord.notify.services import transport

    if transport() == "catchall":
        click.echo("  邮件 / mail: 开发模式，不对外发送，可在“开发邮箱”页面查看 / development: nothing leaves the "
                   "machine; read it at /dev/mail/")
    else:
        click.echo(f"  邮件 / mail: SMTP {current_app.config.get('MAIL_SERVER') or '127.0.0.1'}:"
                   f"{current_app.config.get('MAIL_PORT') or 25}")


def _print_accounts(password: str) -> None:
    """The accounts `seed_accounts` creates, as they are in the database (a renamed agency shows its name)."""
    from coord.accounts.models import ROLES, User
    from coord.demo import ACCOUNTS

    names = [username for username, *_ in ACCOUNTS]
    users = {u.username: u for u in db.session.execute(sa.select(User).where(User.username.in_(names))).scalars()}
    click.echo(f"  演示账号（密码均为 {password}）/ demo accounts (password {password}):")
    for username in names:
        user = users.get(username)
        if user is None:
            continue
        role = ROLES.get(user.role, user.role)
        click.echo(f"    {username:<14} {user.display_name}  {user.agency.name} · {role}")


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
