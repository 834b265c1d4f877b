"""Reading a list's subscriber CSV as a stream of recipients and of problems with their lines.

The file is read row by row and never held in memory, so a list of a million addresses costs
no more than a small one, except for duplicate detection: that remembers an 8-byte digest per
address in a flat array (about 16-24 MB for a million addresses, measured in
docs/benchmarks.md) instead of a set of strings (well over 100 MB).

Rules: UTF-8 (a byte-order mark is tolerated), a header row whose names are matched
case-insensitively and stripped, an ``email`` column (required), ``name`` (optional), every
other column passed to templates as ``subscriber.<column>`` (lower-cased header). Addresses are
checked for syntax with email-validator (no DNS) and normalised; a row that fails is reported
with its line and skipped; a later row with the same address (ignoring case) is reported as a
duplicate naming the first one's line, and skipped. A row the csv module cannot parse (a field
over :func:`csv.field_size_limit`, a stray quote) is reported the same way, and reading goes on
at the next row: an error half-way through a list must not stop a send that already began.
"""

from __future__ import annotations

import codecs
import csv
import re
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

from email_validator import EmailNotValidError

from digestmail.addresses import normalise
from digestmail.errors import SubscriberError, TemplateError
from digestmail.models import ProblemKind, Recipient
from digestmail.subscribers.csv_rows import records
from digestmail.subscribers.seen import SeenAddresses

_CHECK_BATCH = 1000
"""Addresses per call of the ``suppressed`` lookup in :func:`check_subscribers`."""

_NAME_BREAKS = re.compile(r"[\s\x00-\x1f\x7f-\x9f\u2028\u2029]+")
"""Runs of whitespace and control characters (C0 incl. NUL, DEL, C1, line and paragraph
separators): a name ends up in the To header, where each would be refused (or break the line),
so each run becomes one plain space where the name is read."""


@dataclass(frozen=True, slots=True)
class SubscriberProblem:
    """A row that will not be mailed, and why; ``line`` is where the row starts in the file."""

    line: int
    email: str
    reason: str
    kind: ProblemKind


@dataclass(frozen=True, slots=True)
class SubscriberReport:
    """What ``digestmail subscribers check`` prints."""

    path: Path
    rows: int
    """Data rows read (blank lines not counted)."""
    valid: int
    """Distinct valid addresses that would be mailed (suppressed ones not counted)."""
    invalid: int
    duplicates: int
    suppressed: int
    problems: tuple[SubscriberProblem, ...] = field(default=())
    signed_up: bool = False
    """The list has confirmed web sign-ups besides the file (the caller asked the ledger)."""

    @property
    def empty(self) -> bool:
        """Not one address in the file and no web sign-up: a send refuses such a list rather
        than mail nobody. A header-only file is fine for a list that lives on sign-ups."""
        return self.valid + self.suppressed == 0 and not self.signed_up

    @property
    def ok(self) -> bool:
        """False when a row is wrong (invalid or duplicate) or no row has an address;
        suppression is fine."""
        return self.invalid == 0 and self.duplicates == 0 and not self.empty


