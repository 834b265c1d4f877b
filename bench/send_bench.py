"""Send benchmark: digestmail against Postfix's smtp-sink, next to a plain smtplib loop.

Run on demand, never in CI (it needs ``/usr/sbin/smtp-sink`` from the Debian package
``postfix`` and takes minutes)::

    python bench/send_bench.py                 # CPU-bound, ledger off/on, latency-bound, 10k RSS
    python bench/send_bench.py --million       # also the 1,000,000-recipient memory run (~8 min)

Every scenario runs in its own child process so its peak RSS is its own. The message is one
30 KB digest built by :class:`digestmail.message.factory.MessageFactory` when that module is present
(else a splice of pre-built bytes, which the output says). Figures go to stdout as Markdown,
ready for ``docs/benchmarks.md``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import re
import resource
import shutil
import smtplib
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from digestmail.config import Config, load_config
from digestmail.deliver import event_loop
from digestmail.deliver.counts import Outcome
from digestmail.deliver.job import SendJob
from digestmail.deliver.send import send_issue
from digestmail.deliver.transports.smtp import SmtpTransport
from digestmail.ledger.store import Ledger, StoredIssue
from digestmail.models import Delivery, Issue, OutgoingMessage, Recipient
from digestmail.render import placeholders

SINK = "/usr/sbin/smtp-sink"
SOURCE = "/usr/sbin/smtp-source"
TARGET_SIZE = 30_000


# --- the digest ---------------------------------------------------------------------------------


def make_issue(items: int = 40) -> Issue:
    """A digest of ``items`` event tips; :func:`digest` picks the count for a 30 KB message."""
    item_html = (
        '<tr><td style="padding:12px 0;font-family:Georgia,serif">'
        '<h2 style="margin:0;font-size:20px"><a href="https://example.org/tipps/{i}/" '
        'style="color:#1a5276">Veranstaltung Nummer {i} im Bürgerhaus</a></h2>'
        '<p style="margin:4px 0;color:#555">Am {i}. November um 19 Uhr: Gespräch über '
        "Beteiligung, Nachbarschaft und die Frage, wie eine Stadt für alle gebaut wird.</p>"
        "</td></tr>\n"
    )
    item_text = (
        "* Veranstaltung Nummer {i} im Bürgerhaus\n  https://example.org/tipps/{i}/\n"
        "  Am {i}. November um 19 Uhr: Gespräch über Beteiligung und Nachbarschaft.\n\n"
    )
    link = placeholders.Slot.UNSUBSCRIBE_URL.value  # per recipient, as in the real theme
    html = (
        '<!doctype html><html lang="de"><body><table role="presentation" width="100%">'
        + "".join(item_html.format(i=i) for i in range(1, items + 1))
        + f'</table><p><a href="{link}">Abmelden</a></p></body></html>'
    )
    return Issue(
        id="bench-2017-11",
        list_name="bench",
        period="2017-11",
        subject="Veranstaltungstipps – November 2017",
        html=html,
        text="".join(item_text.format(i=i) for i in range(1, items + 1)) + f"Abmelden:\n{link}\n",
    )


def digest(make_factory: Any) -> Issue:
    """The smallest issue whose message is at least :data:`TARGET_SIZE` bytes."""
    items = 10
    while True:
        issue = make_issue(items)
        size = len(make_factory(issue).build(Recipient("reader0@example.net")).data)
        if size >= TARGET_SIZE:
            return issue
        items += 1


class SpliceFactory:
    """Fallback when message.py is absent: pre-built bytes with the To header spliced in."""

    def __init__(self, issue: Issue) -> None:
        from email.message import EmailMessage
        from email.policy import SMTP

        msg = EmailMessage(policy=SMTP)
        msg["From"] = "Tipps <tipps@example.org>"
        msg["Subject"] = issue.subject
        msg.set_content(issue.text)
        msg.add_alternative(issue.html, subtype="html")
        self._tail = msg.as_bytes()

    def message_id(self, email: str) -> str:
        return f"<{email.replace('@', '.')}.bench@example.org>"

    def build(self, recipient: Recipient) -> OutgoingMessage:
        message_id = self.message_id(recipient.email)
        head = f"To: {recipient.email}\r\nMessage-ID: {message_id}\r\n".encode()
        return OutgoingMessage(recipient.email, message_id, head + self._tail)


def factory_maker(config: Config) -> tuple[Any, str]:
    try:
        from digestmail.message import factory as message
    except ImportError:
        return SpliceFactory, "SpliceFactory (message.py absent)"
    list_cfg = config.get_list("bench")

    def make(issue: Issue) -> Any:
        return message.MessageFactory(issue, config=config, list_cfg=list_cfg, secret="bench")

    return make, "digestmail.message.factory.MessageFactory"


# --- the sink ----------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def sink(delay: int = 0) -> Iterator[int]:
    port = free_port()
    args = [SINK, "-m", "1024"]
    if delay:
        args += ["-w", str(delay)]
    if os.geteuid() == 0:
        args += ["-u", "nobody"]
    proc = subprocess.Popen([*args, f"127.0.0.1:{port}", "1024"])
    try:
        deadline = time.monotonic() + 10
        while True:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 1):
                break
            if time.monotonic() > deadline:
                raise RuntimeError("smtp-sink did not start")
            time.sleep(0.05)
        yield port
    finally:
        proc.terminate()
        proc.wait(10)


# --- scenarios (each in a child process) -------------------------------------------------------


DKIM_ALGORITHMS = {"rsa": ["rsa-sha256"], "ed25519": ["ed25519-sha256"]}


def dkim_table(root: Path, kind: str) -> str:
    """A ``[dkim]`` table with fresh keys in ``root/config/dkim``, or "" for kind ``off``.

    ``rsa:1`` (or ``ed25519:0``) also sets ``sign_processes``.
    """
    kind, _, processes = kind.partition(":")
    if kind not in DKIM_ALGORITHMS:
        return ""
    from digestmail.message.dkim_keys import generate, write_private

    write_private(generate("rsa-sha256"), root / "config" / "dkim" / "bench.key")
    write_private(generate("ed25519-sha256"), root / "config" / "dkim" / "bench.ed25519.key")
    algorithms = json.dumps(DKIM_ALGORITHMS[kind])
    return (
        '[dkim]\ndomain = "example.org"\nselector = "bench"\n'
        f'key_file = "config/dkim/bench.key"\nalgorithms = {algorithms}\n'
        f"sign_processes = {int(processes or 0)}\n"
    )


def write_project(
    root: Path, *, port: int, connections: int, recipients: int, dkim: str = "off"
) -> Config:
    (root / "config").mkdir(parents=True, exist_ok=True)
    subscribers = root / "config" / "bench.csv"
    with subscribers.open("w", encoding="utf-8") as out:
        out.write("email,name\n")
        for i in range(recipients):
            out.write(f"reader{i}@example.net,Leserin {i}\n")
    (root / "config" / "digestmail.toml").write_text(
        f"""
