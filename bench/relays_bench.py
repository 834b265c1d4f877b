"""Relays benchmark: what several relays cost the send, against Postfix's smtp-sink (issue 13).

Run on demand, never in CI (it needs ``/usr/sbin/smtp-sink`` from the Debian package
``postfix``)::

    python bench/relays_bench.py                      # 10,000 recipients, 8 connections
    python bench/relays_bench.py --recipients 20000 --rounds 3

Scenarios, each with the real ledger (SQLite in a temporary folder) and the real message
factory (30 KB digest):

- ``one [smtp]``: the single ``[smtp]`` table, 8 connections to one sink. This one also runs on
  a checkout without ``[[smtp.relays]]`` (set ``PYTHONPATH`` to its ``src``), for an A/B of the
  engine's cost per message.
- ``two relays``: ``[[smtp.relays]]``, 4 + 4 connections to two sinks.
- ``two relays, one down``: the same, but the second relay's port refuses connections: it rests
  and the first carries the send on all of its connections.

Figures: messages per second (wall clock; noisy on a shared machine) and CPU time per message
(``time.process_time``, this process only; the sinks run in their own processes), best of
``--rounds``. Markdown on stdout, ready for ``docs/benchmarks.md``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import platform
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from digestmail.config import Config, load_config
from digestmail.deliver.counts import Outcome
from digestmail.deliver.job import SendJob
from digestmail.deliver.send import make_transport, send_issue
from digestmail.ledger.store import Ledger
from digestmail.models import Recipient
from digestmail.subscribers.reader import read_subscribers
from send_bench import digest, factory_maker, free_port, sink

HEAD = """
[site]
title = "Benchmark"
base_url = "https://example.org/"
language = "de"
[transport]
kind = "smtp"
[lists.bench]
name = "Veranstaltungstipps"
from = "Tipps <tipps@example.org>"
subscribers = "config/bench.csv"
categories = ["tipp"]
unsubscribe_mailto = "abmelden@example.org"
"""


def one_smtp(ports: list[int], connections: int) -> str:
    return f'[smtp]\nhost = "127.0.0.1"\nport = {ports[0]}\nsecurity = "none"\n' + (
        f"connections = {connections}\ntimeout = 60\n"
    )


def relays(ports: list[int], connections: int) -> str:
    text = "[smtp]\ntimeout = 60\nretry_max_delay = 2\n"
    for number, port in enumerate(ports, start=1):
        text += (
            f'[[smtp.relays]]\nname = "sink-{number}"\nhost = "127.0.0.1"\nport = {port}\n'
            f'security = "none"\nconnections = {connections // len(ports)}\n'
        )
    return text


def project(root: Path, smtp: str, recipients: int) -> Config:
    (root / "config").mkdir(parents=True, exist_ok=True)
    with (root / "config" / "bench.csv").open("w", encoding="utf-8") as out:
        out.write("email,name\n")
        for i in range(recipients):
            out.write(f"reader{i}@example.net,Leserin {i}\n")
    (root / "config" / "digestmail.toml").write_text(HEAD + smtp, encoding="utf-8")
    return load_config(root / "config" / "digestmail.toml")


def run(smtp: str, recipients: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="relaysbench-") as tmp:
        config = project(Path(tmp), smtp, recipients)
        list_cfg = config.get_list("bench")
        make_factory, _ = factory_maker(config)
        issue = digest(make_factory)
        size = len(make_factory(issue).build(Recipient("reader0@example.net")).data)
        with Ledger.open(config.state.path) as ledger:
            started, cpu = time.perf_counter(), time.process_time()
            report = asyncio.run(
                send_issue(
                    SendJob(config, list_cfg, issue, ledger),
                    transport=make_transport(config),
                    make_factory=make_factory,
                    recipients=read_subscribers(list_cfg.subscribers),
                )
            )
            seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    assert report.counts[Outcome.SENT] == recipients, report
    return {
        "rate": recipients / seconds,
        "cpu_us": cpu / recipients * 1e6,
        "size": size,
        "by_relay": getattr(report, "relays", {}),
    }


@contextlib.contextmanager
def refused_port() -> Iterator[int]:
    """A port nobody listens on: connections to it are refused at once."""
    yield free_port()


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--recipients", type=int, default=10_000)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--only-single", action="store_true", help="the A/B scenario only")
    args = parser.parse_args(argv)
    try:
        import digestmail.deliver.relays  # noqa: F401

        has_relays = not args.only_single
    except ImportError:
        has_relays = False  # a checkout before [[smtp.relays]]: the single relay only

    scenarios: list[tuple[str, Any, int]] = [("one [smtp]", one_smtp, 1)]
    if has_relays:
        scenarios += [("two relays", relays, 2), ("two relays, one down", relays, -2)]
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    )
    print(
        f"load before: {os.getloadavg()[0]:.2f}; "
        f"{args.recipients} recipients, best of {args.rounds}"
    )
    print()
    print("| scenario | msg/s | CPU µs/msg | accepted per relay |")
    print("| --- | ---: | ---: | --- |")
    for name, make_smtp, sinks in scenarios:
        best: dict[str, Any] | None = None
        for _ in range(args.rounds):
            with contextlib.ExitStack() as stack:
                ports = [stack.enter_context(sink()) for _ in range(abs(sinks))]
                if sinks < 0:  # the last relay is down
                    ports[-1] = stack.enter_context(refused_port())
                result = run(make_smtp(ports, args.connections), args.recipients)
            if best is None or result["cpu_us"] < best["cpu_us"]:
                best = result
        assert best is not None
        shares = ", ".join(f"{k} {v}" for k, v in best["by_relay"].items()) or "-"
        print(f"| {name} | {best['rate']:,.0f} | {best['cpu_us']:,.0f} | {shares} |")
    print()
    print(f"message size {best['size']:,} bytes; load after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main(sys.argv[1:])
