"""`flask --app wsgi audit-verify | audit-checkpoint`."""
from __future__ import annotations

import sys

import click
from flask import Flask


def register(app: Flask) -> None:
    from coord.audit import tasks  # noqa: F401 - registers the periodic checkpoint with the queue

    app.cli.add_command(audit_verify)
    app.cli.add_command(audit_checkpoint)


@click.command("audit-verify")
@click.option("--no-checkpoints", is_flag=True, help="Check the chain only, not against the checkpoint file.")
def audit_verify(no_checkpoints: bool) -> None:
    """Check the audit chain and the checkpoints; exit 1 and name each problem if broken."""
    from coord.audit.chain import verify

    result = verify(checkpoints=not no_checkpoints)
    for warning in result.warnings:
        click.echo(f"注意 / note: {warning}")
    if result.ok:
        click.echo(f"审计链完整 / audit trail intact: {result.checked} entries verified, "
                   f"{result.checkpoints} checkpoints matched.")
        return
    click.echo(f"审计链被破坏 / audit trail broken ({result.checked} entries read, "
               f"{result.checkpoints} checkpoints):")
    for problem in result.problems:
        where = f"entry id={problem.entry_id}" if problem.entry_id is not None else "table"
        click.echo(f"  [{problem.kind}] {where}: {problem.message}")
    sys.exit(1)


@click.command("audit-checkpoint")
@click.option("--force", is_flag=True, help="Write a line even if the head has not moved.")
def audit_checkpoint(force: bool) -> None:
    """Append the audit chain's count and head hash to the checkpoint file (COORD_AUDIT_CHECKPOINT_FILE)."""
    from coord.audit.chain import write_checkpoint

    point = write_checkpoint(force=force)
    if point is None:
        click.echo("审计链无变化，未写检查点 / head unchanged, no checkpoint written.")
    else:
        click.echo(f"检查点 / checkpoint: {point.entries} entries, head id={point.head_id} {point.head}")
