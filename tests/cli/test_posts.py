"""``digestmail posts``: the contract scripts rely on, run through the real command."""

from __future__ import annotations

import csv
import io
import json

from tests.helpers.cli import Cli
from tests.helpers.project import MakeProject

POSTS = {
    "veranstaltungstipp/werkstatt.md": """
        ---
        title: "Werkstatt Bürgerhaushalt"
        date: "2017-11-10"
        categories: "veranstaltungstipp"
        tags: [""]
        ---
        Termin: 8. Dezember 2017
        """,
    "veranstaltungstipp/spaet.md": """
        ---
        title: "Spät am Monatsende"
        date: 2017-11-30T23:30:00
        categories: ["Veranstaltungstipp"]
        ---
        Noch im November.
        """,
    "veranstaltungstipp/entwurf.md": """
        ---
        title: "Entwurf"
        date: "2017-11-12"
        draft: true
        categories: veranstaltungstipp
        ---
        Nicht fertig.
        """,
    "nachricht/neu.md": """
        ---
        title: "Neuigkeit"
        date: "2017-11-11"
        categories: nachricht
        ---
        Andere Kategorie.
        """,
    "veranstaltungstipp/oktober.md": """
        ---
        title: "Oktober"
        date: "2017-10-31"
        categories: veranstaltungstipp
        ---
        Vorher.
        """,
}


def test_json_lists_every_post_with_selection_and_reason(
    make_project: MakeProject, cli: Cli
) -> None:
    cfg = make_project(posts=POSTS)
    done = cli.run(
        "--config",
        str(cfg),
        "posts",
        "--list",
        "monthly",
        "--period",
        "2017-11",
        "--format",
        "json",
    )
    assert done.returncode == 0, done.stderr
    rows = {row["path"]: row for row in json.loads(done.stdout)}
    assert set(rows) == set(POSTS)
    for row in rows.values():
        for key in ("section", "slug", "title", "date", "publish_date", "expiry_date", "draft"):
            assert key in row
        assert {"categories", "tags", "permalink", "selected", "reason"} <= set(row)
    assert rows["veranstaltungstipp/werkstatt.md"]["selected"] is True
    assert rows["veranstaltungstipp/werkstatt.md"]["date"] == "2017-11-10T00:00:00+01:00"
    assert rows["veranstaltungstipp/werkstatt.md"]["tags"] == []
    # 23:30 local time on the last day of the month is still November.
    assert rows["veranstaltungstipp/spaet.md"]["selected"] is True
    assert rows["veranstaltungstipp/spaet.md"]["reason"] is None
    assert rows["veranstaltungstipp/entwurf.md"]["reason"] == "draft"
    assert rows["nachricht/neu.md"]["reason"] == "category"
    assert rows["veranstaltungstipp/oktober.md"]["reason"] == "period"
    assert rows["veranstaltungstipp/werkstatt.md"]["permalink"].startswith(
        "https://example.org/veranstaltungstipp/2017/11/"
    )


def test_csv_has_a_header_and_a_row_per_post(make_project: MakeProject, cli: Cli) -> None:
    cfg = make_project(posts=POSTS)
    done = cli.run(
        "--config", str(cfg), "posts", "--list", "monthly", "--period", "2017-11", "--format", "csv"
    )
    assert done.returncode == 0, done.stderr
    rows = list(csv.DictReader(io.StringIO(done.stdout)))
    assert len(rows) == len(POSTS)
    assert {r["reason"] for r in rows} >= {"draft", "category", "period", ""}


def test_broken_post_is_named_with_line_and_the_rest_still_listed(
    make_project: MakeProject, cli: Cli
) -> None:
    broken = {"veranstaltungstipp/kaputt.md": '---\ntitle: "Kaputt\ndate: 2017-11-01\n---\nText\n'}
    cfg = make_project(posts={**POSTS, **broken})
    done = cli.run("--config", str(cfg), "posts", "--format", "json")
    assert done.returncode == 2
    assert len(json.loads(done.stdout)) == len(POSTS)
    assert "kaputt.md:" in done.stderr
    line = done.stderr.split("kaputt.md:")[1].split(":")[0]
    assert line.isdigit() and 2 <= int(line) <= 4


def test_bad_period_and_unknown_list_exit_2_with_a_clear_message(
    make_project: MakeProject, cli: Cli
) -> None:
    cfg = make_project(posts=POSTS)
    done = cli.run("--config", str(cfg), "posts", "--list", "monthly", "--period", "2017-13")
    assert done.returncode == 2
    assert "2017-13" in done.stderr
    done = cli.run("--config", str(cfg), "posts", "--list", "weekly")
    assert done.returncode == 2
    assert "weekly" in done.stderr and "monthly" in done.stderr
    done = cli.run(
        "--config", str(cfg), "posts", "--period", "2017-11"
    )  # a period without a list selects nothing
    assert done.returncode == 2
    assert "give --list too" in done.stderr


def test_table_goes_to_stderr_and_stdout_stays_clean(make_project: MakeProject, cli: Cli) -> None:
    cfg = make_project(posts=POSTS)
    done = cli.run("--config", str(cfg), "posts", "--list", "monthly", "--period", "2017-11")
    assert done.returncode == 0, done.stderr
    assert done.stdout == ""
    assert "Werkstatt" in done.stderr
