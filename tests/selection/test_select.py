"""Choosing an issue's posts from a real project (config file + content files) at a cut-off."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from digestmail.config import Config, load_config
from digestmail.content.reader import load_posts
from digestmail.models import Post, PostRef, Selection
from digestmail.selection.periods import parse_period
from digestmail.selection.select import select
from tests.helpers.project import MakeProject

BERLIN = ZoneInfo("Europe/Berlin")
CUTOFF = datetime(2017, 12, 1, 8, 0, tzinfo=BERLIN)
TWO_LISTS = """
[lists.weekly]
name = "Alles"
from = "Tipps <tipps@example.org>"
subscribers = "config/subscribers/monthly.csv"
categories = ["Nachricht", "veranstaltungstipp"]
cadence = "week"
"""


def post(title: str, date: str, categories: str = '"veranstaltungstipp"', extra: str = "") -> str:
    return f'---\ntitle: "{title}"\ndate: "{date}"\ncategories: {categories}\n{extra}---\nText.\n'


SITE = {
    "veranstaltungstipp/a.md": post("A", "2017-11-10"),
    "veranstaltungstipp/b.md": post("B", "2017-11-20T18:00:00"),
    "veranstaltungstipp/spaet.md": post("Spät", "2017-11-30T23:30:00"),
    "veranstaltungstipp/oktober.md": post("Oktober", "2017-10-31T23:59:00"),
    "veranstaltungstipp/dezember.md": post("Dezember", "2017-12-01T00:00:00"),
    "veranstaltungstipp/entwurf.md": post("Entwurf", "2017-11-12", extra="draft: true\n"),
    "veranstaltungstipp/geplant.md": post(
        "Geplant", "2017-11-13", extra='publishDate: "2017-12-05"\n'
    ),
    "veranstaltungstipp/abgelaufen.md": post(
        "Abgelaufen", "2017-11-14", extra='expiryDate: "2017-11-30"\n'
    ),
    "veranstaltungstipp/ohne-datum.md": '---\ntitle: "Ohne Datum"\ncategories: x\n---\n',
    "nachricht/n.md": post("Nachricht", "2017-11-15", '"Nachricht"'),
    "nachricht/beides.md": post("Beides", "2017-11-16", '["VERANSTALTUNGSTIPP", "nachricht"]'),
}


def load(make_project: MakeProject, posts: dict[str, str] = SITE) -> tuple[Config, list[Post]]:
    config = load_config(make_project(posts=posts, extra_config=TWO_LISTS))
    result = load_posts(config.site)
    assert not result.errors
    return config, list(result.posts)


def choose(
    config: Config,
    posts: list[Post],
    period: str = "2017-11",
    cutoff: datetime = CUTOFF,
    list_key: str = "monthly",
    **kwargs: object,
) -> Selection:
    list_cfg = config.get_list(list_key)
    chosen = parse_period(period, cadence=list_cfg.cadence, now=cutoff, tz=BERLIN)
    return select(posts, list_cfg=list_cfg, period=chosen, cutoff=cutoff, **kwargs)  # type: ignore[arg-type]


def reasons(selection: Selection) -> dict[str, str]:
    return {e.post.title or e.post.rel_path: e.reason.value for e in selection.excluded}


def test_monthly_issue_posts_newest_first_and_every_other_post_has_its_reason(
    make_project: MakeProject,
) -> None:
    config, posts = load(make_project)
    selection = choose(config, posts)

    assert [p.title for p in selection.posts] == ["Spät", "B", "Beides", "A"]
    assert selection.issue_id == "monthly-2017-11"
    assert reasons(selection) == {
        "Oktober": "period",
        "Dezember": "period",
        "Entwurf": "draft",
        "Geplant": "future",
        "Abgelaufen": "expired",
        "Ohne Datum": "incomplete",
        "Nachricht": "category",
    }
    assert len(selection.posts) + len(selection.excluded) == len(posts)


def test_cutoff_follows_hugo_publish_and_expiry_comparisons(make_project: MakeProject) -> None:
    config, posts = load(make_project)
    publish = datetime(2017, 12, 5, tzinfo=BERLIN)
    expiry = datetime(2017, 11, 30, tzinfo=BERLIN)

    # Hugo: future when publishDate is after now; expired when expiryDate is before now.
    at_publish = choose(config, posts, cutoff=publish)
    assert "Geplant" in [p.title for p in at_publish.posts]
    before_publish = choose(config, posts, cutoff=publish - timedelta(seconds=1))
    assert reasons(before_publish)["Geplant"] == "future"

    at_expiry = choose(config, posts, cutoff=expiry)
    assert "Abgelaufen" in [p.title for p in at_expiry.posts]
    after_expiry = choose(config, posts, cutoff=expiry + timedelta(seconds=1))
    assert reasons(after_expiry)["Abgelaufen"] == "expired"


def test_a_date_after_the_cutoff_is_future_without_publish_date(
    make_project: MakeProject,
) -> None:
    config, posts = load(make_project)
    selection = choose(config, posts, cutoff=datetime(2017, 11, 15, tzinfo=BERLIN))
    assert reasons(selection)["B"] == "future"
    assert reasons(selection)["Spät"] == "future"
    assert [p.title for p in selection.posts] == ["Abgelaufen", "A"]  # not yet expired


def test_reason_precedence_incomplete_category_draft_future_expired(
    make_project: MakeProject,
) -> None:
    posts = {
        "x/alles.md": post("Alles", "2018-05-01", '"anderes"', "draft: true\n"),
        "x/entwurf-zukunft.md": post("EZ", "2018-05-01", extra="draft: true\n"),
        "x/zukunft-abgelaufen.md": post("ZA", "2018-05-01", extra='expiryDate: "2017-01-01"\n'),
        "x/ohne-titel.md": '---\ndate: "2017-11-02"\ncategories: anderes\ndraft: true\n---\n',
    }
    config, loaded = load(make_project, posts)
    assert reasons(choose(config, loaded)) == {
        "Alles": "category",
        "EZ": "draft",
        "ZA": "future",
        "x/ohne-titel.md": "incomplete",
    }


def test_sent_posts_are_left_out_by_path_or_permalink(make_project: MakeProject) -> None:
    config, posts = load(make_project)
    by_title = {p.title: p for p in posts}
    sent = {
        PostRef("veranstaltungstipp/a.md", "https://example.org/somewhere-else/"),
        PostRef("moved/elsewhere.md", by_title["B"].permalink),
    }
    selection = choose(config, posts, sent=sent)
    assert [p.title for p in selection.posts] == ["Spät", "Beides"]
    assert reasons(selection)["A"] == "sent"
    assert reasons(selection)["B"] == "sent"
    # A draft that was somehow sent keeps the more fundamental reason.
    assert reasons(selection)["Entwurf"] == "draft"


def test_groups_follow_the_lists_category_order_and_a_post_appears_once(
    make_project: MakeProject,
) -> None:
    config, posts = load(make_project)
    selection = choose(config, posts, period="2017-11-01..2017-11-30", list_key="weekly")
    assert [g.category for g in selection.groups] == ["Nachricht", "veranstaltungstipp"]
    assert [p.title for p in selection.groups[0].posts] == ["Beides", "Nachricht"]
    assert [p.title for p in selection.groups[1].posts] == ["Spät", "B", "A"]
    assert selection.issue_id == "weekly-2017-11-01..2017-11-30"


def test_empty_categories_are_omitted(make_project: MakeProject) -> None:
    config, posts = load(make_project)
    selection = choose(config, posts, period="2017-W47", list_key="weekly")  # 20.-26. Nov.
    assert [g.category for g in selection.groups] == ["veranstaltungstipp"]
    assert [p.title for p in selection.posts] == ["B"]


def test_late_tips_join_the_next_issue_once(make_project: MakeProject) -> None:
    posts = {
        "v/frueh.md": post("Früh", "2017-10-05"),
        "v/spaet-freigegeben.md": post(
            "Spät freigegeben", "2017-10-20", extra='publishDate: "2017-11-03"\n'
        ),
        "v/schon-verschickt.md": post("Verschickt", "2017-10-10"),
        "v/zu-alt.md": post("Zu alt", "2017-09-20"),
        "v/noch-entwurf.md": post("Noch Entwurf", "2017-10-21", extra="draft: true\n"),
        "v/november.md": post("November", "2017-11-08"),
    }
    config, loaded = load(make_project, posts)
    october_start = datetime(2017, 10, 1, tzinfo=BERLIN)
    sent = {PostRef("v/schon-verschickt.md", ""), PostRef("v/frueh.md", "")}

    selection = choose(config, loaded, sent=sent, late_since=october_start)

    assert [p.title for p in selection.posts] == ["November", "Spät freigegeben"]
    assert reasons(selection) == {
        "Früh": "sent",
        "Verschickt": "sent",
        "Zu alt": "period",
        "Noch Entwurf": "draft",
    }
    without = choose(config, loaded, sent=sent)
    assert [p.title for p in without.posts] == ["November"]


@pytest.mark.parametrize("category", ["veranstaltungstipp", "VeranstaltungsTipp"])
def test_category_matching_ignores_case(make_project: MakeProject, category: str) -> None:
    config, posts = load(make_project, {"v/p.md": post("P", "2017-11-03", f'"{category}"')})
    assert [p.title for p in choose(config, posts).posts] == ["P"]
