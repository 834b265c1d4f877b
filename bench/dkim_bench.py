"""DKIM benchmark: what signing costs per message, and what a signed send keeps of its speed.

Run on demand from the checkout (the sends need ``/usr/sbin/smtp-sink`` from Debian's
``postfix``)::

    python bench/dkim_bench.py                      # costs, then 3 rounds of 4 sends of 10,000
    python bench/dkim_bench.py --rounds 5 --recipients 20000
    python bench/dkim_bench.py --costs-only         # signing costs only, no sink

**Signing cost** is CPU time (``time.process_time``) per message, on the sample site's
October 2026 digest (``config/``, ``content/``, ``templates/`` of this checkout) as
:class:`~digestmail.message.factory.MessageFactory` builds it, with a one-click unsubscribe
link, so the body differs per recipient after the text part.

**Sends**: each round runs the plain smtplib loop, digestmail unsigned, digestmail with RSA-2048
and with Ed25519 (ledger on, 16 connections) against one smtp-sink, one after the other, each in
its own child process (see ``send_bench.py``). The ratio to smtplib is taken within a round,
so load that changes between rounds skews it less; the load average is printed per send.
CPU per message is given for the sending process, the signing processes and smtp-sink apart
(load inflates all three, the event loop's most: compare them within a run only).
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from digestmail.app.issues import load_content, select_issue
from digestmail.config import DkimConfig, load_config
from digestmail.message.dkim import sign_input
from digestmail.message.dkim_keys import generate, write_private
from digestmail.message.factory import MessageFactory
from digestmail.models import Recipient
from digestmail.render.theme import render_issue

CHECKOUT = Path(__file__).resolve().parents[1]
UNSUBSCRIBE = "https://www.example.org/abmelden?token={token}"


@dataclass
class Cost:
    name: str
    us: float
    """CPU microseconds per message."""


def sample_factory(tmp: Path, algorithm: str | None) -> MessageFactory:
    """The sample site's October 2026 issue, signed with a fresh key of ``algorithm``."""
    config = load_config(CHECKOUT / "config" / "digestmail.toml")
    dkim = None
    if algorithm is not None:
        key = tmp / f"{algorithm}.key"
        write_private(generate(algorithm), key)
        rsa = algorithm == "rsa-sha256"
        dkim = DkimConfig(
            domain="example.org",
            selector="bench",
            key_file=key if rsa else None,
            ed25519_key_file=None if rsa else key,
            algorithms=(algorithm,),
        )
    config = dataclasses.replace(config, dkim=dkim)
    list_cfg = dataclasses.replace(config.get_list("monthly"), unsubscribe_url=UNSUBSCRIBE)
    posts = load_content(config).posts
    now = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
    selection = select_issue(config, list_cfg, now=now, posts=posts, period="2026-10")
    issue = render_issue(selection, config=config, list_cfg=list_cfg)
    return MessageFactory(issue, config=config, list_cfg=list_cfg, secret="bench-secret")


def per_item(work: Callable[[Any], object], items: Sequence[Any], repeat: int = 3) -> float:
    """CPU microseconds per item, the best of ``repeat`` passes (load only ever adds time)."""
    for item in items[:10]:
        work(item)  # warm caches
    best = float("inf")
    for _ in range(repeat):
        started = time.process_time()
        for item in items:
            work(item)
        best = min(best, time.process_time() - started)
    return best / len(items) * 1e6


def signing_costs(messages: int = 300) -> list[Cost]:
    """CPU per message of every way of signing, on the sample site's digest."""
    recipients = [
        Recipient(f"leser{i}@example.net", f"Leserin {i} Müller") for i in range(messages)
    ]
    with tempfile.TemporaryDirectory(prefix="dkimbench-") as tmp:
        plain = sample_factory(Path(tmp), None)
        size = len(plain.build(recipients[0]).data)
        costs = [Cost(f"build, unsigned ({size:,} B)", per_item(plain.build, recipients))]
        for algorithm in ("rsa-sha256", "ed25519-sha256"):
            costs += _costs_of(sample_factory(Path(tmp), algorithm), recipients)
    return costs


