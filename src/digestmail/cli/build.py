"""``digestmail build``: an issue written to files, to check before anyone gets it."""

from __future__ import annotations

from pathlib import Path

import click
from rich.markup import escape
from rich.table import Table

from digestmail.cli.common import (
    LIST_OPTION,
    NOW_OPTION,
    PERIOD_OPTION,
    config_of,
    err_console,
    handle_errors,
    make_issue,
    resolve_now,
)
from digestmail.models import Recipient


@click.command()
@LIST_OPTION
@PERIOD_OPTION
@NOW_OPTION
@click.option(
    "--out",
    "out_dir",
    metavar="DIR",
    type=click.Path(file_okay=False, path_type=Path),
    help="Where to write the files. Default: out/ in the project directory.",
)
@click.option("--allow-empty", is_flag=True, help="Build even when no post is selected.")
@click.pass_context
@handle_errors
def build(
    ctx: click.Context,
    list_key: str,
    period: str,
    now: str | None,
    out_dir: Path | None,
    allow_empty: bool,
) -> None:
    """Build an issue without sending it, to check it in a browser and a mail client.

    Writes DIR/<issue>.html (open it in a browser), DIR/<issue>.txt (the plain-text part) and
    DIR/<issue>.eml (the complete message for the list's first subscriber; open it in a mail
    client), and prints a summary. Nothing is recorded: build as often as you like.
    """
    from digestmail.cli import views
    from digestmail.message import MessageFactory, secret_from_env
    from digestmail.render import GMAIL_CLIP_BYTES
    from digestmail.subscribers import read_subscribers

    config = config_of(ctx)
    list_cfg = config.get_list(list_key)
    selection, issue = make_issue(
        config, list_cfg, period=period, now=resolve_now(config, now), allow_empty=allow_empty
    )
    sample = next(
        (r for r in read_subscribers(list_cfg.subscribers) if isinstance(r, Recipient)),
        Recipient(email="leserin@example.org", name="Erika Mustermann"),
    )
    factory = MessageFactory(issue, config=config, list_cfg=list_cfg, secret=secret_from_env())
    message = factory.build(sample)
    out = out_dir if out_dir is not None else config.project_dir / "out"
    out.mkdir(parents=True, exist_ok=True)
    html_path, text_path, eml_path = (out / f"{issue.id}.{ext}" for ext in ("html", "txt", "eml"))
    html, text = views.message_parts(message.data)
    # The wire's CRLF is for the .eml; the previews get the line ends of the machine.
    html_path.write_text(html.replace("\r\n", "\n"), encoding="utf-8")
    text_path.write_text(text.replace("\r\n", "\n"), encoding="utf-8")
    eml_path.write_bytes(message.data)

    html_size = len(html.encode("utf-8"))
    table = Table(show_header=False, box=None, pad_edge=False)
    table.add_row("issue", issue.id)
    table.add_row("subject", escape(issue.subject))
    table.add_row("tips", str(len(selection.posts)))
    table.add_row("html", f"{html_size / 1024:.1f} KB  {html_path}")
    table.add_row("text", f"{len(text.encode('utf-8')) / 1024:.1f} KB  {text_path}")
    table.add_row("message", f"{len(message.data) / 1024:.1f} KB  {eml_path} (to {sample.email})")
    err_console.print(table)
    for warning in issue.warnings:
        err_console.print(f"[yellow]warning:[/] {escape(warning)}", soft_wrap=True)
    if html_size > GMAIL_CLIP_BYTES:
        err_console.print(
            f"[yellow]warning:[/] the HTML is {html_size / 1024:.0f} KB; Gmail clips messages "
            f"over {GMAIL_CLIP_BYTES / 1024:.0f} KB. Fewer tips or shorter summaries help."
        )
