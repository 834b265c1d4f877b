"""Log lines for cron and log collectors, and nothing for a person at a terminal.

On a TTY people get rich progress bars and tables; without one (cron, systemd) every event is a
single plain line with time, level, issue and counts, or one JSON object a line with
``--log-format json``, so a log collector needs no parser of its own.
"""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime
from typing import TextIO


class EventLog:
    """Writes events to stderr as ``text`` lines or ``json`` objects."""

    def __init__(self, *, fmt: str = "text", stream: TextIO | None = None) -> None:
        self.fmt = fmt
        self.stream = stream if stream is not None else sys.stderr

    def event(self, level: str, message: str, /, **fields: object) -> None:
        now = datetime.now(UTC).isoformat(timespec="seconds")
        if self.fmt == "json":
            record: dict[str, object] = {"time": now, "level": level, "message": message}
            record.update(fields)
            line = json.dumps(record, ensure_ascii=False, default=str)
        else:
            pairs = " ".join(f"{k}={_plain(v)}" for k, v in fields.items())
            line = f"{now} {level.upper():<7} {message}" + (f" {pairs}" if pairs else "")
        print(line, file=self.stream, flush=True)

    def info(self, message: str, /, **fields: object) -> None:
        self.event("info", message, **fields)

    def warning(self, message: str, /, **fields: object) -> None:
        self.event("warning", message, **fields)

    def error(self, message: str, /, **fields: object) -> None:
        self.event("error", message, **fields)


def _plain(value: object) -> str:
    """One token per value, so ``key=value`` pairs stay splittable on spaces."""
    text = str(value)
    if not text or any(c.isspace() for c in text) or '"' in text:
        return json.dumps(text, ensure_ascii=False)
    return text
