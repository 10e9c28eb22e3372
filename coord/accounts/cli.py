"""`flask --app wsgi purge-login-log --days N`."""
from __future__ import annotations

import sys

import click
from flask import Flask

from coord.accounts.login import purge
from coord.errors import DomainError


def register(app: Flask) -> None:
    app.cli.add_command(purge_login_log)


@click.command("purge-login-log")
@click.option("--days", type=int, required=True, help="Delete login events older than this (at least 180).")
def purge_login_log(days: int) -> None:
    """Delete login events and ended sessions older than DAYS (never younger than the retention period)."""
    try:
        removed = purge(days)
    except DomainError as err:
        click.echo(err.message, err=True)
        sys.exit(1)
    click.echo(f"已删除 {removed} 条登录日志 / {removed} login events deleted.")
