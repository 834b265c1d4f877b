"""Issue 10: suppressions know their source, web sign-ups are kept with their consent record,
and a ledger of schema 2 is upgraded to 3 without losing a row."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from digestmail.ledger import Ledger, Subscription, audience
from digestmail.ledger.audience import NewSuppression
from digestmail.ledger.schema import MIGRATIONS, SCHEMA_VERSION

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def make_v2_ledger(path: Path) -> None:
    """A ledger exactly as the release before issue 10 left it, with a row in every table."""
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA journal_mode = WAL")
    for step in MIGRATIONS[:2]:
        step(db)
    db.execute("PRAGMA user_version = 2")
    now = T0.isoformat()
    db.execute(
        "INSERT INTO issues (id, list_key, period, subject, html, text, status, created_at)"
        " VALUES ('monthly-2025-12', 'monthly', '2025-12', 'S', '<p>h</p>', 't', 'finished', ?)",
        (now,),
    )
    db.execute("INSERT INTO issue_posts VALUES ('monthly-2025-12', 0, 'a.md', 'https://e.org/a/')")
    db.executemany(
        "INSERT INTO deliveries (issue_id, email, status, attempts, created_at, updated_at)"
        " VALUES ('monthly-2025-12', ?, ?, 1, ?, ?)",
        [("anna@example.org", "sent", now, now), ("bernd@example.org", "queued", now, now)],
    )
    db.executemany(
        "INSERT INTO suppressions (email_key, list_key, email, reason, created_at)"
        " VALUES (?, ?, ?, ?, ?)",
        [
            ("carla@example.org", "", "Carla@example.org", "unsubscribed", now),
            ("dora@example.org", "monthly", "dora@example.org", "550 5.1.1 user unknown", now),
        ],
    )
    db.execute(
        "INSERT INTO locks VALUES ('send:x', 'tok', 'host', 1, ?, ?)",
        (now, now),
    )
    db.close()


def test_v2_ledger_upgrades_keeping_every_row(tmp_path: Path) -> None:
    path = tmp_path / "ledger.sqlite"
    make_v2_ledger(path)
    with Ledger.open(path) as ledger:
        stored = ledger.get_issue("monthly-2025-12")
        assert stored is not None and stored.issue.posts[0].rel_path == "a.md"
        counts = ledger.counts("monthly-2025-12")
        assert (counts["sent"], counts["queued"]) == (1, 1)
        rows = {(s.email, s.list_key, s.reason, s.source) for s in ledger.suppressions()}
        assert rows == {
            ("Carla@example.org", None, "unsubscribed", "cli"),
            ("dora@example.org", "monthly", "550 5.1.1 user unknown", "smtp"),
        }
        assert ledger.is_suppressed("CARLA@example.org", list_key="monthly")
        assert list(ledger.subscriptions("monthly")) == []
    db = sqlite3.connect(path)
    assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION == 6
    assert db.execute("SELECT count(*) FROM locks").fetchone()[0] == 1
    db.close()


def test_suppression_records_its_source(tmp_path: Path) -> None:
    with Ledger.open(tmp_path / "l.sqlite") as ledger:
        ledger.suppress("anna@example.org", list_key="monthly", reason="one-click", source="web")
        ledger.suppress("bernd@example.org", list_key=None, reason="unsubscribed")
        with pytest.raises(ValueError, match="source"):
            ledger.suppress("x@example.org", list_key=None, reason="r", source="oops")  # type: ignore[arg-type]
        got = {(s.email, s.list_key, s.source) for s in ledger.suppressions()}
        assert got == {("anna@example.org", "monthly", "web"), ("bernd@example.org", None, "cli")}
        assert [s.email for s in ledger.suppressions("weekly")] == ["bernd@example.org"]


def sign_up(email: str, requested: datetime, list_key: str = "monthly") -> Subscription:
    return Subscription(email, list_key, "Anna", requested, requested + timedelta(minutes=5))


def test_confirmed_sign_up_lifts_what_it_outranks(tmp_path: Path) -> None:
    with Ledger.open(tmp_path / "l.sqlite") as ledger:
        ledger.suppress("anna@example.org", list_key="monthly", reason="one-click", source="web")
        ledger.suppress("anna@example.org", list_key="weekly", reason="550", source="bounce")
        ledger.suppress("anna@example.org", list_key="other", reason="one-click", source="web")
        ledger.suppress("bernd@example.org", list_key=None, reason="legal", source="cli")
        later = datetime.now(UTC) + timedelta(seconds=1)
        ledger.subscribe(sign_up("Anna@Example.org", later))
        ledger.subscribe(sign_up("bernd@example.org", later))
        left = {(s.email, s.list_key) for s in ledger.suppressions()}
        # monthly (the list signed up to) and the bounce go; another list's unsubscribe and an
        # editor's all-lists block stay.
        assert left == {("anna@example.org", "other"), ("bernd@example.org", None)}
        subs = list(ledger.subscriptions("monthly"))
        assert [(s.email, s.name, s.ip) for s in subs] == [
            ("Anna@Example.org", "Anna", None),
            ("bernd@example.org", "Anna", None),
        ]


def test_unsubscribe_after_the_request_outlives_an_old_confirm_link(tmp_path: Path) -> None:
    with Ledger.open(tmp_path / "l.sqlite") as ledger:
        asked = datetime.now(UTC) - timedelta(hours=1)
        ledger.suppress("anna@example.org", list_key="monthly", reason="one-click", source="web")
        ledger.subscribe(sign_up("anna@example.org", asked))
        assert ledger.is_suppressed("anna@example.org", list_key="monthly")


def test_subscriptions_stream_in_chunks(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(audience, "SUBSCRIPTION_CHUNK", 3)
    with Ledger.open(tmp_path / "l.sqlite") as ledger:
        for i in range(10):
            ledger.subscribe(sign_up(f"r{i:02}@example.org", T0))
        ledger.subscribe(sign_up("x@example.org", T0, list_key="weekly"))
        got = [s.email for s in ledger.subscriptions("monthly")]
        assert got == [f"r{i:02}@example.org" for i in range(10)]


def test_suppress_many_writes_all_rows_in_order_or_none(tmp_path: Path) -> None:
    path = tmp_path / "ledger.sqlite"
    with Ledger.open(path) as ledger:
        ledger.suppress_many(
            [
                NewSuppression("Anna@Example.org", "monthly", "bounce 5.1.1", "bounce"),
                NewSuppression("bernd@example.org", None, "asked", "cli"),
                NewSuppression("anna@example.org", "monthly", "unsubscribe reply", "reply"),
            ]
        )
        rows = {(s.email, s.list_key, s.source, s.reason) for s in ledger.suppressions()}
        # The later row for the same address and list wins, as a second call would.
        assert rows == {
            ("Anna@Example.org", "monthly", "reply", "unsubscribe reply"),
            ("bernd@example.org", None, "cli", "asked"),
        }
        bad = NewSuppression("carla@example.org", "monthly", "x", "nonsense")  # type: ignore[arg-type]
        with pytest.raises(ValueError, match="nonsense"):
            ledger.suppress_many([NewSuppression("dora@example.org", None, "x", "cli"), bad])
        assert not ledger.is_suppressed("dora@example.org", list_key="monthly")
