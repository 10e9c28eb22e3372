"""`flask --app wsgi audit-verify | audit-checkpoint`."""
from __future__ import annotations

import sys

import click
from flask import Flask


def register(app: Flask) -> None:
    from coord.audit import tasks  # noqa: F401 - registers the periodic checkpoint with the queue

    app.cli.add_command(audit_verify)
    app.cli.add_command(audit_checkpoint)
    app.cli.add_command(pg_grants)


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


# Tables whose rows are evidence: the application may add rows, never change or remove them
# (login_event rows older than the retention period may be deleted; a trigger guards the rest).
APPEND_ONLY = ("audit_entry",)
KEEP_ROWS = ("login_event",)


def grants_sql(role: str) -> str:
    """The privileges of the application's PostgreSQL role (the owner runs the migrations)."""
    quoted = '"' + role.replace('"', '""') + '"'
    lines = [
        f"GRANT USAGE ON SCHEMA public TO {quoted};",
        f"REVOKE ALL ON ALL TABLES IN SCHEMA public FROM {quoted};",
        f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {quoted};",
        f"REVOKE UPDATE, DELETE, TRUNCATE ON {', '.join(APPEND_ONLY)} FROM {quoted};",
        f"REVOKE UPDATE, TRUNCATE ON {', '.join(KEEP_ROWS)} FROM {quoted};",
        f"REVOKE INSERT, UPDATE, DELETE ON alembic_version FROM {quoted};",
        f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {quoted};",
    ]
    return "\n".join(lines) + "\n"


@click.command("pg-grants")
@click.argument("role")
def pg_grants(role: str) -> None:
    """Print the GRANT/REVOKE statements for the application's PostgreSQL ROLE (run them with psql
    as the owner after every `db upgrade`): no TRUNCATE, UPDATE or DELETE on the audit trail."""
    click.echo(grants_sql(role), nl=False)
