"""`flask --app wsgi calendar-ensure` and `flask --app wsgi calendar-import FILE [--apply]`."""
from __future__ import annotations

import sys

import click
from flask import Flask


def register(app: Flask) -> None:
    from coord.workdays import tasks  # noqa: F401 - registers the periodic task with the queue

    app.cli.add_command(calendar_ensure)
    app.cli.add_command(calendar_import)


@click.command("calendar-ensure")
def calendar_ensure() -> None:
    """Build the current year and the years ahead (provisional until their notice) if missing."""
    from coord.workdays.services import ensure_years, years

    built = ensure_years()
    click.echo(f"已生成 / built: {', '.join(map(str, built)) or '—'}")
    for row in years():
        click.echo(f"{row.year}  {row.status:<11}  {row.source}")


@click.command("calendar-import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, allow_dash=True))
@click.option("--apply", "do_apply", is_flag=True, help="write it (default: only show the preview)")
@click.option("--user", "username", default="admin", show_default=True, help="office account recorded as actor")
def calendar_import(path: str, do_apply: bool, username: str) -> None:
    """Read a State Council holiday notice (text file) and show or apply what it changes."""
    import sqlalchemy as sa

    from coord.accounts.models import User
    from coord.extensions import db
    from coord.workdays import imports
    from coord.workdays.notice import NoticeError

    text = sys.stdin.read() if path == "-" else open(path, encoding="utf-8-sig").read()
    actor = db.session.execute(sa.select(User).where(User.username == username)).scalar_one_or_none()
    if actor is None or not actor.is_office:
        raise click.ClickException(f"{username} 不是领导小组办公室的账号。")
    try:
        result = imports.apply(actor, text) if do_apply else imports.preview(actor, text)
    except NoticeError as err:
        raise click.ClickException(str(err)) from None
    done = "，已导入" if result.applied else "（预览，未写入；加 --apply 导入）"
    click.echo(f"{result.year} 年：{len(result.notice.holidays)} 个放假日，{len(result.notice.workdays)} 个调休上班日；"
               f"{len(result.changes)} 天变化{done}")
    for c in result.changes:
        was, now = ("上班" if c.was_workday else "休息"), ("上班" if c.is_workday else "休息")
        click.echo(f"  {c.day.isoformat()}  {was} → {now}  {c.note}")
    for key, items in result.affected.items():
        if items:
            click.echo(f"  受影响 {key}: {len(items)}")
