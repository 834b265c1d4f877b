"""The web archive: every sent issue as a static page, plus an index the site can publish.

The email's "view in browser" link points at ``<archive_url><list>/<issue>.html``, so the page
must exist as soon as the first subscriber can click it, must never be half-written when a web
server reads it, and must carry nothing that belongs to one recipient (no unsubscribe token, no
name). Each issue also leaves a small JSON sidecar with its subject and period, so the index can be
rebuilt from the directory alone, without the ledger and without parsing HTML.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, fields
from datetime import datetime
from html import escape
from pathlib import Path

from digestmail.config import Config, ListConfig
from digestmail.errors import ConfigError, UsageError
from digestmail.models import Issue
from digestmail.render import web_version
from digestmail.selection import parse_period, period_label

INDEX = "index.html"
_SAFE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
_FILE_MODE = 0o644
"""Archive pages are meant for a web server, which rarely runs as the user who sends."""


@dataclass(frozen=True, slots=True)
class ArchiveEntry:
    """What the index shows of one archived issue."""

    id: str
    subject: str
    period: str
    period_label: str
    period_start: str
    """ISO 8601; sorts the index newest first without parsing period keys again."""


def write_archive(issue: Issue, *, config: Config, list_cfg: ListConfig) -> Path:
    """Write the issue's web version and refresh the list's index; return the page's path.

    Writing the same issue again (a resumed send) replaces the page with identical content.
    """
    for name, key in ((list_cfg.key, f"lists.{list_cfg.key}"), (issue.id, "issue id")):
        if not _SAFE_NAME.match(name):
            raise ConfigError(
                f"{name!r} cannot be used as a file name in the archive "
                "(letters, digits, '.', '_' and '-' only)",
                path=config.path,
                key=key,
            )
    folder = config.site.archive_dir / list_cfg.key
    folder.mkdir(parents=True, exist_ok=True)
    page = folder / f"{issue.id}.html"
    _atomic_write(page, web_version(issue))
    try:
        period = parse_period(
            issue.period, cadence=list_cfg.cadence, now=_epoch(config), tz=config.site.timezone
        )
        label, start = period_label(period, config.site.language), period.start.isoformat()
    except UsageError:  # not a period key (an issue stored by hand): list it as it is named
        label, start = issue.period, issue.period
    entry = ArchiveEntry(
        id=issue.id,
        subject=issue.subject,
        period=issue.period,
        period_label=label,
        period_start=start,
    )
    _atomic_write(folder / f"{issue.id}.json", json.dumps(asdict(entry), ensure_ascii=False))
    with _locked(folder):
        _atomic_write(
            folder / INDEX, render_index(read_entries(folder), config=config, list_cfg=list_cfg)
        )
    return page


def read_entries(folder: Path) -> list[ArchiveEntry]:
    """The archived issues in ``folder``, newest period first; unreadable sidecars are skipped."""
    entries: list[ArchiveEntry] = []
    for sidecar in folder.glob("*.json"):
        try:
            data = json.loads(sidecar.read_text(encoding="utf-8"))
            entry = ArchiveEntry(**{f.name: str(data[f.name]) for f in fields(ArchiveEntry)})
        except (OSError, ValueError, KeyError, TypeError):
            continue
        if (folder / f"{entry.id}.html").exists():
            entries.append(entry)
    entries.sort(key=lambda e: (e.period_start, e.id), reverse=True)
    return entries


def render_index(entries: list[ArchiveEntry], *, config: Config, list_cfg: ListConfig) -> str:
    """A small, valid HTML5 page linking every issue; every value from data is escaped."""
    title = f"{list_cfg.name} – {config.site.title}"
    items = "\n".join(
        f'    <li><a href="{escape(e.id, quote=True)}.html">{escape(e.subject)}</a>'
        f" <small>{escape(e.period_label)}</small></li>"
        for e in entries
    )
    return (
        "<!DOCTYPE html>\n"
        f'<html lang="{escape(config.site.language, quote=True)}">\n'
        "<head>\n"
        '  <meta charset="utf-8">\n'
        '  <meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"  <title>{escape(title)}</title>\n"
        "  <style>body{font-family:sans-serif;max-width:40em;margin:2em auto;padding:0 1em;"
        "line-height:1.5}li{margin:.4em 0}small{color:#555}</style>\n"
        "</head>\n"
        "<body>\n"
        f"  <h1>{escape(list_cfg.name)}</h1>\n"
        f'  <p><a href="{escape(config.site.base_url, quote=True)}">'
        f"{escape(config.site.title)}</a></p>\n"
        "  <ul>\n"
        f"{items}\n"
        "  </ul>\n"
        "</body>\n"
        "</html>\n"
    )


def _epoch(config: Config) -> datetime:
    """parse_period wants a ``now``; for an explicit period key its value does not matter."""
    return datetime(2000, 1, 1, tzinfo=config.site.timezone)


def _atomic_write(path: Path, text: str) -> None:
    """Write to a temporary file beside ``path`` and rename it over: readers see old or new."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        Path(tmp).chmod(_FILE_MODE)
        Path(tmp).replace(path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


@contextmanager
def _locked(folder: Path) -> Iterator[None]:
    """Serialise index rebuilds so two runs archiving at once cannot drop each other's entry."""
    with (folder / ".index.lock").open("a") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
