"""Rows for ``digestmail posts``: every post, and whether and why it is in the issue.

Kept apart from the command so the same rows feed the JSON, CSV and table outputs, and so the
JSON shape (a contract scripts and the Hugo comparison test rely on) is defined in one place.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from digestmail.models import Post, Reason, Selection
from digestmail.selection import is_published

if TYPE_CHECKING:
    from rich.table import Table

JSON_FIELDS = (
    "path",
    "section",
    "slug",
    "title",
    "front_matter_title",
    "date",
    "publish_date",
    "expiry_date",
    "lastmod",
    "draft",
    "categories",
    "tags",
    "author",
    "permalink",
    "selected",
    "reason",
    "warnings",
)


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


def post_rows(
    posts: Iterable[Post],
    selection: Selection | None,
    *,
    now: datetime,
    use_headline: bool = True,
) -> list[dict[str, Any]]:
    """One dict a post, newest first.

    With a selection, ``selected`` and the reason it is out of that issue; without one, the
    reason a site built at ``now`` would not show the post (draft, future, expired), if any.
    ``title`` is the title a digest shows (the body's heading for a placeholder title, unless
    the list says ``title_from = "front_matter"``); ``front_matter_title`` is Hugo's, as written.
    """
    chosen: set[str] = set()
    reasons: dict[str, Reason] = {}
    if selection is not None:
        chosen = {p.rel_path for p in selection.posts}
        reasons = {e.post.rel_path: e.reason for e in selection.excluded}
    rows: list[dict[str, Any]] = []
    # Newest first by the instant, not the text: offsets differ between posts.
    ordered = sorted(
        posts,
        key=lambda p: (p.date.timestamp() if p.date else float("-inf"), p.rel_path),
        reverse=True,
    )
    for post in ordered:
        # post.shown(...).title, without making a Headline for every post of a big site
        headline = post.headline if use_headline else None
        row: dict[str, Any] = {
            "path": post.rel_path,
            "section": post.section,
            "slug": post.slug,
            "title": headline.title if headline is not None else post.title.strip(),
            "front_matter_title": post.title,
            "date": _iso(post.date),
            "publish_date": _iso(post.publish_date),
            "expiry_date": _iso(post.expiry_date),
            "lastmod": _iso(post.lastmod),
            "draft": post.draft,
            "categories": list(post.categories),
            "tags": list(post.tags),
            "author": post.author,
            "permalink": post.permalink,
            "warnings": list(post.warnings),
        }
        if selection is not None:
            row["selected"] = post.rel_path in chosen
            reason = reasons.get(post.rel_path)
            row["reason"] = reason.value if reason else None
        else:
            unpublished = Reason.INCOMPLETE if post.incomplete else is_published(post, now)
            row["reason"] = unpublished.value if unpublished else None
        rows.append(row)
    return rows


def _row_encoder() -> Callable[[dict[str, Any]], str]:
    """One row as ``json.dumps(row, ensure_ascii=False)`` writes it.

    ``JSONEncoder.encode`` builds a new C encoder for every call, which was half the time of
    1,500 rows; the same C encoder, made once, encodes them all (``json.dumps`` itself makes
    it so). Without the C accelerator (another Python), the encoder's own method.
    """
    options = json.JSONEncoder(ensure_ascii=False)
    make = getattr(json.encoder, "c_make_encoder", None)
    if make is None:  # pragma: no cover - CPython has it
        return options.encode
    encode = make(
        None,  # no check for circular references: rows hold plain values only
        options.default,
        json.encoder.encode_basestring,
        None,  # no indent
        options.key_separator,
        options.item_separator,
        options.sort_keys,
        options.skipkeys,
        options.allow_nan,
    )
    return lambda row: "".join(encode(row, 0))


def to_json(rows: Sequence[dict[str, Any]]) -> str:
    """One line per post: readable in a terminal, and the encoder stays on its fast C path."""
    return "[\n" + ",\n".join(map(_row_encoder(), rows)) + "\n]"


# What makes Excel, LibreOffice and Google Sheets read a cell as a formula (OWASP's list).
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_safe(text: str) -> str:
    """``text`` as a CSV cell a spreadsheet shows as text, never runs as a formula.

    CSV from digestmail is opened by editors in a spreadsheet, and a post title or a
    subscriber's name written by someone else (``=HYPERLINK(...)``, ``+1+1``, ``@SUM(..)``)
    would otherwise be a formula that can leak data or run commands. As OWASP recommends
    ("CSV Injection"), a cell starting with ``= + - @``, a tab or a carriage return gets a
    leading single quote; the CSV writer's quoting handles separators and quotes. Scripts
    that need the exact values read ``--format json``.
    """
    return "'" + text if text.startswith(_FORMULA_STARTS) else text


def _csv_cell(value: Any) -> Any:
    """A row value as one CSV cell: None empty, lists joined by ';' with each item made safe
    (a spreadsheet that splits on ';', as German Excel does, starts a cell at each item)."""
    if isinstance(value, list):
        return ";".join(spreadsheet_safe(str(item)) for item in value)
    if isinstance(value, str):
        return spreadsheet_safe(value)
    return "" if value is None else value


def to_csv(rows: Sequence[dict[str, Any]]) -> str:
    out = io.StringIO()
    fields = [f for f in JSON_FIELDS if not rows or f in rows[0]]
    writer = csv.DictWriter(out, fieldnames=fields, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: _csv_cell(v) for k, v in row.items()})
    return out.getvalue()


def to_table(rows: Sequence[dict[str, Any]], *, title: str) -> Table:
    from rich.markup import escape  # only the table for people needs rich
    from rich.table import Table

    with_selection = bool(rows) and "selected" in rows[0]
    table = Table(title=title, title_justify="left", expand=False)
    table.add_column("date", no_wrap=True)
    table.add_column("title")
    table.add_column("categories")
    table.add_column("path", style="dim")
    if with_selection:
        table.add_column("in?", no_wrap=True)
    for row in rows:
        date = (row["date"] or "—")[:10]
        cells = [
            date,
            escape(row["title"]) if row["title"] else "[i](no title)[/i]",
            escape(", ".join(row["categories"])),
            escape(row["path"]),
        ]
        if with_selection:
            cells.append("[green]yes[/]" if row["selected"] else f"[dim]{row['reason']}[/]")
        elif row["reason"]:
            cells[1] += f" [yellow]({row['reason']})[/]"
        table.add_row(*cells)
    return table
