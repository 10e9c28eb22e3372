"""`flask --app wsgi announce-due-visits`, also run hourly by the worker (Huey periodic task)."""
from __future__ import annotations

import click
from flask import Flask


def register(app: Flask) -> None:
    from coord.interviews import tasks  # noqa: F401 - registers the periodic task with the queue

    app.cli.add_command(announce_due_visits)


@click.command("announce-due-visits")
def announce_due_visits() -> None:
    """Announce the follow-up visits that are due (notifications follow)."""
    from coord.interviews.reminders import announce_due_visits as run

    click.echo(f"到期回访 / visits due: {run()}")
