"""Issue 14, item 7: no tracebacks for people, whatever path the system refuses.

``build --out`` to an unwritable or non-directory path once ended in a PermissionError or
NotADirectoryError traceback. Every command is walked here with an output, state or outbox path
that cannot be used; each must end with one line naming the path and a documented exit code.

"A path under a regular file" (ENOTDIR) fails even for root, so it runs everywhere. Permission
bits (EACCES) do not stop root: those cases run the CLI as ``nobody`` through setpriv, or skip.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import Result

from tests.helpers.cli import Cli, clean_env
from tests.helpers.paths import REPO
from tests.helpers.project import copy_sample

PERIOD = "2026-10"
NOW = "2026-11-24T12:00"
DUE = "2026-11-02T09:00"
DOCUMENTED = {2, 75}
"""An unusable path is something to fix (2); a Maildir the transport cannot reach is 75, as
``errors.TransportError`` documents."""

COMMANDS: dict[str, tuple[str, ...]] = {
    "posts": ("posts", "--list", "monthly", "--now", NOW),
    "build": ("build", "--list", "monthly", "--period", PERIOD, "--now", NOW),
    "send": ("send", "--list", "monthly", "--period", PERIOD, "--now", NOW, "--yes"),
    "status": ("status",),
    "unsubscribe": ("unsubscribe", "someone@example.org"),
    "subscribers check": ("subscribers", "check", "--list", "monthly"),
    "check": ("check",),
    "run-due": ("run-due", "--now", DUE),
}
WRITES_STATE = {"send", "unsubscribe", "run-due"}
"""The others only read the ledger, and an absent one is an empty one to them."""
USES_OUTBOX = {"send", "run-due"}


def _set(config: Path, old: str, new: str) -> None:
    text = config.read_text(encoding="utf-8")
    assert old in text
    config.write_text(text.replace(old, new, 1), encoding="utf-8")


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = copy_sample(tmp_path / "project")
    (root / "blocker").write_text("a regular file, not a folder\n", encoding="utf-8")
    return root


def _one_line_error(stderr: str, path: str, code: int) -> None:
    """The run ended with an ``error:`` line naming ``path``, a documented code, no traceback."""
    assert "Traceback" not in stderr, stderr
    assert code in DOCUMENTED, stderr
    errors = [line for line in stderr.splitlines() if line.startswith("error:")]
    assert errors, stderr
    assert any(path in line for line in errors), stderr


def _fine_or_one_line(result: Result, path: str) -> None:
    """A command that need not touch the path: it succeeds, or it names the path; no traceback."""
    if result.exit_code == 0:
        assert "Traceback" not in _output(result)
    else:
        _one_line_error(_output(result), path, result.exit_code)


def _output(result: Result) -> str:
    return result.output  # stdout and stderr, interleaved: what a person sees


def _run(cli: Cli, project: Path, command: str, *extra: str) -> Result:
    return cli.invoke(*COMMANDS[command], *extra, cwd=project)


# --- paths under a regular file: ENOTDIR, even for root -----------------------------------------


@pytest.mark.parametrize("command", list(COMMANDS))
def test_state_under_a_file(project: Path, cli: Cli, command: str) -> None:
    _set(project / "config/digestmail.toml", 'path = "state/', 'path = "blocker/')
    result = _run(cli, project, command)
    if command in WRITES_STATE:
        assert result.exit_code == 2, _output(result)
        _one_line_error(_output(result), str(project / "blocker"), result.exit_code)
    else:
        _fine_or_one_line(result, str(project / "blocker"))


@pytest.mark.parametrize("command", list(COMMANDS))
def test_outbox_under_a_file(project: Path, cli: Cli, command: str) -> None:
    config = project / "config/digestmail.toml"
    _set(config, 'maildir = "outbox"', 'maildir = "blocker/outbox"')
    _set(config, "max_attempts = 5", "max_attempts = 2\nretry_max_delay = 0")  # no waiting
    result = _run(cli, project, command)
    if command in USES_OUTBOX:
        assert result.exit_code != 0, _output(result)
        _one_line_error(_output(result), str(project / "blocker" / "outbox"), result.exit_code)
    else:
        _fine_or_one_line(result, str(project / "blocker"))


@pytest.mark.parametrize("where", ["blocker", "blocker/out"])
def test_build_out_is_a_file_or_under_one(project: Path, cli: Cli, where: str) -> None:
    """In a process of its own: the exact stderr and exit code a person or cron sees.

    ``--out`` naming a file is refused by click's own check of the option, before any work.
    """
    done = cli.run(*COMMANDS["build"], "--out", where, cwd=project)
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    if where == "blocker":
        assert "Invalid value for '--out': Directory 'blocker' is a file." in done.stderr
    else:
        _one_line_error(done.stderr, str(project / "blocker" / "out"), done.returncode)
        assert "Not a directory" in done.stderr
        assert done.stderr.count("error:") == 1


def test_send_with_the_archive_under_a_file(project: Path, cli: Cli) -> None:
    """The archive is written once the issue is finished: the mail has left, the page cannot.

    Exit 75, never 2 (that would say nothing was sent); running again once the path is fixed
    writes the page and sends nothing.
    """
    config = project / "config/digestmail.toml"
    _set(config, 'archive_dir = "archive"', 'archive_dir = "blocker"')
    result = _run(cli, project, "send")
    assert result.exit_code == 75, _output(result)
    said = " ".join(_output(result).split())
    assert "Traceback" not in said
    assert "web archive not written" in said and f"{project / 'blocker'}/monthly: Not a" in said
    _set(config, 'archive_dir = "blocker"', 'archive_dir = "archive"')
    again = _run(cli, project, "send")
    assert again.exit_code == 0, _output(again)
    assert (project / "archive" / "monthly" / f"monthly-{PERIOD}.html").is_file()


# --- permission bits: as nobody when root --------------------------------------------------------


def _unprivileged_prefix() -> list[str]:
    """How to run the CLI so that permission bits apply; skips when that is impossible."""
    if os.name != "posix":
        pytest.skip("file permissions as tested here are POSIX")
    if os.geteuid() != 0:
        return []
    if not shutil.which("setpriv"):
        pytest.skip("running as root without setpriv: root writes read-only folders anyway")
    prefix = ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups"]
    probe = subprocess.run(
        [*prefix, sys.executable, "-c", "import digestmail.cli"],
        env=_child_env(),
        capture_output=True,
        text=True,
        timeout=60,
        cwd="/",
        check=False,
    )
    if probe.returncode != 0:
        pytest.skip(f"cannot run this Python as nobody: {probe.stderr.strip()[-200:]}")
    return prefix


def _child_env() -> dict[str, str]:
    env = clean_env()
    src = str(REPO / "src")
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [src, env.get("PYTHONPATH")]))
    env["HOME"] = "/tmp"
    return env


@pytest.fixture
def open_project() -> Iterator[Path]:
    """The sample project in a temp dir every user may enter and write, as nobody needs it."""
    root = Path(tempfile.mkdtemp(prefix="digestmail-oserr-"))
    try:
        copy_sample(root / "project")
        for path in [root, *root.rglob("*")]:
            path.chmod(0o777 if path.is_dir() else 0o666)
        yield root / "project"
    finally:
        for path in [root, *root.rglob("*")]:
            if not path.is_symlink():
                path.chmod(0o777)
        shutil.rmtree(root)


def _run_unprivileged(project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*_unprivileged_prefix(), sys.executable, "-m", "digestmail", *args],
        env=_child_env(),
        capture_output=True,
        text=True,
        timeout=120,
        cwd=project,
        check=False,
    )


def test_build_out_to_a_read_only_folder(open_project: Path) -> None:
    locked = open_project / "locked"
    locked.mkdir(mode=0o555)
    locked.chmod(0o555)
    done = _run_unprivileged(open_project, *COMMANDS["build"], "--out", "locked/out")
    assert done.returncode == 2, done.stderr
    _one_line_error(done.stderr, str(locked), done.returncode)
    assert "Permission denied" in done.stderr


@pytest.mark.parametrize("command", sorted(WRITES_STATE))
def test_state_in_a_read_only_folder(open_project: Path, command: str) -> None:
    locked = open_project / "state"
    locked.mkdir(mode=0o555)
    locked.chmod(0o555)
    done = _run_unprivileged(open_project, *COMMANDS[command])
    assert done.returncode == 2, done.stderr
    _one_line_error(done.stderr, str(locked), done.returncode)


# --- the mapping itself ---------------------------------------------------------------------


def test_the_message_names_both_paths_and_what_to_do() -> None:
    from digestmail.cli.common import describe_os_error, os_error_exit_code

    moved = OSError(13, "Permission denied", "out/a.tmp", None, "out/a.html")
    text = describe_os_error(moved)
    assert text.startswith(f"{Path('out/a.tmp').absolute()} -> {Path('out/a.html').absolute()}")
    assert "Permission denied (the user running digestmail may not use it" in text
    assert os_error_exit_code(moved) == 2
    assert describe_os_error(OSError("no path at all")) == "OSError: no path at all"
    assert os_error_exit_code(ConnectionResetError(104, "Connection reset by peer")) == 75
