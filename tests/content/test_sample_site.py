"""The shipped sample site reads cleanly and gives the October digest the README shows."""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from pathlib import Path

from digestmail.config import ListConfig
from digestmail.content.reader import load_posts
from digestmail.models import Post, Reason
from digestmail.selection.periods import parse_period
from digestmail.selection.select import select
from tests.helpers.content import BERLIN, site_config
from tests.helpers.paths import REPO

SAMPLE = REPO / "content"
MONTHLY = ListConfig(
    key="monthly",
    name="Veranstaltungstipps",
    from_addr="Tipps <tipps@example.org>",
    subscribers=Path("config/subscribers/monthly.csv"),
    categories=("veranstaltungstipp",),
)


def sample_posts() -> tuple[Post, ...]:
    site = site_config(
        SAMPLE,
        permalinks={"veranstaltungstipp": "/:section/:year/:month/:slug/"},
        base_url="https://www.example.org/",
    )
    result = load_posts(site)
    assert not result.errors
    return result.posts


def test_sample_site_has_the_promised_variety() -> None:
    posts = sample_posts()
    assert len(posts) >= 12
    assert not [p.rel_path for p in posts if p.warnings]
    categories = Counter(c for p in posts for c in p.categories)
    assert {"veranstaltungstipp", "nachricht", "publikation"} <= {c.lower() for c in categories}
    months = {p.date.strftime("%Y-%m") for p in posts if p.date}
    assert {"2026-08", "2026-09", "2026-10", "2026-11", "2026-12"} <= months
    assert any(p.draft for p in posts)
    assert any(p.date and p.date.year == 2027 for p in posts)
    assert any(p.expiry_date for p in posts)
    assert any(p.bundle for p in posts)
    formats = {p.path.read_text(encoding="utf-8")[:3] for p in posts}
    assert {"---", "+++"} <= formats and any(f.startswith("{") for f in formats)
    assert (SAMPLE / "veranstaltungstipp" / "_index.md").exists()
    bundle = next(p for p in posts if p.bundle)
    assert (bundle.path.parent / "plakat.png").exists()


def test_october_digest_of_the_sample_site() -> None:
    cutoff = datetime(2026, 11, 1, 8, 0, tzinfo=BERLIN)
    period = parse_period("2026-10", cadence="month", now=cutoff, tz=BERLIN)
    selection = select(sample_posts(), list_cfg=MONTHLY, period=period, cutoff=cutoff)

    assert [p.title for p in selection.posts] == [
        "Nachtcafé Demokratie",
        "Offener Abend: Quartiersräte stellen sich vor",
        "Bürger*innen-Dialog zur Klimaanpassung",
        "Seminar: Beteiligung im ländlichen Raum",
    ]
    reasons = Counter(e.reason for e in selection.excluded)
    assert reasons[Reason.DRAFT] == 1
    assert reasons[Reason.EXPIRED] == 1
    assert reasons[Reason.FUTURE] >= 1
    assert reasons[Reason.CATEGORY] >= 4
