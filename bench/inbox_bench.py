"""Inbox benchmark: how fast ``digestmail inbox`` sorts a Maildir, and how much memory it takes.

Run on demand, never in CI (about a minute on two cores)::

    python bench/inbox_bench.py              # 2,500, 5,000, 10,000 messages; 100,000 deliveries
    python bench/inbox_bench.py --messages 2000 10000 50000 --deliveries 100000

The ledger holds ``--deliveries`` list deliveries (10 issues of ``deliveries / 10`` readers,
with Message-IDs as the factory makes them). The Maildir holds a mix made from the hand-written
fixtures in ``tests/fixtures/inbox`` (each copy with its own Message-ID and reader): standard
DSNs (5.1.1, 4.2.2 delayed), Postfix- and Exim-style notices, a DSN with only the quoted
Message-ID, VERP-only bounces, 5.7.1 policy rejections, out-of-office replies, unsubscribe
requests from subscribers and strangers, and malformed messages. Every run is a child process
of its own, so its peak RSS (``ru_maxrss``) is its own; the ledger and Maildir are built by the
parent and copied for each run. Also measured apart: building the VERP token lookup on the
ledger (what the first VERP bounce of a run pays). Output is Markdown for docs/benchmarks.md.

``--imap`` reads the same mix from a throw-away Dovecot on 127.0.0.1 instead (the tests'
helper, plain IMAP: no TLS cost in the figures), to show the round trips: the messages are
fetched in groups and a batch is moved with one command.

Wall-clock rates depend on what else the machine does; the CPU time of the run (all its
threads, ``time.process_time``) and the load average beside each row say how much. For an A/B
comparison, run the same command with ``PYTHONPATH`` pointing at the other source tree.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import platform
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from string import Template
from typing import Any

REPO = Path(__file__).resolve().parent.parent
FIXTURES = REPO / "tests" / "fixtures" / "inbox"
SECRET = "inbox-bench-secret"
BOUNCE_ADDRESS = "bounces@example.org"
ISSUES = 10
MIX = [
    # fixture, copies per 100 messages
    ("dsn_511.eml", 20),
    ("dsn_422_delayed.eml", 10),
    ("postfix_style.eml", 8),
    ("exim_style.eml", 8),
    ("dsn_message_id_only.eml", 10),
    ("verp_only.eml", 14),
    ("policy_571.eml", 5),
    ("out_of_office.eml", 12),
    ("unsubscribe_subscriber.eml", 4),
    ("unsubscribe_stranger.eml", 4),
    ("malformed.eml", 5),
]
_MESSAGE_ID = re.compile(rb"^Message-ID: <[^>]*>", re.MULTILINE | re.IGNORECASE)


def write_project(root: Path, readers: int) -> Path:
    (root / "config").mkdir(parents=True, exist_ok=True)
    with (root / "config" / "monthly.csv").open("w", encoding="utf-8") as out:
        out.write("email,name\n")
        for i in range(readers):
            out.write(f"reader{i}@example.net,Leserin {i}\n")
    config = root / "config" / "digestmail.toml"
    config.write_text(
        f"""