def _check_utf8(path: Path) -> None:
    """Fail before the first row is yielded, rather than half-way through a send."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    line = 1
    try:
        with path.open("rb") as stream:
            while chunk := stream.read(1 << 16):
                try:
                    decoder.decode(chunk)
                except UnicodeDecodeError as exc:
                    line += chunk.count(b"\n", 0, max(exc.start, 0))
                    raise SubscriberError(
                        "is not UTF-8 (save the file as UTF-8 CSV)", path=path, line=line
                    ) from exc
                line += chunk.count(b"\n")
            decoder.decode(b"", final=True)
    except UnicodeDecodeError as exc:
        raise SubscriberError(
            "is not UTF-8: it ends inside a character", path=path, line=line
        ) from exc
    except OSError as exc:
        raise _unreadable(exc, path) from exc


_EMAIL_HEADERS = frozenset({"email", "emailaddress", "emailadresse"})
"""Header names, without case, spaces, ``-`` and ``_``, that mean the address column: what
mail programs and German spreadsheets call it (``E-Mail``, ``E-Mail-Adresse``)."""

_DELIMITERS = {",": "comma", ";": "semicolon", "\t": "tab"}


_QUOTED_CELL = re.compile(r'"(?:[^"]|"")*"')


def _is_email_header(cell: str) -> bool:
    return re.sub(r"[\s_-]", "", cell.strip().casefold()) in _EMAIL_HEADERS


def _delimiter(path: Path) -> str:
    """The separator the header row uses: spreadsheets in German (and other) locales save
    "CSV" with ``;``, and a tab-separated export is common too.

    The separator that yields an address column wins (so ``email,"Name; Vorname"`` stays a
    comma file); failing that, the one used most outside quotes, commas winning a tie.
    """
    with _open(path) as stream:
        first = stream.readline()
    for candidate in _DELIMITERS:
        cells = next(csv.reader([first], delimiter=candidate), [])
        if any(_is_email_header(cell) for cell in cells):
            return candidate
    bare = _QUOTED_CELL.sub("", first)
    counts = {d: bare.count(d) for d in _DELIMITERS}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] > counts[","] else ","


@dataclass(frozen=True, slots=True)
class _Layout:
    """Where a file keeps what, read once from its header row and used for every data row."""

    email_at: int
    name_at: int | None
    extra: list[tuple[int, str]]
    """The other named columns: (position, lower-cased name)."""
    width: int
    delimiter: str


def _columns(header: list[str], path: Path, delimiter: str) -> _Layout:
    """Positions of ``email`` and ``name`` and the other named columns, from the header row."""
    names = [h.strip().lower() for h in header]
    repeated = sorted(n for n, k in Counter(n for n in names if n).items() if k > 1)
    if repeated:
        raise SubscriberError(
            f"the header names the column {repeated[0]!r} twice", path=path, line=1
        )
    email_cols = [i for i, n in enumerate(names) if _is_email_header(n)]
    if not email_cols:
        cells = " | ".join(h.strip() for h in header)
        raise SubscriberError(
            f"has no 'email' column (the header row's cells: {cells or 'none'})",
            path=path,
            line=1,
        )
    if len(email_cols) > 1:
        both = " and ".join(repr(header[i].strip()) for i in email_cols)
        raise SubscriberError(f"the header has {both}: keep one address column", path=path, line=1)
    email_at = email_cols[0]
    name_at = names.index("name") if "name" in names else None
    extra = [(i, n) for i, n in enumerate(names) if n and i != email_at and i != name_at]
    return _Layout(email_at, name_at, extra, len(header), delimiter)


def read_subscribers(
    path: Path, *, dedupe: bool = True, seen: SeenAddresses | None = None
) -> Iterator[Recipient | SubscriberProblem]:
    """Stream the rows of ``path`` in file order: a Recipient per good row, else a problem.

    Whole-file faults (missing, unreadable, not UTF-8, no ``email`` column) raise
    SubscriberError naming the path when this is called, before anything is yielded, so a
    send never starts on a file it cannot finish. ``dedupe=False`` skips duplicate detection
    (and its memory) for callers that dedupe on their own; ``seen`` is the table to dedupe in,
    for a caller that goes on to add addresses from elsewhere (:mod:`.effective`).
    """
    _check_utf8(path)
    header, delimiter = _read_header(path)
    if seen is None and dedupe:
        seen = SeenAddresses()
    return _rows(path, _columns(header, path, delimiter), seen)


def _read_header(path: Path) -> tuple[list[str], str]:
    """The header row's cells and the separator they use."""
    try:
        delimiter = _delimiter(path)
        with _open(path) as stream:
            return _header(csv.reader(stream, strict=True, delimiter=delimiter), path), delimiter
    except UnicodeDecodeError as exc:
        raise SubscriberError(
            "is not UTF-8 (save the file as UTF-8 CSV)", path=path, line=1
        ) from exc


def _open(path: Path) -> TextIO:
    try:
        return path.open(encoding="utf-8-sig", newline="")
    except OSError as exc:
        raise _unreadable(exc, path) from exc


def _unreadable(exc: OSError, path: Path) -> SubscriberError:
    if isinstance(exc, FileNotFoundError):
        return SubscriberError("subscriber file not found", path=path)
    return SubscriberError(f"cannot read the subscriber file: {exc.strerror}", path=path)


def _header(reader: Iterator[list[str]], path: Path) -> list[str]:
    try:
        header = next(reader, None)
    except csv.Error as exc:
        raise SubscriberError(f"is not valid CSV: {exc}", path=path, line=1) from exc
    if header is None:
        raise SubscriberError("is empty (it needs a header row with 'email')", path=path)
    return header


def csv_problem(exc: csv.Error, line: int) -> SubscriberProblem:
    """A row the csv module refused, as an invalid row naming its line."""
    limit = csv.field_size_limit()
    if "field larger than field limit" in str(exc):
        reason = (
            f"a field is longer than {limit} characters (a quote not closed?); "
            "the row is skipped, the rows after it are read"
        )
    else:
        reason = f"not valid CSV ({exc}); the row is skipped, the rows after it are read"
    return SubscriberProblem(line, "", reason, ProblemKind.INVALID)


def _rows(
    path: Path, layout: _Layout, seen: SeenAddresses | None
) -> Iterator[Recipient | SubscriberProblem]:
    with _open(path) as stream:
        for start, row in records(stream, layout.delimiter):
            if isinstance(row, csv.Error):
                yield csv_problem(row, start)
            elif any(cell.strip() for cell in row):  # else a blank line, or only empty cells
                yield _row(row, start, layout, seen)


