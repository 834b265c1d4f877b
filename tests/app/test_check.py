"""``check`` finds every problem of a project in one run, each naming its file and line or key."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from digestmail.app.check import run_checks
from digestmail.render.theme import default_theme_dir
from tests.helpers.project import MakeProject

GOOD_TIP = """\
---
title: "Stadtteilkonferenz"
date: "2026-10-12"
categories: veranstaltungstipp
---
Alle Bürger*innen sind eingeladen.
"""

BROKEN_TIP = """\
---
title: "Kaputt"
date: "2026-10-13"
categories: [veranstaltungstipp
---
Die Liste der Kategorien ist nicht geschlossen.
"""

WEEKLY_LIST = """
[lists.weekly]
from = "Woche <woche@example.org>"
subscribers = "config/subscribers/monthly.csv"
categories = ["veranstaltungstipp"]
cadence = "week"
schedule = "0 25 * * 1"
"""


def test_one_run_reports_a_broken_post_a_bad_template_a_bad_cron_and_a_bad_subscriber(
    make_project: MakeProject,
) -> None:
    cfg = make_project(
        posts={
            "veranstaltungstipp/gut.md": GOOD_TIP,
            "veranstaltungstipp/kaputt.md": BROKEN_TIP,
        },
        subscribers="email,name\nanna@example.org,Anna\nbernd-at-example.org,Bernd\n",
        extra_config='template = "./mein-theme"\n' + WEEKLY_LIST,
    )
    theme = cfg.parent.parent / "mein-theme"  # the default theme with one broken line
    shutil.copytree(default_theme_dir(), theme)
    (theme / "digest.html.j2").write_text(
        "<html>\n<body>\n{% for tip in tips %}\n{{ tip.title }\n</body>\n</html>\n",
        encoding="utf-8",
    )
    report = run_checks(cfg)
    text = "\n".join(str(p) for p in report.problems)

    assert not report.ok
    assert report.exit_code == 2
    by_area = {p.area: p.message for p in report.errors}
    assert set(by_area) == {"content", "template", "schedule", "subscribers"}, text
    # the broken post: its file and the line of the bad front matter
    assert "veranstaltungstipp/kaputt.md:4" in by_area["content"], text
    # the bad template: its file and line, and the list that uses it
    assert "mein-theme/digest.html.j2:4" in by_area["template"], text
    assert "lists.monthly" in by_area["template"], text
    # the bad cron expression: the config file and the key
    assert str(cfg.resolve()) in by_area["schedule"], text
    assert "lists.weekly.schedule" in by_area["schedule"], text
    # the bad subscriber row: file and line, once although both lists read that file
    subs = cfg.parent / "subscribers" / "monthly.csv"
    assert f"{subs}:3" in by_area["subscribers"], text
    assert "bernd-at-example.org" in by_area["subscribers"], text
    assert len([p for p in report.problems if p.area == "subscribers"]) == 1, text


def test_a_bad_subject_template_names_the_key(make_project: MakeProject) -> None:
    cfg = make_project(extra_config='subject = "{{ list.name }"\n')
    (problem,) = run_checks(cfg).problems
    assert problem.area == "template"
    assert problem.message.startswith("lists.monthly.subject: ")


def test_duplicates_are_warnings_and_do_not_fail_the_check(make_project: MakeProject) -> None:
    cfg = make_project(subscribers="email\nanna@example.org\nANNA@example.org\n")
    report = run_checks(cfg)
    assert report.ok
    (warning,) = report.warnings
    assert "monthly.csv:3" in warning.message


def test_a_subscriber_file_without_any_address_fails_the_check(make_project: MakeProject) -> None:
    report = run_checks(make_project(subscribers="email,name\n"))
    assert [p.message for p in report.errors] == [
        f"{report.config_path.parent / 'subscribers' / 'monthly.csv'}: no address to mail (0 rows)"
    ]


def test_a_clean_project_passes_and_says_what_was_checked(make_project: MakeProject) -> None:
    cfg = make_project(posts={"veranstaltungstipp/gut.md": GOOD_TIP})
    report = run_checks(cfg)
    assert report.ok, [str(p) for p in report.problems]
    assert report.exit_code == 0
    assert "1 post" in report.checked
    assert "list monthly: 1 subscriber" in report.checked


def test_a_config_that_cannot_be_loaded_is_the_only_problem(make_project: MakeProject) -> None:
    cfg = make_project(extra_config="colour = 'blue'\n", subscribers="not,a,csv\n")
    report = run_checks(cfg)
    assert [p.area for p in report.problems] == ["config"]
    assert "lists.monthly.colour" in report.problems[0].message


def test_every_bad_cron_expression_is_reported_not_just_the_first(
    make_project: MakeProject,
) -> None:
    cfg = make_project(extra_config='schedule = "0 8 1 13 *"\n' + WEEKLY_LIST)
    keys = [p.message for p in run_checks(cfg).problems if p.area == "schedule"]
    assert len(keys) == 2
    assert "lists.monthly.schedule" in keys[0]
    assert "lists.weekly.schedule" in keys[1]


def test_a_schedule_that_never_fires_is_a_problem(make_project: MakeProject) -> None:
    cfg = make_project(extra_config='schedule = "0 8 30 2 *"\n')
    (problem,) = [p for p in run_checks(cfg).problems if p.area == "schedule"]
    assert "lists.monthly.schedule" in problem.message
    assert "never fires" in problem.message


def test_a_missing_subscriber_file_is_named(make_project: MakeProject, tmp_path: Path) -> None:
    cfg = make_project()
    (tmp_path / "config" / "subscribers" / "monthly.csv").unlink()
    (problem,) = [p for p in run_checks(cfg).problems if p.area == "subscribers"]
    assert "monthly.csv" in problem.message


def test_a_signed_unsubscribe_link_without_its_secret_is_a_config_problem(
    make_project: MakeProject, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("DIGESTMAIL_SECRET", raising=False)
    cfg = make_project(extra_config='unsubscribe_url = "https://example.org/ab?t={token}"\n')
    (problem,) = run_checks(cfg).problems
    assert problem.area == "config"
    assert "lists.monthly.unsubscribe_url" in problem.message
    assert "DIGESTMAIL_SECRET" in problem.message
    monkeypatch.setenv("DIGESTMAIL_SECRET", "a-long-random-test-secret")
    assert run_checks(cfg).problems == ()


def test_posts_already_read_are_not_read_again(
    make_project: MakeProject, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The preview hands ``check`` the posts it has read: the same problems, one read."""
    from digestmail.app import check
    from digestmail.config import load_config
    from digestmail.content.reader import load_posts

    cfg = make_project(
        posts={"veranstaltungstipp/gut.md": GOOD_TIP, "veranstaltungstipp/kaputt.md": BROKEN_TIP}
    )
    content = load_posts(load_config(cfg).site)
    expected = run_checks(cfg).problems

    def read_again(*_: object) -> None:
        raise AssertionError("posts read a second time")

    monkeypatch.setattr(check, "load_posts", read_again)
    report = run_checks(cfg, content=content)
    assert report.problems == expected
    assert any("kaputt.md" in p.message for p in report.problems)
