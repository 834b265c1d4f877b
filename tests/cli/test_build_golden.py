"""Golden output of ``digestmail build`` for the shipped sample site, byte for byte.

The sample project (config, content, templates) is copied into a temp dir and built once for
October 2026 at a fixed ``--now``; the three files it writes are compared with the snapshots in
``__snapshots__/test_build_golden/`` (real .html, .txt and .eml files: open them in a browser or
a mail client). After an intended change to the output, review and refresh them with
``pytest tests/cli/test_build_golden.py --snapshot-update`` and commit the new files.

The snapshots are text, so a failure shows a line diff: the previews must have no CR at all,
and the message must end every line with CRLF (checked here), which the snapshot stores as LF.
Only the ``Date`` header depends on the wall clock (``build`` stamps the message when it is
built, not at ``--now``); it is checked here and then replaced by a fixed value. The Message-ID
is kept: it is derived from the issue and the address alone, and must stay stable, since a
resumed send reuses it.
"""

from __future__ import annotations

import email.utils
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from syrupy.assertion import SnapshotAssertion
from syrupy.extensions.single_file import SingleFileSnapshotExtension, WriteMode

from tests.helpers.cli import Cli
from tests.helpers.project import copy_sample

PERIOD = "2026-10"
ISSUE = f"monthly-{PERIOD}"
NOW = "2026-11-24T12:00"
SITE_TZ = ZoneInfo("Europe/Berlin")  # the sample config's [site] timezone
FIXED_DATE = b"Date: Tue, 24 Nov 2026 12:00:00 +0100\r\n"  # NOW, in place of the clock
DATE_LINE = re.compile(rb"\ADate: ([^\r\n]+)\r\n")


class HtmlSnapshot(SingleFileSnapshotExtension):
    file_extension = "html"
    _write_mode = WriteMode.TEXT


class TextSnapshot(SingleFileSnapshotExtension):
    file_extension = "txt"
    _write_mode = WriteMode.TEXT


class EmlSnapshot(SingleFileSnapshotExtension):
    file_extension = "eml"
    _write_mode = WriteMode.TEXT


EXTENSIONS: dict[str, type[SingleFileSnapshotExtension]] = {
    "html": HtmlSnapshot,
    "txt": TextSnapshot,
    "eml": EmlSnapshot,
}


@dataclass(frozen=True)
class Build:
    out: Path
    started: datetime
    finished: datetime


@pytest.fixture(scope="module")
def build(tmp_path_factory: pytest.TempPathFactory, cli: Cli) -> Build:
    """``digestmail build`` run once on a copy of the sample project, as a user runs it."""
    project = copy_sample(tmp_path_factory.mktemp("sample"))
    started = datetime.now(UTC).replace(microsecond=0)
    done = cli.run("build", "--list", "monthly", "--period", PERIOD, "--now", NOW, cwd=project)
    finished = datetime.now(UTC)
    assert done.returncode == 0, done.stderr
    out = project / "out"
    assert sorted(p.name for p in out.iterdir()) == sorted(f"{ISSUE}.{ext}" for ext in EXTENSIONS)
    return Build(out=out, started=started, finished=finished)


def without_clock(raw: bytes, build: Build) -> bytes:
    """The message with its Date header, checked first, replaced by :data:`FIXED_DATE`."""
    found = DATE_LINE.match(raw)
    assert found, "the message starts with its Date header"
    assert raw.count(b"\r\nDate: ") == 0, "one Date header"
    stamped = email.utils.parsedate_to_datetime(found.group(1).decode("ascii"))
    assert build.started <= stamped <= build.finished + timedelta(seconds=1), "the build's time"
    assert stamped.utcoffset() == stamped.astimezone(SITE_TZ).utcoffset(), "in site time"
    return FIXED_DATE + raw[found.end() :]


@pytest.mark.parametrize("ext", list(EXTENSIONS))
def test_build_output_matches_the_snapshot(
    build: Build, snapshot: SnapshotAssertion, ext: str
) -> None:
    raw = (build.out / f"{ISSUE}.{ext}").read_bytes()
    if ext == "eml":
        raw = without_clock(raw, build)
        bare = raw.replace(b"\r\n", b"")
        assert b"\r" not in bare and b"\n" not in bare, "every line of the message ends in CRLF"
        raw = raw.replace(b"\r\n", b"\n")
    else:
        assert b"\r" not in raw, "the previews have the machine's line ends"
    assert raw.decode("utf-8") == snapshot(extension_class=EXTENSIONS[ext])