[site]
title = "Benchmark"
base_url = "https://example.org/"
language = "de"
[transport]
kind = "maildir"
maildir = "outbox"
[lists.monthly]
name = "Veranstaltungstipps"
from = "Tipps <tipps@example.org>"
subscribers = "config/monthly.csv"
categories = ["tipp"]
unsubscribe_mailto = "abmelden@example.org"
[inbox]
kind = "maildir"
maildir = "inbox"
bounce_address = "{BOUNCE_ADDRESS}"
""",
        encoding="utf-8",
    )
    return config


def fill_ledger(config_path: Path, readers: int) -> list[str]:
    """``ISSUES`` issues of ``readers`` deliveries each; returns the issue ids, oldest first."""
    from digestmail.config import load_config
    from digestmail.ledger.store import DeliveryResult, Ledger
    from digestmail.models import DeliveryStatus, Issue

    config = load_config(config_path)
    ids = []
    with Ledger.open(config.state.path) as ledger:
        for n in range(ISSUES):
            period = f"{2017 + n // 12}-{n % 12 + 1:02d}"
            issue = Issue(f"monthly-{period}", "monthly", period, "Tipps", "<p>x</p>", "x")
            ledger.store_issue(issue, content_hash="x")
            emails = [f"reader{i}@example.net" for i in range(readers)]
            ledger.mark_attempting(issue.id, [(e, message_id(issue.id, e)) for e in emails])
            ledger.record_results(
                issue.id, [DeliveryResult(e, DeliveryStatus.SENT, 250, "ok") for e in emails]
            )
            ids.append(issue.id)
    return ids


def message_id(issue_id: str, email: str) -> str:
    return f"<{issue_id}.{email.replace('@', '=')}@example.org>"


def fill_maildir(directory: Path, count: int, issues: list[str], readers: int) -> None:
    from digestmail.message.verp import verp_address, verp_token

    templates = {name: (FIXTURES / name).read_text(encoding="utf-8") for name, _ in MIX}
    plan = [name for name, per in MIX for _ in range(per)]
    for sub in ("new", "cur", "tmp"):
        (directory / sub).mkdir(parents=True, exist_ok=True)
    for n in range(count):
        name = plan[n % len(plan)]
        rcpt = f"reader{(n * 7919) % readers}@example.net"
        issue = issues[-1 - (n % 3)]  # most bounces are about the newest issues
        token = verp_token(SECRET, list_key="monthly", issue_id=issue, email=rcpt)
        text = Template(templates[name]).substitute(
            rcpt=rcpt,
            verp=verp_address(BOUNCE_ADDRESS, token),
            message_id=message_id(issue, rcpt),
            bounce_address=BOUNCE_ADDRESS,
        )
        data = _MESSAGE_ID.sub(f"Message-ID: <bench.{n}@mx.example.net>".encode(), text.encode(), 1)
        (directory / "new" / f"{1700000000 + n}.M{n}P1.bench").write_bytes(data)


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def measure_imap(
    template: Path, root: Path, count: int, issues: list[str], readers: int, synchronous: str
) -> dict[str, Any]:
    """Like :func:`measure`, the mix APPENDed to a fresh Dovecot's INBOX (needs dovecot)."""
    import imaplib

    sys.path.insert(0, str(REPO))
    from tests.helpers.dovecot import PASSWORD, USER, start_dovecot

    server = start_dovecot(root / "dovecot")
    try:
        mails = root / "imap-mails"
        shutil.rmtree(mails, ignore_errors=True)
        fill_maildir(mails, count, issues, readers)
        imap = imaplib.IMAP4("127.0.0.1", server.imap_port)
        imap.login(USER, PASSWORD)
        for path in sorted((mails / "new").iterdir()):
            imap.append("INBOX", None, None, path.read_bytes().replace(b"\n", b"\r\n"))
        imap.logout()
        shutil.rmtree(mails)
        config = template / "config" / "digestmail.toml"
        text = config.read_text(encoding="utf-8")
        imap_section = (
            f'kind = "imap"\nhost = "127.0.0.1"\nport = {server.imap_port}\nsecurity = "none"\n'
            f'username = "{USER}"\npassword_env = "DM_BENCH_IMAP_PW"\n'
        )
        config.write_text(text.replace('kind = "maildir"\nmaildir = "inbox"\n', imap_section))
        os.environ["DM_BENCH_IMAP_PW"] = PASSWORD
        return measure("inbox", template, root, synchronous)
    finally:
        server.stop()


def run_child(kind: str, config_path: Path, synchronous: str) -> dict[str, Any]:
    """In the child: ``inbox`` runs digestmail inbox; ``tokens-*`` one VERP lookup only."""
    os.environ["DIGESTMAIL_SECRET"] = SECRET
    if synchronous != "FULL":  # an experiment: how much of the time is the commits' fsync
        import digestmail.ledger.schema

        digestmail.ledger.schema.SYNCHRONOUS = synchronous
    from digestmail.app.inbox.process import InboxRun
    from digestmail.config import load_config
    from digestmail.ledger.store import Ledger

    config = load_config(config_path)
    with Ledger.open(config.state.path) as ledger:
        run = InboxRun(config, ledger)
        before = rss_mb()
        start = time.perf_counter()
        cpu = time.process_time()
        if kind in ("tokens-newest", "tokens-unknown"):
            # What the first VERP bounce of a run pays: a token of the newest issue (the usual
            # case), or a token no delivery has (a forgery: every issue's tokens are computed).
            from digestmail.message.verp import verp_token

            newest = ledger.issues("monthly")[-1].id
            email = "reader0@example.net" if kind == "tokens-newest" else "nobody@example.net"
            token = verp_token(SECRET, list_key="monthly", issue_id=newest, email=email)
            found = run.matcher.by_verp([f"bounces+{token}@example.org"])
            assert bool(found) == (kind == "tokens-newest")
            outcomes: dict[str, int] = {"found": len(found)}
        else:
            report = asyncio.run(run.run())
            outcomes = dict(report.outcomes)
        seconds = time.perf_counter() - start
        cpu = time.process_time() - cpu
    return {
        "seconds": seconds,
        "cpu": cpu,
        "rss_before": before,
        "rss_peak": rss_mb(),
        "outcomes": outcomes,
    }


