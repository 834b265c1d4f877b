"""The ``digestmail`` command line.

Thin on purpose: parse options, call the pipeline, print for people on stderr and for machines on
stdout, and map errors to the exit codes of the contract (0 done, 1 permanent failures, 2 bad
input and nothing sent, 75 temporary: run again to resume).
"""

from __future__ import annotations

import importlib
from typing import Any

import click

from digestmail import __version__
from digestmail.cli.common import PROGRAM, State

# Each command's name, module and function. A command's module is imported when the command
# runs (or ``--help`` lists it), not at start-up: ``posts`` never loads what ``send`` needs.
COMMANDS: dict[str, tuple[str, str]] = {
    "posts": ("posts", "posts"),
    "build": ("build", "build"),
    "send": ("send", "send"),
    "status": ("status", "status"),
    "unsubscribe": ("subscribers", "unsubscribe"),
    "subscribers": ("subscribers", "subscribers"),
    "check": ("check", "check"),
    "run-due": ("run_due", "run_due"),
    "backup": ("backup", "backup"),
    "serve": ("serve", "serve"),
    "preview": ("preview", "preview"),
    "suppressions": ("suppressions", "suppressions"),
    "inbox": ("inbox", "inbox"),
    "dkim": ("dkim", "dkim"),
}


class LazyGroup(click.Group):
    """A group that imports a command's module on first use; listed and run as if added."""

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        """The program's own entry (console script, ``python -m``); tests call ``main()``."""
        PROGRAM.entry = True
        return super().__call__(*args, **kwargs)

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*self.commands, *COMMANDS})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self.commands and cmd_name in COMMANDS:
            module, attr = COMMANDS[cmd_name]
            command = getattr(importlib.import_module(f"digestmail.cli.{module}"), attr)
            self.add_command(command, cmd_name)
        return self.commands.get(cmd_name)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--config",
    "config_path",
    metavar="PATH",
    type=click.Path(dir_okay=False, path_type=str),
    help="Config file. Default: $DIGESTMAIL_CONFIG, then ./config/digestmail.toml.",
)
@click.option(
    "--log-format",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="Log lines when not on a terminal: plain text, or one JSON object a line.",
)
@click.version_option(__version__, prog_name="digestmail")
@click.pass_context
def main(ctx: click.Context, config_path: str | None, log_format: str) -> None:
    """Turn a Hugo site's posts into an email digest and send it to subscriber lists.

    \b
    Typical month:
      digestmail posts --list monthly          what is in the digest, and why the rest is not
      digestmail build --list monthly          write out/<issue>.html to check in a browser
      digestmail send --list monthly           send it (asks first; --yes for scripts)

    Exit codes: 0 done; 1 some deliveries failed permanently; 2 bad usage, config, content or
    subscriber file (nothing was sent); 75 temporary: run the same command again to resume.
    """
    ctx.obj = State(config_path, log_format)


if __name__ == "__main__":  # pragma: no cover
    main()
