"""`flask mail-in` (one message on standard input, as an MTA pipes it, like RT's rt-mailgate) and
`flask mail-poll` (one pass over the IMAP mailbox, what the worker does every minute)."""
from __future__ import annotations

import sys

import click
from flask import Flask, current_app
from sqlalchemy.exc import SQLAlchemyError

from coord.extensions import db
from coord.mailin import imap, services, tasks  # noqa: F401  (tasks: registers the worker's periodic poll)
from coord.mailin.parse import Unreadable

EX_DATAERR, EX_TEMPFAIL = 65, 75  # sysexits.h: the MTA bounces 65 and retries 75


def register(app: Flask) -> None:
    app.cli.add_command(mail_in)
    app.cli.add_command(mail_poll)


@click.command("mail-in")
def mail_in() -> None:
    """Read one RFC 5322 message on standard input and process or quarantine it.

    Exit 0 when the message was processed, quarantined or recognised as a duplicate (the line
    printed says which); 65 when the input is not a message at all; 75 when the database could
    not be reached (the MTA keeps the message and tries again)."""
    # Never more than the limit (plus one byte, to know it was over) in memory.
    raw = sys.stdin.buffer.read(int(current_app.config.get("MAILIN_MAX_BYTES", 25 << 20)) + 1)
    try:
        outcome = services.process_message(raw, "stdin")
    except Unreadable as err:
        click.echo(f"unreadable: {err}", err=True)
        sys.exit(EX_DATAERR)
    except SQLAlchemyError as err:
        db.session.rollback()
        click.echo(f"tempfail: 数据库暂时不可用，请稍后重试（{type(err).__name__}）", err=True)
        sys.exit(EX_TEMPFAIL)
    click.echo(outcome.line)


@click.command("mail-poll")
def mail_poll() -> None:
    """Read the IMAP mailbox once (COORD_IMAP_*), as the worker does every minute."""
    if not imap.configured(current_app.config):
        click.echo("COORD_IMAP_HOST 未设置：没有要读取的邮箱。", err=True)
        sys.exit(1)
    result = imap.poll(current_app.config)
    for line in result.lines:
        click.echo(line)
    click.echo(result.summary)
    sys.exit(1 if result.failed else 0)