def measure(kind: str, template: Path, root: Path, synchronous: str) -> dict[str, Any]:
    """Copy the prepared project (ledger and Maildir) and run one child on the copy."""
    work = root / f"run-{kind}"
    shutil.rmtree(work, ignore_errors=True)
    shutil.copytree(template, work)
    out = subprocess.run(
        [
            sys.executable,
            __file__,
            "--child",
            kind,
            str(work / "config" / "digestmail.toml"),
            synchronous,
        ],
        check=True,
        capture_output=True,
        text=True,
        env={**os.environ, "DIGESTMAIL_SECRET": SECRET},
    ).stdout
    shutil.rmtree(work, ignore_errors=True)
    return dict(json.loads(out.strip().splitlines()[-1]))


def machine() -> str:
    cpu = "unknown CPU"
    with contextlib.suppress(OSError):
        found = re.search(r"model name\s*:\s*(.+)", Path("/proc/cpuinfo").read_text())
        cpu = found.group(1) if found else cpu
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    return (
        f"{os.cpu_count()} cores ({cpu}), Python {platform.python_version()},"
        f" {platform.system()}; load average {load}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--messages", type=int, nargs="+", default=[2_500, 5_000, 10_000])
    parser.add_argument("--deliveries", type=int, default=100_000)
    parser.add_argument(
        "--synchronous",
        default="FULL",
        choices=["FULL", "NORMAL"],
        help="the ledger's PRAGMA synchronous (digestmail uses FULL; NORMAL shows the fsync cost)",
    )
    parser.add_argument(
        "--imap", action="store_true", help="read the mix from a throw-away Dovecot over IMAP"
    )
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(run_child(args.child[0], Path(args.child[1]), args.child[2])))
        return
    readers = max(1, args.deliveries // ISSUES)
    where = "IMAP (Dovecot on 127.0.0.1)" if args.imap else "Maildir"
    print(f"machine: {machine()}; ledger synchronous = {args.synchronous}; {where}", flush=True)
    with tempfile.TemporaryDirectory(prefix="dm-inbox-bench-") as tmp:
        root = Path(tmp)
        base = root / "base"
        config = write_project(base, readers)
        started = time.perf_counter()
        issues = fill_ledger(config, readers)
        print(f"ledger: {ISSUES * readers:,} deliveries in {time.perf_counter() - started:.1f} s")
        print(
            f"\n| VERP lookup, {ISSUES} issues, {ISSUES * readers:,} deliveries | seconds |"
            " RSS before -> peak |\n| --- | ---: | ---: |"
        )
        for kind, label in (
            ("tokens-newest", "a token of the newest issue"),
            ("tokens-unknown", "a token no delivery has"),
        ):
            tokens = measure(kind, base, root, args.synchronous)
            print(
                f"| {label} | {tokens['seconds']:.2f} |"
                f" {tokens['rss_before']:.0f} -> {tokens['rss_peak']:.0f} MB |",
                flush=True,
            )
        print(
            "\n| messages | seconds | messages/s | CPU s | messages/CPU-s | RSS before -> peak |"
            " load | outcomes |\n| ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |"
        )
        for count in args.messages:
            prepared = root / f"with-{count}"
            shutil.copytree(base, prepared)
            if args.imap:
                result = measure_imap(prepared, root, count, issues, readers, args.synchronous)
            else:
                fill_maildir(prepared / "inbox", count, issues, readers)
                result = measure("inbox", prepared, root, args.synchronous)
            shutil.rmtree(prepared)
            outcomes = ", ".join(f"{k} {v}" for k, v in sorted(result["outcomes"].items()))
            print(
                f"| {count:,} | {result['seconds']:.1f} | {count / result['seconds']:,.0f} |"
                f" {result['cpu']:.1f} | {count / result['cpu']:,.0f} |"
                f" {result['rss_before']:.0f} -> {result['rss_peak']:.0f} MB |"
                f" {os.getloadavg()[0]:.1f} | {outcomes} |",
                flush=True,
            )
    print(f"\nload average after: {', '.join(f'{x:.1f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
