"""The ``cli`` fixture itself: no ``DIGESTMAIL_*`` of the caller reaches a run, unless given.

``$DIGESTMAIL_CONFIG`` is the probe: set in this process to a working project, a run from an
empty directory must still find no config, unless the test passes the variable on itself.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.helpers.cli import Cli
from tests.helpers.project import MakeProject


@pytest.fixture
def config_in_env(make_project: MakeProject, monkeypatch: pytest.MonkeyPatch) -> Path:
    cfg = make_project()
    monkeypatch.setenv("DIGESTMAIL_CONFIG", str(cfg))
    monkeypatch.setenv("DIGESTMAIL_SECRET", "a-secret-of-the-caller")
    return cfg


def test_an_in_process_run_sees_only_the_digestmail_variables_the_test_gives(
    cli: Cli, config_in_env: Path, tmp_path: Path
) -> None:
    empty = tmp_path / "elsewhere"
    empty.mkdir()
    dropped = cli.invoke("posts", "--format", "json", cwd=empty)
    assert dropped.exit_code != 0
    assert "config file not found" in dropped.output
    given = cli.invoke(
        "posts", "--format", "json", cwd=empty, env={"DIGESTMAIL_CONFIG": str(config_in_env)}
    )
    assert given.exit_code == 0, given.output
    assert os.environ["DIGESTMAIL_CONFIG"] == str(config_in_env), "restored after the run"
    assert Path.cwd() != empty, "and the working directory too"


def test_a_subprocess_run_sees_only_the_digestmail_variables_the_test_gives(
    cli: Cli, config_in_env: Path, tmp_path: Path
) -> None:
    empty = tmp_path / "elsewhere"
    empty.mkdir()
    dropped = cli.run("posts", "--format", "json", cwd=empty)
    assert dropped.returncode != 0
    assert "config file not found" in dropped.stderr
    given = cli.run(
        "posts", "--format", "json", cwd=empty, env={"DIGESTMAIL_CONFIG": str(config_in_env)}
    )
    assert given.returncode == 0, given.stderr
    assert not [k for k in Cli.env() if k.startswith("DIGESTMAIL_")]
    assert Cli.env({"DIGESTMAIL_SECRET": "x"})["DIGESTMAIL_SECRET"] == "x"