[site]
title = "Benchmark"
base_url = "https://example.org/"
language = "de"
[transport]
kind = "smtp"
[smtp]
host = "127.0.0.1"
port = {port}
security = "none"
connections = {connections}
timeout = 60
[lists.bench]
name = "Veranstaltungstipps"
from = "Tipps <tipps@example.org>"
subscribers = "config/bench.csv"
categories = ["tipp"]
unsubscribe_mailto = "abmelden@example.org"
unsubscribe_url = "https://example.org/abmelden?token={{token}}"
"""
        + dkim_table(root, dkim),
        encoding="utf-8",
    )
    return load_config(root / "config" / "digestmail.toml")


class NullLedger:
    """The ledger's interface doing nothing: measures what the real ledger costs."""

    def acquire_lock(self, name: str, *, ttl: float = 60.0) -> object:
        return object()

    def renew_lock(self, lease: object) -> None: ...

    def release_lock(self, lease: object) -> None: ...

    def store_issue(self, issue: Issue, *, content_hash: str) -> StoredIssue:
        return StoredIssue(issue, content_hash, "open", datetime.now(UTC), None, "")

    def get_issue(self, issue_id: str) -> None:
        return None

    def finish_issue(self, issue_id: str) -> None: ...

    def suppressed(self, emails: Sequence[str], *, list_key: str) -> set[str]:
        return set()

    def is_suppressed(self, email: str, *, list_key: str) -> bool:
        return False

    def suppression_mark(self) -> int:
        return 0

    def suppressed_since(self, mark: int, *, list_key: str) -> tuple[int, set[str]]:
        return mark, set()

    def delivery_states(self, issue_id: str, emails: Sequence[str]) -> dict[str, Delivery]:
        return {}

    def mark_attempting(self, issue_id: str, items: Sequence[tuple[str, str]]) -> None: ...

    def record_results(self, issue_id: str, results: Sequence[Any]) -> None: ...

    def suppress(self, email: str, *, list_key: str | None, reason: str) -> None: ...


