"""Never miss a tip, never repeat one: late tips through schedule + selection, with real files.

A dict stands in for the ledger (the end-to-end twin in tests/app/test_run_due.py uses SQLite); the
posts are real Markdown files read by the real content reader.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from digestmail.app.schedule import due_issues
from digestmail.config import Config, load_config
from digestmail.content.reader import load_posts
from digestmail.models import IssueStatus, PostRef
from digestmail.selection.late import late_window
from digestmail.selection.select import select
from tests.helpers.project import MakeProject

BERLIN = ZoneInfo("Europe/Berlin")


def tip(title: str, date: str, publish: str | None = None, draft: bool = False) -> str:
    lines = ["---", f'title: "{title}"', f'date: "{date}"', "categories: veranstaltungstipp"]
    if publish:
        lines.append(f'publishDate: "{publish}"')
    if draft:
        lines.append("draft: true")
    return "\n".join([*lines, "---", f"Text zu {title}.", ""])


@dataclass(frozen=True)
class Record:
    id: str
    period: str
    status: IssueStatus


@dataclass
class Ledger:
    records: dict[str, Record] = field(default_factory=dict)
    posts: dict[str, tuple[PostRef, ...]] = field(default_factory=dict)

    def status_of(self, issue_id: str) -> IssueStatus | None:
        record = self.records.get(issue_id)
        return record.status if record else None

    def sent(self) -> set[PostRef]:
        return {ref for issue_id, refs in self.posts.items() for ref in refs}


def run_due(config: Config, ledger: Ledger, now: datetime) -> dict[str, list[str]]:
    """What run-due does, minus rendering and SMTP: titles mailed per issue."""
    list_cfg = config.lists["monthly"]
    posts = load_posts(config.site).posts
    mailed: dict[str, list[str]] = {}
    for due in due_issues(config, now=now, status_of=ledger.status_of):
        since = late_window(
            ledger.records.values(), list_cfg=list_cfg, tz=BERLIN, period=due.period
        )
        chosen = select(
            posts,
            list_cfg=list_cfg,
            period=due.period,
            cutoff=now,
            sent=ledger.sent(),
            late_since=since,
        ).posts
        status = "finished" if chosen else "skipped"
        ledger.records[due.issue_id] = Record(due.issue_id, due.period.key, IssueStatus(status))
        ledger.posts[due.issue_id] = tuple(PostRef(p.rel_path, p.permalink) for p in chosen)
        mailed[due.issue_id] = [p.title for p in chosen]
    return mailed


def test_a_post_published_after_its_months_issue_is_in_the_next_issue_and_no_other(
    make_project: MakeProject,
) -> None:
    config = load_config(
        make_project(
            posts={
                "veranstaltungstipp/vor-der-liste.md": tip("Vor der Liste", "2026-08-20"),
                "veranstaltungstipp/september.md": tip("Septembertreffen", "2026-09-10"),
                # dated in September, scheduled to appear only after September's issue went out
                "veranstaltungstipp/spaet.md": tip(
                    "Nachzügler", "2026-09-25", publish="2026-10-03T12:00:00"
                ),
                # a September draft that is turned live later (edited below)
                "veranstaltungstipp/entwurf.md": tip("Entwurf", "2026-09-28", draft=True),
                "veranstaltungstipp/oktober.md": tip("Oktoberfest der Vereine", "2026-10-14"),
            }
        )
    )
    ledger = Ledger()
    ledger.records["monthly-2026-08"] = Record("monthly-2026-08", "2026-08", IssueStatus.SKIPPED)
    mailed: dict[str, list[str]] = {}
    start = datetime(2026, 9, 30, 12, tzinfo=BERLIN)
    for hours in range(0, 24 * 70, 6):
        now = start + timedelta(hours=hours)
        if now.date() == datetime(2026, 10, 20).date() and now.hour == 0:
            draft = config.site.content_dir / "veranstaltungstipp/entwurf.md"
            draft.write_text(tip("Entwurf", "2026-09-28"), encoding="utf-8")
        mailed.update(run_due(config, ledger, now))

    assert mailed["monthly-2026-09"] == ["Septembertreffen"]
    assert sorted(mailed["monthly-2026-10"]) == ["Entwurf", "Nachzügler", "Oktoberfest der Vereine"]
    assert mailed["monthly-2026-11"] == []  # nothing new: skipped, nothing repeated
    assert ledger.status_of("monthly-2026-11") == "skipped"
    every = [title for titles in mailed.values() for title in titles]
    assert len(every) == len(set(every)), "a tip was mailed twice"
    assert "Vor der Liste" not in every  # older than the list's first mailing: not a late tip
