"""`flask --app wsgi send-reminders`, also run hourly by the worker (Huey periodic task)."""
from __future__ import annotations

import click
from flask import Flask


def register(app: Flask) -> None:
    from coord.referrals import tasks  # noqa: F401 - registers the periodic task with the queue

    app.cli.add_command(send_reminders)


@click.command("send-reminders")
def send_reminders() -> None:
    """Queue e-mail reminders for leads near or past a deadline (once per lead per clock)."""
    from coord.referrals.reminders import send_reminders as run

    count = run()
    click.echo(f"已加入发件队列的线索提醒 / reminders queued: {count}")
