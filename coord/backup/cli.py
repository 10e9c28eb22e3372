"""`flask --app wsgi backup DIR | restore DIR | backup-check DIR`."""
from __future__ import annotations

import sys
from pathlib import Path

import click
from flask import Flask

from coord.backup import services


def register(app: Flask) -> None:
    app.cli.add_command(backup)
    app.cli.add_command(restore)
    app.cli.add_command(backup_check)


@click.command("backup")
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
def backup(directory: Path) -> None:
    """Write a consistent backup (database, stored files, PDF store, audit checkpoints, manifest) into DIRECTORY."""
    try:
        report = services.backup(directory)
    except services.BackupError as err:
        click.echo(f"备份失败 / backup failed: {err.message}", err=True)
        sys.exit(1)
    m = report.manifest
    click.echo(f"备份完成 / backup written: {directory} — {m['dialect']}, {report.rows} rows in {len(m['tables'])} "
               f"tables, {report.files} files, audit head {m['audit']['entries']} entries.")


@click.command("restore")
@click.argument("directory", type=click.Path(exists=True, file_okay=False, path_type=Path))
def restore(directory: Path) -> None:
    """Restore DIRECTORY into an empty database and empty storage; then check records, files and the audit chain."""
    try:
        report = services.restore(directory)
    except services.BackupError as err:
        click.echo(f"恢复失败 / restore refused: {err.message}", err=True)
        sys.exit(1)
    if report.problems:
        click.echo("恢复后校验失败 / restored, but the checks failed:", err=True)
        for problem in report.problems:
            click.echo(f"  {problem}", err=True)
        sys.exit(1)
    click.echo(f"恢复完成 / restored: {report.rows} rows, {report.files} files; audit trail verified.")


@click.command("backup-check")
@click.argument("directory", type=click.Path(exists=True, file_okay=False, path_type=Path))
def backup_check(directory: Path) -> None:
    """Check a backup's manifest and every file's SHA-256 without restoring it (e.g. an off-site copy)."""
    try:
        manifest = services.check(directory)
    except services.BackupError as err:
        click.echo(f"备份无效 / backup invalid: {err.message}", err=True)
        sys.exit(1)
    click.echo(f"备份完好 / backup intact: {manifest['created_at']}, {manifest['dialect']}.")
