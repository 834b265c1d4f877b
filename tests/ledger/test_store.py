"""The ledger keeps what was sent across runs, crashes and processes.

Every test uses a real SQLite file under tmp_path; crash and concurrency tests use real
processes, because that is where a ledger earns its keep.
"""

from __future__ import annotations

import contextlib
import signal
import sqlite3
import subprocess
import sys
import textwrap
import threading
from collections.abc import Iterator
from datetime import UTC
from pathlib import Path

import pytest

from digestmail.ledger import schema as ledger_schema
from digestmail.ledger.store import (
    MAX_REPLY,
    PENDING_CHUNK,
    DeliveryResult,
    Ledger,
    LedgerBusyError,
    LedgerError,
)
from digestmail.models import DeliveryStatus, Issue, PostRef

ISSUE_ID = "monthly-2017-11"


def make_issue(
    issue_id: str = ISSUE_ID, *, subject: str = "Tipps – November 2017", posts: int = 2
) -> Issue:
    list_key, _, period = issue_id.partition("-")
    return Issue(
        id=issue_id,
        list_name=list_key,
        period=period,
        subject=subject,
        html=f"<p>{subject}</p>",
        text=subject,
        posts=tuple(
            PostRef(f"veranstaltungstipp/{issue_id}-{i}.md", f"https://example.org/{issue_id}/{i}/")
            for i in range(posts)
        ),
    )


@pytest.fixture
def ledger(tmp_path: Path) -> Iterator[Ledger]:
    with Ledger.open(tmp_path / "state" / "digestmail.sqlite") as opened:
        yield opened


def run_child(code: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code), *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


# --- the file ---------------------------------------------------------------------------------


def test_open_creates_the_directories_and_a_wal_mode_versioned_file(tmp_path: Path) -> None:
    path = tmp_path / "deep" / "state" / "ledger.sqlite"
    with Ledger.open(path):
        pass
    raw = sqlite3.connect(path)
    assert raw.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert raw.execute("PRAGMA user_version").fetchone()[0] == ledger_schema.SCHEMA_VERSION
    raw.close()


def test_data_survives_closing_and_reopening(tmp_path: Path) -> None:
    path = tmp_path / "ledger.sqlite"
    with Ledger.open(path) as first:
        first.store_issue(make_issue(), content_hash="abc")
        first.mark_attempting(ISSUE_ID, [("anna@example.org", "<1@example.org>")])
    with Ledger.open(path) as second:
        stored = second.get_issue(ISSUE_ID)
        assert stored is not None
        assert stored.content_hash == "abc"
        assert second.counts(ISSUE_ID)[DeliveryStatus.QUEUED] == 1


def test_a_file_that_is_not_a_database_is_refused_naming_it(tmp_path: Path) -> None:
    path = tmp_path / "ledger.sqlite"
    path.write_bytes(b"these are not the droids you are looking for\n" * 200)
    with pytest.raises(LedgerError, match="not a digestmail ledger") as caught:
        Ledger.open(path)
    assert str(path) in str(caught.value)
    assert caught.value.exit_code == 2


def test_a_ledger_from_a_newer_version_is_refused_not_misread(tmp_path: Path) -> None:
    path = tmp_path / "ledger.sqlite"
    raw = sqlite3.connect(path)
    raw.execute(f"PRAGMA user_version = {ledger_schema.SCHEMA_VERSION + 1}")
    raw.close()
    with pytest.raises(LedgerError, match="newer digestmail") as caught:
        Ledger.open(path)
    assert str(path) in str(caught.value)


def test_a_path_that_cannot_hold_a_ledger_is_refused_naming_it(tmp_path: Path) -> None:
    path = tmp_path / "state"
    path.mkdir()
    with pytest.raises(LedgerError) as caught:
        Ledger.open(path)
    assert str(path) in str(caught.value)


def test_an_empty_database_file_is_migrated_in_place(tmp_path: Path) -> None:
    path = tmp_path / "ledger.sqlite"
    sqlite3.connect(path).close()  # a valid, empty SQLite file at user_version 0
    with Ledger.open(path) as opened:
        opened.suppress("anna@example.org", list_key=None, reason="test")
        assert opened.is_suppressed("anna@example.org", list_key="monthly")


