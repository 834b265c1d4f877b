"""The web archive: a page per sent issue without anything personal, and an escaped index."""

from __future__ import annotations

import os
import stat
from html.parser import HTMLParser
from pathlib import Path

import pytest

from digestmail.app.archive import write_archive
from digestmail.config import Config, load_config
from digestmail.errors import ConfigError
from digestmail.message.factory import MessageFactory
from digestmail.message.unsubscribe import unsubscribe_token
from digestmail.models import Issue, Recipient
from tests.helpers.project import MakeProject


class Page(HTMLParser):
    """Collects links and text, and fails on unbalanced tags (a cheap validity check)."""

    VOID = frozenset({"meta", "link", "br", "img", "hr", "input"})

    def __init__(self, text: str) -> None:
        super().__init__()
        self.links: list[tuple[str, str]] = []
        self.text: list[str] = []
        self.open: list[str] = []
        self._href: str | None = None
        self.feed(text)
        self.close()
        assert self.open == [], f"unclosed tags: {self.open}"

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in self.VOID:
            self.open.append(tag)
        if tag == "a":
            self._href = dict(attrs).get("href") or ""

    def handle_endtag(self, tag: str) -> None:
        assert self.open and self.open[-1] == tag, f"</{tag}> closes {self.open[-1:]}"
        self.open.pop()
        self._href = None if tag == "a" else self._href

    def handle_data(self, data: str) -> None:
        self.text.append(data)
        if self._href is not None and data.strip():
            self.links.append((self._href, data))


@pytest.fixture
def config(make_project: MakeProject) -> Config:
    return load_config(
        make_project(extra_config='unsubscribe_url = "https://example.org/ab?t={token}"\n')
    )


def rendered_issue(config: Config, period: str, subject: str) -> Issue:
    """A real rendered issue (with per-recipient placeholders) for ``period``."""
    from datetime import datetime

    from digestmail.render.theme import render_issue
    from digestmail.selection.periods import parse_period
    from digestmail.selection.select import select

    list_cfg = config.lists["monthly"]
    tz = config.site.timezone
    when = parse_period(period, cadence="month", now=datetime(2026, 1, 1, tzinfo=tz), tz=tz)
    selection = select((), list_cfg=list_cfg, period=when, cutoff=when.end)
    issue = render_issue(selection, config=config, list_cfg=list_cfg)
    return Issue(
        id=issue.id,
        list_name=issue.list_name,
        period=issue.period,
        subject=subject,
        html=issue.html,
        text=issue.text,
        posts=issue.posts,
    )


def test_the_archived_page_is_the_issue_without_anything_personal(config: Config) -> None:
    issue = rendered_issue(config, "2026-10", "Tipps im Oktober")
    page = write_archive(issue, config=config, list_cfg=config.lists["monthly"])
    assert page == config.site.archive_dir / "monthly" / "monthly-2026-10.html"
    html = page.read_text(encoding="utf-8")
    # what a recipient's copy would carry for them is not in the web version
    mail = MessageFactory(
        issue, config=config, list_cfg=config.lists["monthly"], secret="s3cret"
    ).build(Recipient(email="anna@example.org", name="Anna"))
    assert b"anna" in mail.data.lower()
    assert "anna" not in html.lower()
    assert unsubscribe_token("s3cret", "monthly", "anna@example.org") not in html
    assert html.startswith(("<!DOCTYPE", "<!doctype", "<html"))


def test_the_index_lists_past_issues_newest_first_with_escaped_titles(config: Config) -> None:
    list_cfg = config.lists["monthly"]
    for period, subject in [
        ("2026-09", "September"),
        ("2026-11", "<script>alert(1)</script> & mehr"),
        ("2026-10", "Oktober"),
    ]:
        write_archive(rendered_issue(config, period, subject), config=config, list_cfg=list_cfg)
    index = (config.site.archive_dir / "monthly" / "index.html").read_text(encoding="utf-8")
    parsed = Page(index)
    assert parsed.links[1:] == [
        ("monthly-2026-11.html", "<script>alert(1)</script> & mehr"),
        ("monthly-2026-10.html", "Oktober"),
        ("monthly-2026-09.html", "September"),
    ]
    assert "<script>" not in index
    assert 'lang="de"' in index
    assert "Oktober 2026" in "".join(parsed.text)  # the period, as a reader says it


def test_archiving_again_replaces_the_page_and_keeps_one_index_entry(config: Config) -> None:
    list_cfg = config.lists["monthly"]
    issue = rendered_issue(config, "2026-10", "Oktober")
    write_archive(issue, config=config, list_cfg=list_cfg)
    write_archive(issue, config=config, list_cfg=list_cfg)
    folder = config.site.archive_dir / "monthly"
    assert Page((folder / "index.html").read_text(encoding="utf-8")).links[1:] == [
        ("monthly-2026-10.html", "Oktober")
    ]
    leftovers = [p.name for p in folder.iterdir() if p.name.endswith(".tmp")]
    assert leftovers == []


def test_pages_are_readable_by_a_web_server(config: Config) -> None:
    old = os.umask(0o077)
    try:
        page = write_archive(
            rendered_issue(config, "2026-10", "Oktober"),
            config=config,
            list_cfg=config.lists["monthly"],
        )
    finally:
        os.umask(old)
    for path in (page, page.parent / "index.html"):
        assert path.stat().st_mode & stat.S_IROTH


def test_a_list_key_that_would_escape_the_archive_is_refused(
    make_project: MakeProject, tmp_path: Path
) -> None:
    config = load_config(
        make_project(
            extra_config='\n[lists."../../etc"]\nfrom = "a@example.org"\n'
            'subscribers = "x.csv"\ncategories = ["x"]\n'
        )
    )
    evil = config.lists["../../etc"]
    issue = Issue(
        id="../../etc-2026-10",
        list_name=evil.key,
        period="2026-10",
        subject="x",
        html="<p>x</p>",
        text="x",
    )
    with pytest.raises(ConfigError, match=r"lists\.\.\./\.\./etc"):
        write_archive(issue, config=config, list_cfg=evil)
    assert not (tmp_path / "etc").exists()
