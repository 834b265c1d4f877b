"""A CSV file's rows one at a time, where a row the csv module refuses is skipped, not fatal.

csv.reader raises csv.Error for a row it cannot parse (a field over
:func:`csv.field_size_limit`, a character after a closing quote) and carries on at the next
*physical line* it is handed, which may be in the middle of the broken row. An error half-way
through a list must not end a send that already began, nor turn the rest of the row into
rows of its own, so :func:`records` skips the rest of the broken row and hands back its error.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from typing import TextIO


class _Lines:
    """The file's physical lines as csv.reader pulls them, counted and quote-tracked.

    After csv.Error the reader starts its next row at the next line it pulls, which may be in
    the middle of the broken row's quoted field (a field over the size limit that spans lines):
    :meth:`skip_rest_of_row` drops lines until the broken row's quotes are balanced, so reading
    resumes at the row after it. A row's quotes are balanced exactly where it can end, because
    a quoted field doubles each quote inside it.
    """

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream
        self.read = 0
        """Physical lines read so far: a row starts one after the last one ended."""
        self._open_quote = False

    def __iter__(self) -> Iterator[str]:
        return self

    def __next__(self) -> str:
        line = next(self._stream)
        self.read += 1
        if line.count('"') % 2:
            self._open_quote = not self._open_quote
        return line

    def row_done(self) -> None:
        """The reader returned a row: the next one starts with balanced quotes."""
        self._open_quote = False

    def skip_rest_of_row(self) -> None:
        """Drop the lines that still belong to the row the reader just failed on."""
        while self._open_quote and next(self, None) is not None:
            pass
        self._open_quote = False


def records(stream: TextIO, delimiter: str) -> Iterator[tuple[int, list[str] | csv.Error]]:
    """(start line, cells or the csv error) for every row after the header row."""
    lines = _Lines(stream)
    reader = csv.reader(lines, strict=True, delimiter=delimiter)
    first = True
    while True:
        start = lines.read + 1
        try:
            row = next(reader, None)
        except csv.Error as exc:
            lines.skip_rest_of_row()
            if not first:
                yield start, exc
            first = False
            continue
        if row is None:
            return
        lines.row_done()
        if not first:
            yield start, row
        first = False
