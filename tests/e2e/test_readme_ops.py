"""The README's crontab line and systemd units work as written.

The test reads them out of README.md, puts the shipped sample project where they expect it
(``/srv/digestmail`` becomes a temp dir), and runs the exact command they contain.
"""

from __future__ import annotations

import configparser
import mailbox
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers.cli import Cli
from tests.helpers.paths import REPO

README = (REPO / "README.md").read_text(encoding="utf-8")
SRV = "/srv/digestmail"


def fenced(lang: str) -> list[str]:
    return re.findall(rf"^```{lang}\n(.*?)^```", README, re.S | re.M)


@pytest.fixture
def srv(tmp_path: Path) -> Path:
    """The sample project, installed the way the README's examples assume."""
    root = tmp_path / "srv" / "digestmail"
    for name in ("config", "content", "templates"):
        shutil.copytree(REPO / name, root / name)
    bin_dir = root / ".venv" / "bin"
    bin_dir.mkdir(parents=True)
    installed = Path(sys.executable).parent / "digestmail"
    assert installed.exists(), "digestmail must be installed next to the test interpreter"
    (bin_dir / "digestmail").symlink_to(installed)
    # No state/ yet: a fresh deployment has none (it is git-ignored), and the examples must cope.
    # The environment file exactly as the README shows it.
    (env_example,) = [
        b
        for b in fenced("sh")
        if "DIGESTMAIL_SECRET=" in b and all(re.match(r"[A-Z_]+=", x) for x in b.splitlines())
    ]
    (root / "digestmail.env").write_text(env_example, encoding="utf-8")
    return root


def clean_env() -> dict[str, str]:
    """What cron and systemd give a job: no DIGESTMAIL_* of ours, a minimal PATH."""
    return Cli.env({"PATH": "/usr/bin:/bin"})


def sent_or_recorded(root: Path) -> None:
    """run-due either mailed the due sample issue into the Maildir or recorded why not."""
    status = subprocess.run(
        [str(root / ".venv" / "bin" / "digestmail"), "status", "--format", "json"],
        cwd=root,
        env=Cli.env(),
        capture_output=True,
        text=True,
        check=True,
    )
    assert '"id": "monthly-' in status.stdout
    outbox = root / "outbox"
    if outbox.exists():
        for msg in mailbox.Maildir(outbox, create=False):
            assert msg["List-Id"]


def test_crontab_line_runs_as_written(srv: Path) -> None:
    (block,) = fenced("crontab")
    lines = [line for line in block.splitlines() if line.strip() and not line.startswith("#")]
    assert len(lines) == 1
    fields = lines[0].split(None, 5)
    assert fields[:5] == ["0", "*", "*", "*", "*"], "hourly"
    command = fields[5].replace(SRV, str(srv))
    # cron runs the command with /bin/sh from the user's home directory.
    done = subprocess.run(
        ["/bin/sh", "-c", command], cwd=srv.parent, env=clean_env(), timeout=120, check=False
    )
    log = (srv / "state" / "run-due.log").read_text(encoding="utf-8")
    assert done.returncode == 0, log
    assert "monthly-" in log
    sent_or_recorded(srv)


def test_systemd_units_run_as_written(srv: Path) -> None:
    blocks = fenced("ini")
    service_text = next(b for b in blocks if "digestmail.service" in b)
    timer_text = next(b for b in blocks if "digestmail.timer" in b)
    service = configparser.ConfigParser(strict=False, interpolation=None)
    service.optionxform = str  # type: ignore[assignment,method-assign]
    service.read_string(service_text)
    timer = configparser.ConfigParser(strict=False, interpolation=None)
    timer.optionxform = str  # type: ignore[assignment,method-assign]
    timer.read_string(timer_text)
    assert timer["Timer"]["OnCalendar"] == "hourly"
    assert timer["Install"]["WantedBy"] == "timers.target"

    svc = service["Service"]
    assert svc["Type"] == "oneshot"
    workdir = svc["WorkingDirectory"].replace(SRV, str(srv))
    env = clean_env()
    env_file = Path(svc["EnvironmentFile"].replace(SRV, str(srv)))
    for line in env_file.read_text(encoding="utf-8").splitlines():
        key, _, value = line.partition("=")
        env[key] = value
    argv = shlex.split(svc["ExecStart"].replace(SRV, str(srv)))
    allowed = {0, *(int(x) for x in svc.get("SuccessExitStatus", "").split())}
    done = subprocess.run(argv, cwd=workdir, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode in allowed, done.stderr
    sent_or_recorded(srv)
    # A second run in the same hour has nothing left to do.
    again = subprocess.run(argv, cwd=workdir, env=env, capture_output=True, text=True, timeout=120)
    assert again.returncode == 0, again.stderr
