"""``digestmail run-due`` end to end: the real command, a real SMTP server, a real SQLite ledger.

A simulated year is driven with ``--now``: every issue goes out once, on the first run after its
scheduled time; a missed run is caught up, a long downtime is limited by ``catch_up``, an empty
month is recorded as skipped, a late tip travels in the next issue only, DST switch days fire
once, and two runs started together mail each subscriber one copy.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from digestmail.config import load_config
from digestmail.ledger.store import Ledger
from tests.helpers.cli import Cli
from tests.helpers.project import MakeProject
from tests.helpers.smtp_server import PASSWORD_ENV, Faults, SmtpTestServer

SUBSCRIBERS = "email,name\nanna@example.org,Anna\nbernd@example.org,Bernd\n"
ADDRESSES = ["anna@example.org", "bernd@example.org"]


def tip(slug: str, date: str, *, publish: str | None = None) -> tuple[str, str]:
    front = [
        "---",
        f'title: "Tipp {slug}"',
        f'date: "{date}"',
        "categories: veranstaltungstipp",
    ]
    if publish:
        front.append(f'publishDate: "{publish}"')
    body = "\n".join([*front, "---", f"Beschreibung von {slug}.", ""])
    return f"veranstaltungstipp/{slug}.md", body


# One tip a month, except June (an empty month); the late tip is dated in March but only
# published in April, after March's issue went out on 1 April.
POSTS = dict(
    [
        *(tip(f"2026-{m:02d}", f"2026-{m:02d}-15") for m in range(1, 13) if m != 6),
        tip("spaet", "2026-03-20", publish="2026-04-10T12:00:00+02:00"),
    ]
)


@dataclass(frozen=True)
class Done:
    returncode: int
    stderr: str


Run = Callable[..., Done]


@pytest.fixture
def project(make_project: MakeProject, smtp_server: SmtpTestServer) -> Path:
    return make_project(
        posts=POSTS,
        subscribers=SUBSCRIBERS,
        extra_config='\n[transport]\nkind = "smtp"\n\n' + smtp_server.smtp_config(),
    )


@pytest.fixture
def run(project: Path, cli: Cli) -> Run:
    """``digestmail run-due --now NOW`` through the real command line, in this process.

    In-process keeps a simulated year fast (a fresh interpreter per run costs ~0.4 s); the
    tests that need separate processes (two runs at once, DST days) start real ones.
    """

    def digestmail(now: str, *extra: str) -> Done:
        args = ["--config", str(project), "run-due", "--now", now, *extra]
        result = cli.invoke(*args, env=PASSWORD_ENV)
        return Done(result.exit_code, result.output)

    return digestmail


def mailed(server: SmtpTestServer) -> Counter[tuple[str, str]]:
    """(issue id, recipient) -> copies received; the issue id leads every Message-ID."""
    copies: Counter[tuple[str, str]] = Counter()
    for message in server.received:
        issue = message.parse()["Message-ID"].strip("<>").split(".")[0]
        for rcpt in message.rcpt_tos:
            copies[(issue, rcpt)] += 1
    return copies


def issues_mailed(server: SmtpTestServer) -> list[str]:
    return sorted({issue for issue, _ in mailed(server)})


def text_of(server: SmtpTestServer, issue_id: str) -> str:
    """The plain-text part of the first copy of ``issue_id`` the server received."""
    for message in server.received:
        parsed = message.parse()
        if parsed["Message-ID"].startswith(f"<{issue_id}."):
            for part in parsed.walk():
                if part.get_content_type() == "text/plain":
                    payload = part.get_payload(decode=True)
                    assert isinstance(payload, bytes)
                    return payload.decode("utf-8")
    raise AssertionError(f"{issue_id} was never mailed")


def statuses(project: Path) -> dict[str, str]:
    with Ledger.open(load_config(project).state.path) as ledger:
        return {summary.id: summary.status for summary in ledger.issues("monthly")}


def test_a_simulated_year(project: Path, run: Run, smtp_server: SmtpTestServer) -> None:
    before_first = run("2026-01-20T12:00")  # a new list: January is not due yet
    assert before_first.returncode == 0, before_first.stderr
    assert smtp_server.received == []

    for month in range(2, 14):
        year, first = (2026, f"{month:02d}") if month <= 12 else (2027, "01")
        day = "03" if month == 9 else "01"  # the machine was off on 1 September
        if month != 9:
            sent_before = issues_mailed(smtp_server)
            early = run(f"{year}-{first}-01T07:59")
            assert early.returncode == 0, early.stderr
            assert issues_mailed(smtp_server) == sent_before, f"sent before 08:00 in {first}"
        on_time = run(f"{year}-{first}-{day}T08:05")
        assert on_time.returncode == 0, on_time.stderr
        again = run(f"{year}-{first}-{day}T09:05")
        assert again.returncode == 0, again.stderr
        assert "nothing is due" in again.stderr

    expected = [f"monthly-2026-{m:02d}" for m in range(1, 13) if m != 6]
    assert issues_mailed(smtp_server) == expected
    # exactly one copy of every issue for every subscriber
    copies = mailed(smtp_server)
    assert set(copies.values()) == {1}
    assert len(copies) == len(expected) * len(ADDRESSES)
    # June had nothing to say: recorded as skipped, not mailed
    recorded = statuses(project)
    assert recorded["monthly-2026-06"] == "skipped"
    assert {recorded[i] for i in expected} == {"finished"}
    # the late tip: not in March's issue, in April's, and in no other
    assert "Tipp spaet" in text_of(smtp_server, "monthly-2026-04")
    others = [i for i in expected if i != "monthly-2026-04"]
    assert [i for i in others if "Tipp spaet" in text_of(smtp_server, i)] == []


def test_after_a_long_downtime_only_the_latest_issue_goes_out(
    project: Path, run: Run, smtp_server: SmtpTestServer
) -> None:
    assert run("2026-03-01T09:00").returncode == 0  # February goes out
    revived = run("2026-11-02T10:00")  # the server was off from March to November
    assert revived.returncode == 0, revived.stderr
    assert issues_mailed(smtp_server) == ["monthly-2026-02", "monthly-2026-10"]
    assert "monthly-2026-03" in revived.stderr and "--include-old" in revived.stderr
    quiet = run("2026-11-02T11:00")
    assert "nothing is due" in quiet.stderr
    old = run("2026-11-02T12:00", "--include-old")
    assert old.returncode == 0, old.stderr
    months = [3, 4, 5, 7, 8, 9]  # June is empty: skipped, not mailed
    assert issues_mailed(smtp_server) == sorted(
        ["monthly-2026-02", "monthly-2026-10"] + [f"monthly-2026-{m:02d}" for m in months]
    )
    assert set(mailed(smtp_server).values()) == {1}


@pytest.mark.parametrize(
    ("runs", "sending_run"),
    [
        # 29 March 2026: 02:30 does not exist in Berlin; the issue goes out right after the gap
        (["2026-03-29T01:50+01:00", "2026-03-29T03:10+02:00", "2026-03-29T04:10+02:00"], 1),
        # 25 October 2026: 02:30 happens twice; the issue goes out at the first one only
        (
            [
                "2026-10-25T02:20+02:00",
                "2026-10-25T02:40+02:00",
                "2026-10-25T02:20+01:00",
                "2026-10-25T02:40+01:00",
            ],
            1,
        ),
    ],
)
def test_a_0230_schedule_on_a_dst_switch_day_sends_once(
    make_project: MakeProject,
    smtp_server: SmtpTestServer,
    runs: list[str],
    sending_run: int,
    cli: Cli,
) -> None:
    cfg = make_project(
        posts=dict([tip("m", "2026-03-18"), tip("o", "2026-10-14")]),
        subscribers=SUBSCRIBERS,
        extra_config='cadence = "week"\nschedule = "30 2 * * 0"\n'
        '\n[transport]\nkind = "smtp"\n\n' + smtp_server.smtp_config(),
    )
    received_after: list[int] = []
    for now in runs:
        done = cli.invoke("--config", str(cfg), "run-due", "--now", now, env=PASSWORD_ENV)
        assert done.exit_code == 0, done.output
        received_after.append(len(smtp_server.received))
    assert received_after[sending_run - 1] == 0
    assert all(n == len(ADDRESSES) for n in received_after[sending_run:])
    assert set(mailed(smtp_server).values()) == {1}


def test_two_runs_started_together_mail_each_subscriber_once(
    make_project: MakeProject, tmp_path: Path, smtp_password: str, cli: Cli
) -> None:
    server = SmtpTestServer(tmp_path, faults=Faults(delay=0.2)).start()  # a slow relay
    try:
        many = "email\n" + "".join(f"leser{i}@example.org\n" for i in range(12))
        cfg = make_project(
            posts=POSTS,
            subscribers=many,
            extra_config='\n[transport]\nkind = "smtp"\n\n' + server.smtp_config(connections=2),
        )
        args = ["--config", str(cfg), "run-due", "--now", "2026-11-01T09:00"]
        procs = [cli.popen(*args, env=PASSWORD_ENV) for _ in range(2)]
        errors = [p.communicate(timeout=120)[1] for p in procs]
        codes = sorted(p.returncode for p in procs)
        assert codes in ([0, 0], [0, 75]), errors
        copies = mailed(server)
        assert set(copies) == {("monthly-2026-10", f"leser{i}@example.org") for i in range(12)}
        assert set(copies.values()) == {1}, errors
    finally:
        server.stop()


# --- a send cut off part-way is finished by the next run, however old it has become ------------

FLAKY_ADDRESSES = [*ADDRESSES, "tempfail451@example.org"]


@pytest.fixture
def flaky_relay(tmp_path: Path, smtp_password: str) -> Iterator[SmtpTestServer]:
    """A relay that answers 451 to ``tempfail451`` once, so the first issue mailed stays open."""
    server = SmtpTestServer(tmp_path, faults=Faults(tempfail_times=1)).start()
    try:
        yield server
    finally:
        server.stop()


def on_flaky_relay(
    cli: Cli,
    make_project: MakeProject,
    server: SmtpTestServer,
    posts: dict[str, str],
    settings: str = "",
) -> tuple[Path, Run]:
    """A project on ``server`` that gives a deferred address one attempt, and its ``run-due``.

    Once ``tempfail451`` subscribes (:func:`flaky_subscribes`), the next send ends with exit 75
    and its issue stays ``open`` in the ledger, partly delivered.
    """
    cfg = make_project(
        posts=posts,
        subscribers=SUBSCRIBERS,
        extra_config=settings
        + '\n[transport]\nkind = "smtp"\n\n'
        + server.smtp_config(max_attempts=1),
    )

    def digestmail(now: str, *extra: str) -> Done:
        args = ["--config", str(cfg), "run-due", "--now", now, *extra]
        result = cli.invoke(*args, env=PASSWORD_ENV)
        return Done(result.exit_code, result.output)

    return cfg, digestmail


def flaky_subscribes(cfg: Path) -> None:
    with (cfg.parent / "subscribers" / "monthly.csv").open("a", encoding="utf-8") as csv:
        csv.write("tempfail451@example.org,Flaky\n")


def test_an_issue_cut_off_by_a_relay_outage_is_finished_when_the_next_one_is_due(
    make_project: MakeProject, flaky_relay: SmtpTestServer, cli: Cli
) -> None:
    cfg, run = on_flaky_relay(cli, make_project, flaky_relay, POSTS)
    assert run("2026-10-01T09:00").returncode == 0  # September in full
    flaky_subscribes(cfg)
    cut_off = run("2026-11-01T09:00")  # October: one subscriber deferred, left for later
    assert cut_off.returncode == 75, cut_off.stderr
    assert statuses(cfg)["monthly-2026-10"] == "open"
    assert ("monthly-2026-10", "tempfail451@example.org") not in mailed(flaky_relay)
    # the relay stayed down past the next due time; the 1 December run finishes October first
    resumed = run("2026-12-01T09:00")
    assert resumed.returncode == 0, resumed.stderr
    assert "--include-old" not in resumed.stderr
    recorded = statuses(cfg)
    assert recorded["monthly-2026-10"] == recorded["monthly-2026-11"] == "finished"
    copies = mailed(flaky_relay)
    assert set(copies) == {("monthly-2026-09", rcpt) for rcpt in ADDRESSES} | {
        (f"monthly-2026-{m}", rcpt) for m in ("10", "11") for rcpt in FLAKY_ADDRESSES
    }
    assert set(copies.values()) == {1}  # each subscriber exactly one copy of each issue
    order = [m.parse()["Message-ID"].strip("<>").split(".")[0] for m in flaky_relay.received]
    assert order[-4:] == ["monthly-2026-10"] + ["monthly-2026-11"] * 3  # oldest first
    assert "nothing is due" in run("2026-12-01T10:00").stderr


def test_a_weekly_issue_left_open_longer_than_the_look_back_is_still_finished(
    make_project: MakeProject, flaky_relay: SmtpTestServer, cli: Cli
) -> None:
    posts = dict([tip("w10", "2026-03-04"), tip("w45", "2026-11-04")])
    cfg, run = on_flaky_relay(
        cli, make_project, flaky_relay, posts, 'cadence = "week"\nschedule = "0 7 * * 1"\n'
    )
    flaky_subscribes(cfg)
    cut_off = run("2026-03-09T08:00")  # week 10 (2 to 8 March), one subscriber deferred
    assert cut_off.returncode == 75, cut_off.stderr
    assert statuses(cfg) == {"monthly-2026-W10": "open"}
    # 35 weeks later: week 10 lies far beyond the 24 weeks run-due looks back at
    revived = run("2026-11-09T08:00")
    assert revived.returncode == 0, revived.stderr
    recorded = statuses(cfg)
    assert recorded["monthly-2026-W10"] == recorded["monthly-2026-W45"] == "finished"
    copies = mailed(flaky_relay)
    assert set(copies) == {
        (f"monthly-2026-W{w}", rcpt) for w in (10, 45) for rcpt in FLAKY_ADDRESSES
    }
    assert set(copies.values()) == {1}


def test_a_broken_subscriber_file_of_one_list_does_not_hold_back_the_others(
    make_project: MakeProject, smtp_server: SmtpTestServer, cli: Cli
) -> None:
    project = make_project(
        posts=POSTS,
        subscribers="email,name\n",  # monthly: a header and no one
        extra_config='\n[transport]\nkind = "smtp"\n\n'
        + smtp_server.smtp_config()
        + '\n[lists.zweite]\nfrom = "Tipps <tipps@example.org>"\n'
        'subscribers = "config/subscribers/zweite.csv"\ncategories = ["veranstaltungstipp"]\n',
    )
    (project.parent / "subscribers" / "zweite.csv").write_text(SUBSCRIBERS, encoding="utf-8")
    result = cli.invoke(
        "--config", str(project), "run-due", "--now", "2026-05-01T09:00", env=PASSWORD_ENV
    )
    assert result.exit_code == 2, result.output
    assert "monthly.csv: no address to mail" in result.output
    assert mailed(smtp_server) == Counter({("zweite-2026-04", a): 1 for a in ADDRESSES})