def run_digestmail(
    port: int, *, recipients: int, connections: int, ledger_on: bool, dkim: str = "off"
) -> dict[str, Any]:
    from digestmail.subscribers.reader import read_subscribers

    with tempfile.TemporaryDirectory(prefix="sendbench-") as tmp:
        config = write_project(
            Path(tmp), port=port, connections=connections, recipients=recipients, dkim=dkim
        )
        list_cfg = config.get_list("bench")
        make_factory, factory_name = factory_maker(config)
        issue = digest(make_factory)
        size = len(make_factory(issue).build(Recipient("reader0@example.net")).data)
        ledger: Any = Ledger.open(config.state.path) if ledger_on else NullLedger()
        started, cpu = time.perf_counter(), time.process_time()
        children = _children_cpu()
        report = event_loop.run(  # the loop `digestmail send` runs on
            send_issue(
                SendJob(config, list_cfg, issue, ledger),
                transport=SmtpTransport(config.smtp),
                make_factory=make_factory,
                recipients=read_subscribers(list_cfg.subscribers),
            )
        )
        seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
        children = _children_cpu() - children  # DKIM signing processes, ended with the send
        if ledger_on:
            ledger.close()
    assert report.counts[Outcome.SENT] == recipients, report
    return {
        "sent": report.counts[Outcome.SENT],
        "seconds": seconds,
        "rate": report.counts[Outcome.SENT] / seconds,
        "cpu_us": cpu / recipients * 1e6,
        "pool_cpu_us": children / recipients * 1e6,
        "size": size,
        "factory": factory_name,
        "maxrss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_smtplib(port: int, *, recipients: int) -> dict[str, Any]:
    """The baseline: one connection, the same CRLF bytes, no ledger, no per-recipient work."""
    data = SpliceFactory(digest(SpliceFactory)).build(Recipient("reader0@example.net")).data
    started, cpu = time.perf_counter(), time.process_time()
    with smtplib.SMTP("127.0.0.1", port) as client:
        for i in range(recipients):
            client.sendmail("tipps@example.org", [f"reader{i}@example.net"], data)
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    return {
        "sent": recipients,
        "seconds": seconds,
        "rate": recipients / seconds,
        "cpu_us": cpu / recipients * 1e6,
        "size": len(data),
    }


def run_smtp_source(port: int, *, recipients: int, sessions: int) -> dict[str, Any]:
    started = time.perf_counter()
    subprocess.run(
        [SOURCE, "-s", str(sessions), "-l", str(TARGET_SIZE), "-m", str(recipients),
         "-f", "tipps@example.org", "-t", "reader@example.net", f"127.0.0.1:{port}"],
        check=True,
    )  # fmt: skip
    seconds = time.perf_counter() - started
    return {"sent": recipients, "seconds": seconds, "rate": recipients / seconds}


def child(argv: list[str]) -> None:
    """``--child KIND PORT N CONNECTIONS LEDGER``: one measurement, as JSON on stdout."""
    kind, port, n, conns, ledger = argv[0], int(argv[1]), int(argv[2]), int(argv[3]), argv[4]
    if kind == "digestmail":
        ledger_on, _, dkim = ledger.partition("+")
        result = run_digestmail(
            port, recipients=n, connections=conns, ledger_on=ledger_on == "on", dkim=dkim or "off"
        )
    elif kind == "smtplib":
        result = run_smtplib(port, recipients=n)
    else:
        result = run_smtp_source(port, recipients=n, sessions=conns)
    print(json.dumps(result))


def measure(kind: str, port: int, n: int, conns: int = 1, ledger: str = "on") -> dict[str, Any]:
    out = subprocess.run(
        [sys.executable, __file__, "--child", kind, str(port), str(n), str(conns), ledger],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return dict(json.loads(out.strip().splitlines()[-1]))


# --- the report ---------------------------------------------------------------------------------


@dataclass
class Row:
    scenario: str
    rate: float
    note: str


def machine() -> str:
    cpu = "unknown CPU"
    with contextlib.suppress(OSError):
        found = re.search(r"model name\s*:\s*(.+)", Path("/proc/cpuinfo").read_text())
        cpu = found.group(1) if found else cpu
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    python = platform.python_version()
    return f"{os.cpu_count()} cores ({cpu}), Python {python}, {platform.system()}; load {load}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--recipients", type=int, default=10_000)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument(
        "--also-connections", type=int, default=8, help="one more ledger-on run at this pool size"
    )
    parser.add_argument("--latency-connections", type=int, default=64)
    parser.add_argument("--million", action="store_true", help="also the 1,000,000 RSS run")
    parser.add_argument("--skip-latency", action="store_true")
    parser.add_argument(
        "--dkim",
        action="store_true",
        help="also sends signed with RSA-2048 and Ed25519, and the "
        "signing cost per message (cryptography vs dkimpy)",
    )
    args = parser.parse_args()
    if not Path(SINK).exists():
        sys.exit(f"{SINK} is missing: apt-get install postfix (no configuration needed)")

    n, conns = args.recipients, args.connections
    rows: list[Row] = []
    with sink() as port:
        base = measure("smtplib", port, n)
        rows.append(
            Row(
                f"smtplib loop, 1 connection, {n:,}",
                base["rate"],
                f"{base['size']:,} B; {base['cpu_us']:.0f} µs CPU/msg",
            )
        )
        on = measure("digestmail", port, n, conns, "on")
        rows.append(
            Row(
                f"digestmail, ledger on, {conns} connections, {n:,}",
                on["rate"],
                f"**{on['rate'] / base['rate']:.2f}x smtplib**; {on['size']:,} B; "
                f"{on['cpu_us']:.0f} µs CPU/msg; {on['factory']}; "
                f"peak RSS {on['maxrss_mb']:.0f} MB",
            )
        )
        if args.also_connections and args.also_connections != conns:
            other = measure("digestmail", port, n, args.also_connections, "on")
            rows.append(
                Row(
                    f"digestmail, ledger on, {args.also_connections} connections, {n:,}",
                    other["rate"],
                    f"{other['rate'] / base['rate']:.2f}x smtplib; "
                    f"{other['cpu_us']:.0f} µs CPU/msg",
                )
            )
        off = measure("digestmail", port, n, conns, "off")
        rows.append(
            Row(
                f"digestmail, ledger off, {conns} connections, {n:,}",
                off["rate"],
                f"{off['rate'] / on['rate'] - 1:+.1%} msg/s vs ledger on; "
                f"{off['cpu_us']:.0f} µs CPU/msg ({off['cpu_us'] / on['cpu_us'] - 1:+.1%})",
            )
        )
        if args.dkim:
            for kind in ("rsa", "ed25519"):
                signed = measure("digestmail", port, n, conns, f"on+{kind}")
                rows.append(
                    Row(
                        f"digestmail, ledger on, DKIM {kind}, {conns} connections, {n:,}",
                        signed["rate"],
                        f"**{signed['rate'] / base['rate']:.2f}x smtplib** (target >= 1.5x); "
                        f"{signed['rate'] / on['rate'] - 1:+.1%} vs unsigned; "
                        f"{signed['cpu_us']:.0f} µs CPU/msg + {signed['pool_cpu_us']:.0f} in "
                        "signing processes",
                    )
                )
        if shutil.which(SOURCE) or Path(SOURCE).exists():
            src = measure("smtp-source", port, n, conns)
            rows.append(
                Row(
                    f"smtp-source, {conns} sessions, {n:,}",
                    src["rate"],
                    f"digestmail reaches {on['rate'] / src['rate']:.2f}x of it",
                )
            )
    if not args.skip_latency:
        lc = args.latency_connections
        with sink(delay=1) as port:
            lat = measure("digestmail", port, lc * 10, lc, "on")
        rows.append(
            Row(
                f"digestmail, smtp-sink -w 1, {lc} connections, {lc * 10:,}",
                lat["rate"],
                f"{lat['rate'] / lc:.2f} x {lc} msg/s (target >= 0.8)",
            )
        )
    if args.million:
        with sink() as port:
            big = measure("digestmail", port, 1_000_000, conns, "on")
        rows.append(
            Row(
                f"digestmail, ledger on, {conns} connections, 1,000,000",
                big["rate"],
                f"peak RSS {big['maxrss_mb']:.0f} MB "
                f"({big['maxrss_mb'] - on['maxrss_mb']:+.0f} MB vs {n:,}); "
                f"{big['seconds'] / 60:.1f} min",
            )
        )

    if args.dkim:
        from dkim_bench import signing_costs  # beside this file

        rows += [Row(c.name, 1e6 / c.us, f"{c.us:,.0f} µs CPU/msg") for c in signing_costs()]
    print(f"Machine: {machine()}; {datetime.now(UTC):%Y-%m-%d}\n")
    print("| scenario | msg/s | notes |\n|---|---:|---|")
    for row in rows:
        print(f"| {row.scenario} | {row.rate:,.0f} | {row.note} |")


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        child(sys.argv[2:])
    else:
        main()