def _costs_of(factory: MessageFactory, recipients: list[Recipient]) -> list[Cost]:
    import dkim
    from cryptography.hazmat.primitives import serialization

    signer = factory.signer
    assert signer is not None
    key = signer.keys[0].key
    short = signer.keys[0].algorithm.split("-")[0]
    prepared = [factory.prepare(r) for r in recipients]
    data = [m.data for m, _ in prepared]
    inputs = [u.inputs[0] for _, u in prepared if u is not None]
    costs = [
        Cost(f"build + template, {short} not yet signed", per_item(factory.prepare, recipients)),
        Cost(f"build + sign {short}, template path (what a send does)",
             per_item(factory.build, recipients)),
        Cost(f"sign {short}, reference path (parses the finished bytes)",
             per_item(signer.sign, data)),
        Cost(f"{short} signature alone (cryptography / OpenSSL)",
             per_item(lambda item: sign_input(key, item), inputs)),
    ]  # fmt: skip
    if short == "rsa":
        pem = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.TraditionalOpenSSL,
            serialization.NoEncryption(),
        )

        def dkimpy(item: bytes) -> object:
            return dkim.sign(item, b"bench", b"example.org", pem,
                             canonicalize=(b"relaxed", b"relaxed"))  # fmt: skip

        costs.append(Cost("sign rsa, dkimpy alone", per_item(dkimpy, data[:20], 1)))
    return costs


def sends(recipients: int, rounds: int, processes: str) -> list[dict[str, Any]]:
    sys.path.insert(0, str(Path(__file__).parent))
    import send_bench

    kinds = [("smtplib", ""), ("unsigned", "on"), ("rsa", f"on+rsa{processes}"),
             ("ed25519", f"on+ed25519{processes}")]  # fmt: skip
    results = []
    with send_bench.sink() as port:
        for round_ in range(1, rounds + 1):
            for name, ledger in kinds:
                load = os.getloadavg()[0]
                sink_cpu = _cpu_of_listener(port)
                if name == "smtplib":
                    result = send_bench.measure("smtplib", port, recipients)
                else:
                    result = send_bench.measure("digestmail", port, recipients, 16, ledger)
                sink_us = (_cpu_of_listener(port) - sink_cpu) / recipients * 1e6
                result.update(round=round_, kind=name, load=load, sink_cpu_us=sink_us)
                results.append(result)
                print(f"  round {round_}: {name:9} {result['rate']:7,.0f} msg/s  load {load:.2f}",
                      file=sys.stderr, flush=True)  # fmt: skip
    return results


def _cpu_of_listener(port: int) -> float:
    """CPU seconds so far of the smtp-sink listening on ``port`` (0 if not found)."""
    ticks = os.sysconf("SC_CLK_TCK")
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            if f"127.0.0.1:{port}".encode() in cmdline.read_bytes():
                fields = (cmdline.parent / "stat").read_text().rsplit(")", 1)[1].split()
                return (int(fields[11]) + int(fields[12])) / ticks  # utime, stime
        except OSError:
            continue
    return 0.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--recipients", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--costs-only", action="store_true")
    parser.add_argument("--sign-processes", default="", help="dkim.sign_processes (default: auto)")
    args = parser.parse_args()
    print(f"Machine: {os.cpu_count()} cores; load {os.getloadavg()[0]:.2f}; "
          f"{datetime.now(UTC):%Y-%m-%d}\n")  # fmt: skip
    print("| signing cost, sample site digest | µs CPU/msg |\n|---|---:|")
    for cost in signing_costs():
        print(f"| {cost.name} | {cost.us:,.0f} |")
    if args.costs_only:
        return
    processes = f":{args.sign_processes}" if args.sign_processes else ""
    results = sends(args.recipients, args.rounds, processes)
    print(
        "\n| round | send | msg/s | x smtplib | µs CPU/msg: sender + signers + sink | load |"
        "\n|---:|---|---:|---:|---|---:|"
    )
    base = {r["round"]: r["rate"] for r in results if r["kind"] == "smtplib"}
    ratios: dict[str, list[float]] = {}
    for r in results:
        ratio = r["rate"] / base[r["round"]]
        ratios.setdefault(r["kind"], []).append(ratio)
        cpu = f"{r['cpu_us']:.0f} + {r.get('pool_cpu_us', 0):.0f} + {r['sink_cpu_us']:.0f}"
        cells = [str(r["round"]), r["kind"], f"{r['rate']:,.0f}", f"{ratio:.2f}", cpu]
        print("| " + " | ".join([*cells, f"{r['load']:.2f}"]) + " |")
    print("\n| send | median msg/s | median x smtplib |\n|---|---:|---:|")
    for kind, values in ratios.items():
        rates = [r["rate"] for r in results if r["kind"] == kind]
        print(f"| {kind} | {statistics.median(rates):,.0f} | {statistics.median(values):.2f} |")


if __name__ == "__main__":
    main()
