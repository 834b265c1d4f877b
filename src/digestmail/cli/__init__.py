"""The ``digestmail`` command line.

Thin on purpose: parse options, call the pipeline, print for people on stderr and for machines on
stdout, and map errors to the exit codes of the contract (0 done, 1 permanent failures, 2 bad
input and nothing sent, 75 temporary: run again to resume).
"""

from __future__ import annotations

import click

from digestmail import __version__
from digestmail.cli.backup import backup
from digestmail.cli.build import build
from digestmail.cli.check import check
from digestmail.cli.common import State
from digestmail.cli.posts import posts
from digestmail.cli.run_due import run_due
from digestmail.cli.send import send
from digestmail.cli.serve import serve
from digestmail.cli.status import status
from digestmail.cli.subscribers import subscribers, unsubscribe
from digestmail.cli.suppressions import suppressions


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
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


for command in (posts, build, send, status, unsubscribe, subscribers, check, run_due, backup):
    main.add_command(command)
# The subscriber side (issue 10).
for command in (serve, suppressions):
    main.add_command(command)


if __name__ == "__main__":  # pragma: no cover
    main()
