"""``posts --format json``: each row exactly as ``json.dumps`` writes it, one row a line, and
all of them out when the program ends."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import digestmail
from digestmail.cli.listing import to_json
from tests.helpers.cli import clean_env

SRC = Path(digestmail.__file__).resolve().parent.parent

ROWS: list[dict[str, Any]] = [
    {
        "path": "blog/ä ö ü/tipp.md",
        "title": 'Zitat: "Bürger*innen" \\ Rückfrage\tTab\nZeile\u2028\x7f\x00 🎉',
        "date": None,
        "draft": False,
        "selected": True,
        "categories": ["veranstaltungstipp", "Ärger"],
        "tags": [],
        "warnings": ["no date: set date (or publishDate) in the front matter"],
        "reason": None,
    },
    {"path": "b.md", "title": "", "count": 3, "share": 0.5, "params": {"ort": ["Köln", None]}},
]


def test_each_row_is_what_json_dumps_writes() -> None:
    text = to_json(ROWS)
    lines = text.split("\n")
    assert lines[0] == "[" and lines[-1] == "]"
    assert lines[1:-1] == [json.dumps(row, ensure_ascii=False) + "," for row in ROWS[:-1]] + [
        json.dumps(ROWS[-1], ensure_ascii=False)
    ]
    assert json.loads(text) == ROWS


def test_no_posts_is_an_empty_list() -> None:
    assert json.loads(to_json([])) == []


def _program(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    """``python -m digestmail`` as its own process: the way ``posts`` ends it at once."""
    env = clean_env()
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(SRC), env.get("PYTHONPATH")]))
    return subprocess.run(
        [sys.executable, "-m", "digestmail", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_the_program_ends_with_all_its_output_and_its_exit_code(tmp_path: Path) -> None:
    """``posts`` ends the process without tearing the interpreter down: every row and every
    error line must still be out, and the exit code the one of the contract."""
    (tmp_path / "digestmail.toml").write_text(
        '[site]\ntitle = "T"\nbase_url = "https://example.org/"\n', encoding="utf-8"
    )
    content = tmp_path / "content" / "blog"
    content.mkdir(parents=True)
    for number in range(500):  # more than a pipe holds: the buffer must be flushed
        (content / f"post-{number:03d}.md").write_text(
            f'---\ntitle: "Beitrag {number} mit Ümlaut"\ndate: 2017-11-10\n---\nText.\n',
            encoding="utf-8",
        )
    done = _program(["--config", "digestmail.toml", "posts", "--format", "json"], tmp_path)
    assert done.returncode == 0, done.stderr
    assert len(json.loads(done.stdout)) == 500

    (content / "kaputt.md").write_text("---\ntitle: [offen\n---\nText.\n", encoding="utf-8")
    done = _program(["--config", "digestmail.toml", "posts", "--format", "json"], tmp_path)
    assert done.returncode == 2
    assert len(json.loads(done.stdout)) == 500
    assert "kaputt.md" in done.stderr
