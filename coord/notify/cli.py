"""`flask --app wsgi worker`: the Huey consumer that delivers the outbox."""
from __future__ import annotations

import logging

import click
from flask import Flask

from coord.notify import tasks


def register(app: Flask) -> None:
    tasks.configure(app)  # every app (web, worker, tests) points the queue at its storage
    app.cli.add_command(worker)


@click.command("worker")
@click.option("--workers", "-w", default=2, show_default=True, help="Worker threads.")
def worker(workers: int) -> None:
    """Run the background worker (mail delivery, periodic outbox sweep)."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    consumer = tasks.huey.create_consumer(workers=workers, worker_type="thread", periodic=True)
    click.echo(f"后台任务进程 / worker: {workers} threads, queue {tasks.huey.storage.__class__.__name__}")
    consumer.run()
