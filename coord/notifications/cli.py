"""`flask --app wsgi send-digests`, also run by the worker (Huey periodic task, from 08:30 on working days)."""
from __future__ import annotations

import click
from flask import Flask


def register(app: Flask) -> None:
    from coord.notifications import tasks  # noqa: F401 - registers the periodic task with the queue

    app.cli.add_command(send_digests)


@click.command("send-digests")
def send_digests() -> None:
    """Queue today's notification digests (only on a working day, from 08:30)."""
    from coord.notifications.services import send_digests as run

    click.echo(f"已加入发件队列的通知汇总 / digests queued: {run()}")