def _row(
    row: list[str], line: int, layout: _Layout, seen: SeenAddresses | None
) -> Recipient | SubscriberProblem:
    email_at, name_at, width, delimiter = (
        layout.email_at,
        layout.name_at,
        layout.width,
        layout.delimiter,
    )
    raw = row[email_at].strip() if email_at < len(row) else ""
    if len(row) > width:
        mark = "Özdemir, Carla" if delimiter == "," else f"Özdemir{delimiter}Carla"
        return SubscriberProblem(
            line,
            raw,
            f"the row has {len(row)} fields but the header has {width} (put values that "
            f'contain a {_DELIMITERS[delimiter]} in double quotes: "{mark}")',
            ProblemKind.INVALID,
        )
    if not raw:
        return SubscriberProblem(line, raw, "no email address", ProblemKind.INVALID)
    try:
        email = normalise(raw)
    except EmailNotValidError as exc:
        return SubscriberProblem(
            line, raw, f"not a valid address {raw!r}: {exc}", ProblemKind.INVALID
        )
    if seen is not None:
        first = seen.add(email, line)
        if first is not None:
            return SubscriberProblem(
                line, email, f"duplicate of line {first} (mailed once)", ProblemKind.DUPLICATE
            )
    # A name ends up in the To header: any line break, tab or control character is a space.
    name = (
        _NAME_BREAKS.sub(" ", row[name_at]).strip()
        if name_at is not None and name_at < len(row)
        else ""
    )
    fields = {key: (row[i] if i < len(row) else "") for i, key in layout.extra}
    return Recipient(email=email, name=name, fields=fields, line=line)


def require_columns(path: Path, used: Iterable[str]) -> None:
    """Refuse a theme that uses ``subscriber.<column>`` for a column the file does not have.

    Such a value would render empty for every reader (a greeting "Hallo ," from a typo in
    ``subscriber.anrede``); Jinja's strict undefined cannot see it, because the values are
    only filled in per message, so it is checked here against the header row.
    """
    wanted = set(used)
    if not wanted:
        return  # most themes use no column: no need to open the file
    header, _ = _read_header(path)
    missing = sorted(wanted - {h.strip().lower() for h in header})
    if missing:
        names = ", ".join(f"subscriber.{c}" for c in missing)
        raise TemplateError(
            f"the theme uses {names}, but {path} has no such column "
            f"(its header row: {', '.join(h.strip() for h in header)})"
        )


def count_rows(path: Path) -> int | None:
    """Data rows of a subscriber file as ``subscribers check`` counts them; None if unreadable.

    For the send prompt and the progress bar's total, so it must be cheap on a million rows:
    without a double quote in the file every non-blank line is one row and the bytes are only
    scanned; with quotes (a field may span lines) the rows are parsed, still without checking
    addresses.
    """
    try:
        delimiter = _delimiter(path)
        blank = b" \t\r\n" + delimiter.encode()
        with path.open("rb") as handle:
            lines = 0
            for line in handle:
                if b'"' in line:
                    break
                lines += bool(line.strip(blank))
            else:
                return max(lines - 1, 0)
        with _open(path) as stream:
            rows = records(stream, delimiter)
            return sum(
                1 for _, row in rows if not isinstance(row, list) or any(map(str.strip, row))
            )
    except (OSError, UnicodeDecodeError, SubscriberError):
        return None


def check_subscribers(
    path: Path,
    *,
    suppressed: Callable[[Sequence[str]], set[str]] | None = None,
    signed_up: bool = False,
) -> SubscriberReport:
    """Read the whole file and count what would and would not be mailed.

    ``suppressed`` is called with batches of addresses and returns those that are suppressed
    (``lambda batch: ledger.suppressed(batch, list_key=key)``); without it nothing counts as
    suppressed. ``signed_up``: the list has confirmed web sign-ups (see ``report.empty``).
    """
    rows = valid = invalid = duplicates = 0
    problems: list[SubscriberProblem] = []
    batch: list[Recipient] = []

    def screen() -> None:
        nonlocal valid
        hit = suppressed([r.email for r in batch]) if suppressed and batch else set()
        for recipient in batch:
            if recipient.email not in hit:
                valid += 1
                continue
            reason = "unsubscribed or bounced before (suppressed in the ledger)"
            problems.append(
                SubscriberProblem(recipient.line, recipient.email, reason, ProblemKind.SUPPRESSED)
            )
        batch.clear()

    for item in read_subscribers(path):
        rows += 1
        if isinstance(item, Recipient):
            batch.append(item)
            if len(batch) >= _CHECK_BATCH:
                screen()
        else:
            duplicates += item.kind == ProblemKind.DUPLICATE
            invalid += item.kind == ProblemKind.INVALID
            problems.append(item)
    screen()
    problems.sort(key=lambda p: p.line)
    return SubscriberReport(
        path=path,
        rows=rows,
        valid=valid,
        invalid=invalid,
        duplicates=duplicates,
        suppressed=sum(1 for p in problems if p.kind == ProblemKind.SUPPRESSED),
        problems=tuple(problems),
        signed_up=signed_up,
    )
