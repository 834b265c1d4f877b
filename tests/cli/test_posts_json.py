"""``posts --format json`` writes each row exactly as ``json.dumps`` would, one row a line."""

from __future__ import annotations

import json
from typing import Any

from digestmail.cli.listing import to_json

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
