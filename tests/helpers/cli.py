"""The one way tests run ``digestmail``: :class:`Cli`, given to tests as the ``cli`` fixture.

Every run starts from this process's environment with each ``DIGESTMAIL_*`` variable removed,
so a developer's or CI's own settings (``DIGESTMAIL_CONFIG``, ``DIGESTMAIL_SECRET``, ...) never
leak into a test; a test that needs one passes it in ``env``. Two ways to run:

- :meth:`Cli.invoke`: click's ``CliRunner`` in this process (fast; a simulated year of
  ``run-due`` would spend most of its time starting interpreters otherwise);
- :meth:`Cli.run` / :meth:`Cli.popen`: ``python -m digestmail`` in a process of its own, for
  exit codes, signals, terminals and anything that must not share this interpreter.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from click.testing import CliRunner, Result

PREFIX = "DIGESTMAIL_"
COMMAND = (sys.executable, "-m", "digestmail")


def clean_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """This process's environment without any ``DIGESTMAIL_*`` variable, then ``extra``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(PREFIX)}
    env.update(extra or {})
    return env


class Cli:
    """Runs ``digestmail ARGS`` in a clean environment; see the module docstring."""

    command = COMMAND

    @staticmethod
    def env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
        return clean_env(extra)

    def invoke(
        self,
        *args: str,
        env: Mapping[str, str] | None = None,
        cwd: Path | None = None,
        catch_exceptions: bool = False,
    ) -> Result:
        """In this process; ``result.output`` holds stdout and stderr as they interleaved."""
        from digestmail.cli import main

        # CliRunner sets these for the call and restores the environment afterwards; None
        # removes a variable.
        overrides: dict[str, str | None] = {k: None for k in os.environ if k.startswith(PREFIX)}
        overrides.update(env or {})
        with contextlib.chdir(cwd) if cwd is not None else contextlib.nullcontext():
            return CliRunner().invoke(
                main, list(args), env=overrides, catch_exceptions=catch_exceptions
            )

    def run(
        self,
        *args: str,
        env: Mapping[str, str] | None = None,
        cwd: Path | None = None,
        timeout: float = 120,
    ) -> subprocess.CompletedProcess[str]:
        """``python -m digestmail ARGS`` to completion, output captured as text."""
        return subprocess.run(
            [*self.command, *args],
            cwd=cwd,
            env=clean_env(env),
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )

    def popen(
        self,
        *args: str,
        env: Mapping[str, str] | None = None,
        cwd: Path | None = None,
        **popen: Any,
    ) -> subprocess.Popen[str]:
        """``python -m digestmail ARGS`` started, not waited for; stdout/stderr piped by default."""
        popen.setdefault("stdout", subprocess.PIPE)
        popen.setdefault("stderr", subprocess.PIPE)
        return subprocess.Popen(
            [*self.command, *args], cwd=cwd, env=clean_env(env), text=True, **popen
        )
