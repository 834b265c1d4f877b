"""``digestmail backup PATH``: a consistent, self-contained copy of the ledger, even mid-send."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import pytest

from digestmail.config import load_config
from digestmail.deliver.job import SendJob
from digestmail.deliver.send import send_issue
from digestmail.deliver.transports.base import Gate, SendResult
from digestmail.deliver.transports.memory import MemoryTransport
from digestmail.ledger.backup import backup_ledger
from digestmail.ledger.store import Ledger
from digestmail.models import OutgoingMessage
from digestmail.subscribers.reader import read_subscribers
from tests.helpers.cli import Cli
from tests.helpers.mail import TinyFactory, make_issue
from tests.helpers.project import MakeProject


class SlowTransport(MemoryTransport):
    """A MemoryTransport whose every message takes a little while, so a send lasts."""

    async def connect(self) -> _Slow:  # type: ignore[override]
        return _Slow(await super().connect())


class _Slow:
    def __init__(self, inner: object) -> None:
        self._inner = inner

    @property
    def usable(self) -> bool:
        return True

    async def send(
        self, sender: str, message: OutgoingMessage, *, gate: Gate | None = None
    ) -> SendResult:
        await asyncio.sleep(0.002)
        return await self._inner.send(sender, message, gate=gate)  # type: ignore[attr-defined,no-any-return]

    async def close(self) -> None:
        return None


def sent_rows(path: Path) -> set[str]:
    db = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    try:
        rows = db.execute("SELECT email FROM deliveries WHERE status = 'sent'").fetchall()
    finally:
        db.close()
    return {str(r[0]) for r in rows}


def test_a_backup_taken_during_a_send_holds_every_committed_row(
    make_project: MakeProject, tmp_path: Path
) -> None:
    emails = [f"leser{i:04d}@example.net" for i in range(1500)]
    config = load_config(make_project(subscribers="email\n" + "\n".join(emails) + "\n"))
    target = tmp_path / "copy" / "ledger.sqlite"
    target.parent.mkdir()
    seen: dict[str, set[str]] = {}

    async def main() -> None:
        with Ledger.open(config.state.path) as ledger:
            job = SendJob(config, config.get_list("monthly"), make_issue(), ledger)
            sending = asyncio.create_task(
                send_issue(
                    job,
                    transport=SlowTransport(connections=2),
                    make_factory=TinyFactory,
                    recipients=read_subscribers(config.get_list("monthly").subscribers),
                )
            )
            while len(sent_rows(config.state.path)) < 300:
                await asyncio.sleep(0.01)
            seen["before"] = sent_rows(config.state.path)  # committed before the backup began
            await asyncio.to_thread(backup_ledger, config.state.path, target)
            assert not sending.done()  # the backup really was taken mid-send
            report = await sending
            assert report.exit_code == 0

    asyncio.run(main())

    assert sorted(p.name for p in target.parent.iterdir()) == ["ledger.sqlite"]  # no -wal
    in_copy = sent_rows(target)
    assert seen["before"] <= in_copy < set(emails)
    with Ledger.open(target) as copy:  # opens as a ledger, the issue with it
        stored = copy.get_issue("monthly-2017-11")
        assert stored is not None and stored.issue.subject == make_issue().subject


def test_the_command_refuses_to_overwrite_without_force(
    make_project: MakeProject, cli: Cli, tmp_path: Path
) -> None:
    config_path = make_project()
    config = load_config(config_path)
    target = tmp_path / "backup.sqlite"

    missing = cli.invoke("--config", str(config_path), "backup", str(target))
    assert missing.exit_code == 2 and "no ledger here yet" in missing.output

    with Ledger.open(config.state.path) as ledger:
        ledger.suppress("weg@example.org", list_key=None, reason="test")
    done = cli.invoke("--config", str(config_path), "backup", str(target))
    assert done.exit_code == 0, done.output
    assert "backed up" in done.output
    with Ledger.open(target) as copy:
        assert copy.is_suppressed("weg@example.org", list_key="monthly")

    again = cli.invoke("--config", str(config_path), "backup", str(target))
    assert again.exit_code == 2 and "exists; use --force" in again.output
    forced = cli.invoke("--config", str(config_path), "backup", str(target), "--force")
    assert forced.exit_code == 0, forced.output
    itself = cli.invoke("--config", str(config_path), "backup", str(config.state.path), "--force")
    assert itself.exit_code == 2 and "is the ledger itself" in itself.output


@pytest.mark.parametrize("suffix", ["-wal", "-shm"])
def test_the_command_never_writes_over_the_ledgers_own_files(
    make_project: MakeProject, cli: Cli, suffix: str
) -> None:
    config_path = make_project()
    state = load_config(config_path).state.path
    Ledger.open(state).close()
    done = cli.invoke("--config", str(config_path), "backup", f"{state}{suffix}", "--force")
    assert done.exit_code == 2 and "is the ledger itself" in done.output
