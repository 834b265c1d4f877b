"""``digestmail backup PATH``: a safe copy of the ledger, also while a send runs."""

from __future__ import annotations

from pathlib import Path

import click

from digestmail.cli.common import config_of, err_console, handle_errors


@click.command()
@click.argument("path", type=click.Path(path_type=Path))
@click.option("--force", is_flag=True, help="Overwrite PATH when it exists.")
@click.pass_context
@handle_errors
def backup(ctx: click.Context, path: Path, force: bool) -> None:
    """Copy the ledger to PATH: one self-contained SQLite file, consistent even mid-send.

    Uses SQLite's online backup, so a send may go on meanwhile; a plain copy of the file could
    miss what is still in its -wal. To restore, stop every run and put the copy in place of
    the ledger, removing the ledger's -wal and -shm files with it.
    """
    from digestmail.ledger.backup import backup_ledger

    config = config_of(ctx)
    done = backup_ledger(config.state.path, path, force=force)
    err_console.print(
        f"backed up {done.source} to {done.target}: {done.issues} issue(s), "
        f"{done.deliveries} delivery row(s), {done.size // 1024} KiB",
        soft_wrap=True,
        markup=False,
        highlight=False,
    )