def test_a_writer_that_never_lets_go_gives_a_busy_error_not_a_hang(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "ledger.sqlite"
    Ledger.open(path).close()
    monkeypatch.setattr(ledger_schema, "BUSY_TIMEOUT_MS", 200)
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    try:
        with Ledger.open(path) as opened, pytest.raises(LedgerBusyError) as caught:
            opened.suppress("anna@example.org", list_key=None, reason="test")
        assert caught.value.exit_code == 75
        assert str(path) in str(caught.value)
    finally:
        other.execute("ROLLBACK")
        other.close()


def test_two_processes_write_the_same_ledger_at_once_without_losing_a_row(tmp_path: Path) -> None:
    path = tmp_path / "ledger.sqlite"
    Ledger.open(path).close()
    code = """
        import sys
        from pathlib import Path
        from digestmail.ledger.store import DeliveryResult, Ledger
        from digestmail.models import DeliveryStatus
        with Ledger.open(Path(sys.argv[1])) as ledger:
            for i in range(150):
                email = f"{sys.argv[2]}{i}@example.org"
                ledger.mark_attempting("monthly-2017-11", [(email, f"<{email}>")])
                ledger.record_results(
                    "monthly-2017-11", [DeliveryResult(email, DeliveryStatus.SENT, 250, "ok")]
                )
    """
    children = [
        subprocess.Popen([sys.executable, "-c", textwrap.dedent(code), str(path), prefix])
        for prefix in ("a", "b")
    ]
    assert [child.wait(timeout=120) for child in children] == [0, 0]
    with Ledger.open(path) as opened:
        assert opened.counts(ISSUE_ID)[DeliveryStatus.SENT] == 300


def test_processes_creating_the_same_new_ledger_at_once_all_succeed(tmp_path: Path) -> None:
    path = tmp_path / "state" / "ledger.sqlite"
    start = tmp_path / "go"
    code = """
        import sys, time
        from pathlib import Path
        from digestmail.ledger.store import Ledger
        while not Path(sys.argv[2]).exists():
            time.sleep(0.002)
        with Ledger.open(Path(sys.argv[1])) as ledger:
            ledger.suppress(f"{sys.argv[3]}@example.org", list_key=None, reason="race")
    """
    children = [
        subprocess.Popen(
            [sys.executable, "-c", textwrap.dedent(code), str(path), str(start), f"p{i}"],
            stderr=subprocess.PIPE,
            text=True,
        )
        for i in range(4)
    ]
    start.touch()
    outcomes = [(child.wait(timeout=120), child.communicate()[1]) for child in children]
    assert [code for code, _ in outcomes] == [0, 0, 0, 0], outcomes
    with Ledger.open(path) as opened:
        everyone = [f"p{i}@example.org" for i in range(4)]
        assert opened.suppressed(everyone, list_key="monthly") == set(everyone)


def test_opening_a_new_ledger_waits_while_another_process_is_still_writing_it(
    tmp_path: Path,
) -> None:
    # Switching a file to WAL needs an exclusive lock, and SQLite answers "busy" at once, without
    # its busy timeout, when another connection holds the write lock: the race CI once lost.
    path = tmp_path / "ledger.sqlite"
    other = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    other.execute("CREATE TABLE other_writer (x)")
    other.execute("BEGIN IMMEDIATE")
    other.execute("INSERT INTO other_writer VALUES (1)")
    release = threading.Timer(0.3, lambda: other.execute("COMMIT"))
    release.start()
    try:
        with Ledger.open(path) as ledger:
            ledger.suppress("late@example.org", list_key=None, reason="race")
            assert ledger.suppressed(["late@example.org"], list_key="monthly") == {
                "late@example.org"
            }
    finally:
        release.join()
        other.close()
    with sqlite3.connect(path) as check:
        assert check.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


@contextlib.contextmanager
def schema_1_ledger(path: Path) -> Iterator[sqlite3.Connection]:
    """A ledger as the release before IDNA addresses wrote it, to fill and then upgrade."""
    with contextlib.closing(sqlite3.connect(path)) as old, old:
        ledger_schema.MIGRATIONS[0](old)
        old.execute("PRAGMA user_version = 1")
        yield old


def test_an_old_unicode_suppression_matches_the_ascii_form_addresses_now_take(
    tmp_path: Path,
) -> None:
    # A ledger written before addresses were kept in IDNA form: schema 1, Unicode domains.
    path = tmp_path / "ledger.sqlite"
    with schema_1_ledger(path) as old:
        for email, list_key in (("Anna@Bücher.example", ""), ("jürgen@example.org", "monthly")):
            old.execute(
                "INSERT INTO suppressions VALUES (?, ?, ?, 'unsubscribed', '2026-11-01')",
                (email.casefold(), list_key, email),
            )
    with Ledger.open(path) as ledger:
        assert ledger.suppressed(["anna@xn--bcher-kva.example"], list_key="monthly") == {
            "anna@xn--bcher-kva.example"
        }
        assert ledger.suppressed(["jürgen@example.org"], list_key="monthly") == {
            "jürgen@example.org"
        }


def test_delivery_rows_of_unicode_domains_the_old_version_refused_are_dropped(
    tmp_path: Path,
) -> None:
    path = tmp_path / "ledger.sqlite"
    with schema_1_ledger(path) as old:
        for email, status in (
            ("anna@bücher.example", "failed_permanent"),  # the 553 of the old version
            ("bernd@example.org", "failed_permanent"),
            ("anna@bücher.example", "sent"),  # cannot happen, but must never be lost
        ):
            issue = "monthly-2026-10" if status != "sent" else "monthly-2026-09"
            old.execute(
                "INSERT INTO deliveries (issue_id, email, status, created_at, updated_at)"
                " VALUES (?, ?, ?, '2026-11-01', '2026-11-01')",
                (issue, email, status),
            )
    with Ledger.open(path):
        pass
    with contextlib.closing(sqlite3.connect(path)) as raw:
        rows = raw.execute(
            "SELECT issue_id, email, status FROM deliveries ORDER BY 1, 2"
        ).fetchall()
    assert rows == [
        ("monthly-2026-09", "anna@bücher.example", "sent"),
        ("monthly-2026-10", "bernd@example.org", "failed_permanent"),
    ]


# --- issues -----------------------------------------------------------------------------------


def test_the_first_stored_copy_of_an_issue_is_the_one_every_later_run_gets(ledger: Ledger) -> None:
    first = ledger.store_issue(make_issue(subject="Erste Fassung"), content_hash="one")
    again = ledger.store_issue(make_issue(subject="Zweite Fassung", posts=5), content_hash="two")
    assert again == first
    assert again.issue.subject == "Erste Fassung"
    assert again.content_hash == "one"
    assert again.issue.posts == make_issue().posts
    assert again.status == "open"
    assert again.created_at.tzinfo is not None
    assert again.created_at.utcoffset() == UTC.utcoffset(None)


def test_an_unknown_issue_is_none(ledger: Ledger) -> None:
    assert ledger.get_issue("monthly-1999-01") is None


def test_finishing_an_issue_records_when(ledger: Ledger) -> None:
    ledger.store_issue(make_issue(), content_hash="h")
    ledger.finish_issue(ISSUE_ID)
    stored = ledger.get_issue(ISSUE_ID)
    assert stored is not None
    assert stored.status == "finished"
    assert stored.finished_at is not None
    assert stored.finished_at >= stored.created_at


def test_a_skipped_issue_has_a_reason_and_no_content(ledger: Ledger) -> None:
    ledger.skip_issue(issue_id=ISSUE_ID, list_key="monthly", period="2017-11", reason="no posts")
    stored = ledger.get_issue(ISSUE_ID)
    assert stored is not None
    assert (stored.status, stored.skip_reason, stored.issue.html) == ("skipped", "no posts", "")


def test_a_skipped_issue_that_later_has_posts_can_still_be_sent(ledger: Ledger) -> None:
    ledger.skip_issue(issue_id=ISSUE_ID, list_key="monthly", period="2017-11", reason="no posts")
    stored = ledger.store_issue(make_issue(), content_hash="h")
    assert stored.status == "open"
    assert stored.issue == make_issue()


def test_skipping_never_overwrites_an_issue_that_has_content(ledger: Ledger) -> None:
    ledger.store_issue(make_issue(), content_hash="h")
    ledger.skip_issue(issue_id=ISSUE_ID, list_key="monthly", period="2017-11", reason="no posts")
    stored = ledger.get_issue(ISSUE_ID)
    assert stored is not None
    assert (stored.status, stored.issue) == ("open", make_issue())


def test_issues_lists_each_issue_with_its_counts_and_filters_by_list(ledger: Ledger) -> None:
    ledger.store_issue(make_issue("monthly-2017-11"), content_hash="a")
    ledger.store_issue(make_issue("monthly-2017-10"), content_hash="b")
    ledger.store_issue(make_issue("weekly-2017-W45"), content_hash="c")
    ledger.mark_attempting("monthly-2017-11", [("a@example.org", "<a>"), ("b@example.org", "<b>")])
    ledger.record_results(
        "monthly-2017-11", [DeliveryResult("a@example.org", DeliveryStatus.SENT, 250, "ok")]
    )
    ledger.finish_issue("monthly-2017-10")

    monthly = ledger.issues("monthly")
    assert [s.id for s in monthly] == ["monthly-2017-10", "monthly-2017-11"]
    assert [s.status for s in monthly] == ["finished", "open"]
    counts = monthly[1].counts
    assert counts[DeliveryStatus.SENT] == 1
    assert counts[DeliveryStatus.QUEUED] == 1
    assert counts[DeliveryStatus.FAILED_PERMANENT] == 0
    quick = ledger.issues("monthly", with_counts=False)
    assert [(s.id, s.status) for s in quick] == [(s.id, s.status) for s in monthly]
    assert {s.id for s in ledger.issues()} == {
        "monthly-2017-10",
        "monthly-2017-11",
        "weekly-2017-W45",
    }


def test_sent_posts_are_those_of_finished_issues_or_issues_that_reached_anyone(
    ledger: Ledger,
) -> None:
    finished, started, untouched = (
        make_issue("monthly-2017-09"),
        make_issue("monthly-2017-10"),
        make_issue("monthly-2017-11"),
    )
    other_list = make_issue("weekly-2017-W45")
    for issue in (finished, started, untouched, other_list):
        ledger.store_issue(issue, content_hash=issue.id)
    ledger.finish_issue(finished.id)
    ledger.finish_issue(other_list.id)
    ledger.record_results(
        started.id, [DeliveryResult("a@example.org", DeliveryStatus.SENT, 250, "ok")]
    )
    # An attempt without an outcome, or a failure, did not reach anyone.
    ledger.mark_attempting(untouched.id, [("a@example.org", "<a>")])
    ledger.record_results(
        untouched.id,
        [DeliveryResult("b@example.org", DeliveryStatus.FAILED_PERMANENT, 550, "no such user")],
    )
    assert ledger.sent_posts("monthly") == set(finished.posts) | set(started.posts)


# --- deliveries -------------------------------------------------------------------------------


def test_an_attempt_is_queued_until_its_outcome_and_counts_every_try(ledger: Ledger) -> None:
    ledger.mark_attempting(ISSUE_ID, [("anna@example.org", "<1@x>")])
    ledger.record_results(
        ISSUE_ID,
        [DeliveryResult("anna@example.org", DeliveryStatus.FAILED_TEMPORARY, 451, "try later")],
    )
    ledger.mark_attempting(ISSUE_ID, [("anna@example.org", "<2@x>")])
    state = ledger.delivery_states(ISSUE_ID, ["anna@example.org"])["anna@example.org"]
    assert (state.status, state.attempts, state.message_id) == (DeliveryStatus.QUEUED, 2, "<2@x>")
    assert (state.last_code, state.last_reply) == (451, "try later")

    ledger.record_results(
        ISSUE_ID, [DeliveryResult("anna@example.org", DeliveryStatus.SENT, 250, "2.0.0 Ok")]
    )
    state = ledger.delivery_states(ISSUE_ID, ["anna@example.org"])["anna@example.org"]
    assert (state.status, state.attempts, state.last_code) == (DeliveryStatus.SENT, 2, 250)
    assert state.created_at is not None and state.updated_at is not None
    assert state.updated_at >= state.created_at


def test_delivery_states_returns_only_existing_rows_for_a_large_batch(ledger: Ledger) -> None:
    known = [f"user{i}@example.org" for i in range(0, 1000, 3)]
    ledger.mark_attempting(ISSUE_ID, [(e, f"<{e}>") for e in known])
    asked = [f"user{i}@example.org" for i in range(1000)]
    states = ledger.delivery_states(ISSUE_ID, asked)
    assert set(states) == set(known)
    assert ledger.delivery_states("monthly-2017-12", asked) == {}
    assert ledger.delivery_states(ISSUE_ID, []) == {}


def test_a_reply_is_kept_but_not_without_limit(ledger: Ledger) -> None:
    ledger.record_results(
        ISSUE_ID,
        [DeliveryResult("a@example.org", DeliveryStatus.FAILED_PERMANENT, 550, "x" * 9999)],
    )
    state = ledger.delivery_states(ISSUE_ID, ["a@example.org"])["a@example.org"]
    assert len(state.last_reply) == MAX_REPLY


def test_pending_is_what_a_resumed_run_must_send_again(ledger: Ledger) -> None:
    ledger.mark_attempting(
        ISSUE_ID, [(f"{name}@example.org", f"<{name}>") for name in ("a", "b", "c", "d", "e")]
    )
    ledger.record_results(
        ISSUE_ID,
        [
            DeliveryResult("a@example.org", DeliveryStatus.SENT, 250, "ok"),
            DeliveryResult("b@example.org", DeliveryStatus.FAILED_PERMANENT, 550, "unknown"),
            DeliveryResult("c@example.org", DeliveryStatus.FAILED_TEMPORARY, 451, "later"),
            DeliveryResult("d@example.org", DeliveryStatus.SUPPRESSED, None, ""),
        ],
    )
    pending = {d.email: d.status for d in ledger.pending(ISSUE_ID)}
    assert pending == {
        "c@example.org": DeliveryStatus.FAILED_TEMPORARY,
        "e@example.org": DeliveryStatus.QUEUED,
    }


def test_pending_can_be_walked_while_the_same_ledger_records_outcomes(ledger: Ledger) -> None:
    emails = [f"user{i:05d}@example.org" for i in range(PENDING_CHUNK * 4 + 7)]
    ledger.mark_attempting(ISSUE_ID, [(e, f"<{e}>") for e in emails])
    seen: list[str] = []
    for delivery in ledger.pending(ISSUE_ID):
        seen.append(delivery.email)
        ledger.mark_attempting(ISSUE_ID, [(delivery.email, "<again>")])
        ledger.record_results(
            ISSUE_ID, [DeliveryResult(delivery.email, DeliveryStatus.SENT, 250, "ok")]
        )
    assert seen == emails  # each exactly once, in address order
    assert list(ledger.pending(ISSUE_ID)) == []
    assert ledger.counts(ISSUE_ID)[DeliveryStatus.SENT] == len(emails)


def test_walking_pending_does_not_stop_the_write_ahead_log_from_being_checkpointed(
    tmp_path: Path,
) -> None:
    # A statement left open for the whole walk would pin its snapshot: SQLite could not
    # checkpoint, and the -wal file would grow with every outcome of a million-message send.
    path = tmp_path / "ledger.sqlite"
    emails = [f"user{i:05d}@example.org" for i in range(PENDING_CHUNK * 12)]
    with Ledger.open(path) as opened:
        opened.mark_attempting(ISSUE_ID, [(e, f"<{e}>") for e in emails])
        for delivery in opened.pending(ISSUE_ID):
            opened.record_results(
                ISSUE_ID, [DeliveryResult(delivery.email, DeliveryStatus.SENT, 250, "ok")]
            )
        wal = path.with_name(path.name + "-wal").stat().st_size
    # SQLite checkpoints every 1000 pages (4 MiB) and then reuses the file from its start.
    assert wal < 6 * 2**20


def test_an_attempt_committed_before_a_crash_is_sent_again_after_it(tmp_path: Path) -> None:
    path = tmp_path / "ledger.sqlite"
    code = """
        import os, signal, sys
        from pathlib import Path
        from digestmail.ledger.store import DeliveryResult, Ledger
        from digestmail.models import DeliveryStatus
        ledger = Ledger.open(Path(sys.argv[1]))
        emails = [f"user{i}@example.org" for i in range(10)]
        ledger.mark_attempting("monthly-2017-11", [(e, f"<{e}>") for e in emails])
        sent = [DeliveryResult(e, DeliveryStatus.SENT, 250, "ok") for e in emails[:6]]
        ledger.record_results("monthly-2017-11", sent)
        os.kill(os.getpid(), signal.SIGKILL)
    """
    child = run_child(code, str(path))
    assert child.returncode == -signal.SIGKILL, child.stderr
    with Ledger.open(path) as reopened:
        assert sorted(d.email for d in reopened.pending(ISSUE_ID)) == [
            f"user{i}@example.org" for i in range(6, 10)
        ]
        assert reopened.counts(ISSUE_ID)[DeliveryStatus.SENT] == 6


def test_test_copies_are_recorded_apart_from_the_lists_deliveries(ledger: Ledger) -> None:
    ledger.store_issue(make_issue(), content_hash="h")
    ledger.record_results(
        f"{ISSUE_ID}#test", [DeliveryResult("editor@example.org", DeliveryStatus.SENT, 250, "ok")]
    )
    assert ledger.counts(ISSUE_ID)[DeliveryStatus.SENT] == 0
    assert ledger.delivery_states(ISSUE_ID, ["editor@example.org"]) == {}
    assert ledger.sent_posts("monthly") == set()
    assert [s.id for s in ledger.issues()] == [ISSUE_ID]


# --- suppressions -----------------------------------------------------------------------------


def test_a_suppression_for_one_list_does_not_touch_another(ledger: Ledger) -> None:
    ledger.suppress("anna@example.org", list_key="monthly", reason="unsubscribed")
    assert ledger.is_suppressed("anna@example.org", list_key="monthly")
    assert not ledger.is_suppressed("anna@example.org", list_key="weekly")


def test_a_suppression_for_all_lists_matches_every_list_and_any_case(ledger: Ledger) -> None:
    ledger.suppress("  Anna@Example.ORG ", list_key=None, reason="550 5.1.1 user unknown")
    batch = ["anna@example.org", "ANNA@example.org", "bernd@example.org"]
    assert ledger.suppressed(batch, list_key="weekly") == {"anna@example.org", "ANNA@example.org"}
    assert ledger.suppressed([], list_key="weekly") == set()


def test_suppressing_twice_is_harmless(ledger: Ledger) -> None:
    ledger.suppress("anna@example.org", list_key=None, reason="first")
    ledger.suppress("anna@example.org", list_key=None, reason="second")
    assert ledger.is_suppressed("anna@example.org", list_key="monthly")


def test_a_schema_5_ledger_gains_the_relay_column_keeping_every_delivery(tmp_path: Path) -> None:
    """Issue 13: a ledger the release before several relays wrote opens, rows intact."""
    path = tmp_path / "ledger.sqlite"
    with contextlib.closing(sqlite3.connect(path)) as old, old:
        for step in ledger_schema.MIGRATIONS[:5]:
            step(old)
        old.execute("PRAGMA user_version = 5")
        old.execute(
            "INSERT INTO deliveries (issue_id, email, status, attempts, last_code, last_reply,"
            " message_id, created_at, updated_at) VALUES (?, 'a@example.org', 'sent', 1, 250,"
            " '2.0.0 queued', '<m1@example.org>', '2026-11-01', '2026-11-01')",
            (ISSUE_ID,),
        )
        assert "relay" not in {row[1] for row in old.execute("PRAGMA table_info(deliveries)")}
    with Ledger.open(path) as ledger:
        (row,) = ledger.delivery_states(ISSUE_ID, ["a@example.org"]).values()
        assert (row.status, row.last_code, row.message_id, row.relay) == (
            DeliveryStatus.SENT,
            250,
            "<m1@example.org>",
            None,
        )
        assert ledger.relay_counts(ISSUE_ID) == {}
        ledger.record_results(
            ISSUE_ID,
            [
                DeliveryResult("b@example.org", DeliveryStatus.SENT, 250, "ok", "relay-b"),
                DeliveryResult(
                    "c@example.org", DeliveryStatus.FAILED_TEMPORARY, 451, "later", "relay-a"
                ),
            ],
        )
        # A deferral by one relay, then acceptance by another: the row names the second.
        ledger.record_results(
            ISSUE_ID, [DeliveryResult("c@example.org", DeliveryStatus.SENT, 250, "ok", "relay-b")]
        )
        assert ledger.delivery_states(ISSUE_ID, ["c@example.org"])["c@example.org"].relay == (
            "relay-b"
        )
        counts = ledger.relay_counts(ISSUE_ID)
        assert list(counts) == ["relay-b"]
        assert counts["relay-b"][DeliveryStatus.SENT] == 2
        assert ledger.counts(ISSUE_ID)[DeliveryStatus.SENT] == 3
    with contextlib.closing(sqlite3.connect(path)) as check:
        assert check.execute("PRAGMA user_version").fetchone()[0] == ledger_schema.SCHEMA_VERSION
