"""Time a 20-tip digest: render + inline once, then messages per second for personalisation.

Run from the checkout: ``python bench/render_bench.py [--messages N]``. Prints one line per
figure; the numbers go into docs/benchmarks.md together with this command.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from digestmail.config import parse_config
from digestmail.message.factory import MessageFactory
from digestmail.models import CategoryGroup, Period, Post, Recipient, Selection
from digestmail.render.theme import render_issue

PARAGRAPH = (
    "Die Werkstatt zeigt, wie Bürger*innen, Verwaltung und Vereine gemeinsam planen können. "
    "Es gibt [ein Programm](/programm/) und viele Beispiele aus kleinen Gemeinden – "
    "mit Zeit für Fragen, Austausch und Übungen in kleinen Gruppen."
)


def _post(n: int) -> Post:
    summary = f"## Termin {n}. Dezember\n\n{PARAGRAPH}\n\n{PARAGRAPH}\n"
    return Post(
        path=Path(f"/site/content/tipp/tipp-{n}.md"),
        rel_path=f"tipp/tipp-{n}.md",
        section="tipp",
        slug=f"tipp-{n}",
        title=f"Tipp {n}: Beteiligung vor Ort gestalten",
        date=datetime(2017, 11, 1 + n % 28, 9, 0, tzinfo=UTC),
        publish_date=None,
        expiry_date=None,
        lastmod=None,
        draft=False,
        categories=("veranstaltungstipp",),
        tags=(),
        author="Redaktion",
        thumbnail=f"/images/tipp-{n}.jpg",
        summary=summary,
        body=summary,
        permalink=f"https://example.org/tipp/2017/11/tipp-{n}/",
    )


def _selection() -> Selection:
    period = Period(
        key="2017-11",
        kind="month",
        start=datetime(2017, 11, 1, tzinfo=UTC),
        end=datetime(2017, 12, 1, tzinfo=UTC),
    )
    group = CategoryGroup(category="veranstaltungstipp", posts=tuple(_post(n) for n in range(20)))
    return Selection(
        list_name="monthly", period=period, cutoff=period.end, groups=(group,), excluded=()
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--messages", type=int, default=50_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        raw = {
            "site": {"title": "Testnetz", "base_url": "https://example.org/", "language": "de"},
            "lists": {
                "monthly": {
                    "from": "Tipps <tipps@example.org>",
                    "subscribers": "s.csv",
                    "categories": ["veranstaltungstipp"],
                    "unsubscribe_mailto": "abmelden@example.org",
                    "unsubscribe_url": "https://example.org/abmelden?token={token}",
                }
            },
        }
        config = parse_config(raw, path=Path(tmp) / "config" / "digestmail.toml")
        list_cfg = config.get_list("monthly")
        selection = _selection()
        start = time.perf_counter()
        issue = render_issue(selection, config=config, list_cfg=list_cfg)
        rendered = time.perf_counter() - start
        start = time.perf_counter()
        factory = MessageFactory(issue, config=config, list_cfg=list_cfg, secret="bench-secret")
        prepared = time.perf_counter() - start
        recipients = [
            Recipient(email=f"leser{n}@example.org", name=f"Leserin Nummer {n} Müller")
            for n in range(args.messages)
        ]
        now = datetime(2017, 12, 1, 8, 0, tzinfo=UTC)
        start = time.perf_counter()
        size = 0
        for recipient in recipients:
            size = len(factory.build(recipient, now=now).data)
        built = time.perf_counter() - start
    html_kb = len(issue.html.encode()) / 1024
    print(f"tips: 20  html: {html_kb:.1f} KB  text: {len(issue.text.encode()) / 1024:.1f} KB")
    print(f"render + inline once: {rendered * 1000:.0f} ms")
    print(f"factory setup once:   {prepared * 1000:.1f} ms")
    print(f"message size: {size / 1024:.1f} KB")
    print(
        f"messages: {args.messages} in {built:.2f} s = {args.messages / built:,.0f} messages/s "
        "(one core)"
    )


if __name__ == "__main__":
    main()
