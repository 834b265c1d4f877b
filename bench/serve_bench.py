"""Serve benchmark: one-click POSTs per second and latency, alone and during a send.

Run on demand, never in CI (it needs ``/usr/sbin/smtp-sink`` from the Debian package
``postfix``)::

    python bench/serve_bench.py                      # 2 rounds, 10,000 recipients
    python bench/serve_bench.py --rounds 3 --rate 500

Each round writes a fresh project (one list of ``--recipients`` readers, SMTP to smtp-sink,
``[web]`` on a free port on 127.0.0.1) and starts ``digestmail serve`` on it: the real command,
one uvicorn worker, in a process of its own. Then, in this order:

1. **serve alone**: ``--posts`` one-click POSTs, ``--clients`` at a time on keep-alive
   connections, as fast as they are answered (closed loop), for addresses that are not on the
   list (so they change nothing the sends below do): requests/s, p50 and p99.
2. **send alone**: the list's issue to smtp-sink (``--connections``), in a process of its own.
3. **send + serve**: a second issue of the same list, while POSTs for readers *on* the list
   arrive at ``--rate`` per second (open loop: a request's latency counts from when it was
   due, so a stall is not hidden by the client waiting) until the send ends. Some of them reach
   addresses whose message has not started: the send records those as suppressed.

The slowdown compares the two sends' rows handled per second (sent plus suppressed). The client
is a minimal HTTP/1.1 writer on asyncio streams in this process, so that it costs the two
cores less than the server it measures. Figures go to stdout as Markdown.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import send_bench  # the project, the sink and the digest are shared
from digestmail.message.unsubscribe import unsubscribe_token

SECRET = "serve-bench-secret-0123456789abcdef"
LIST = "bench"
BODY = b"List-Unsubscribe=One-Click"


# --- the project and the server -------------------------------------------------------------


def write_project(root: Path, *, smtp_port: int, web_port: int, args: Any) -> Path:
    config = send_bench.write_project(
        root, port=smtp_port, connections=args.connections, recipients=args.recipients
    )
    with config.path.open("a", encoding="utf-8") as out:
        out.write(f'\n[web]\nbase_url = "http://127.0.0.1:{web_port}/"\n')
    return config.path


@contextlib.contextmanager
def serve(config_path: Path, port: int) -> Iterator[subprocess.Popen[bytes]]:
    env = {**os.environ, "DIGESTMAIL_SECRET": SECRET}
    log_path = config_path.parent / "serve.log"  # one line per request: a pipe would fill up
    log = log_path.open("wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "digestmail", "--config", str(config_path), "serve",
         "--host", "127.0.0.1", "--port", str(port)],
        env=env, stdout=subprocess.DEVNULL, stderr=log,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 20
        while True:
            with (
                contextlib.suppress(OSError),
                send_bench.socket.create_connection(("127.0.0.1", port), 1),
            ):
                break
            if time.monotonic() > deadline or proc.poll() is not None:
                raise RuntimeError("digestmail serve did not start")
            time.sleep(0.05)
        yield proc
    finally:
        proc.terminate()
        proc.wait(timeout=20)
        log.close()
        text = log_path.read_text(encoding="utf-8", errors="replace")
        Path(tempfile.gettempdir(), "serve_bench-last.log").write_text(text, encoding="utf-8")
        if "locked" in text.lower() or " 500 " in text:
            print("serve's log mentions 'locked' or a 500:", text[-2000:], file=sys.stderr)


# --- the client ------------------------------------------------------------------------------


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of process ``pid`` so far (Linux ``/proc``), all its threads."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def request(port: int, email: str) -> bytes:
    token = unsubscribe_token(SECRET, LIST, email)
    return (
        f"POST /unsubscribe?list={LIST}&token={token} HTTP/1.1\r\n"
        f"Host: 127.0.0.1:{port}\r\n"
        "Content-Type: application/x-www-form-urlencoded\r\n"
        f"Content-Length: {len(BODY)}\r\n\r\n"
    ).encode() + BODY


class Connection:
    """One keep-alive HTTP/1.1 connection that sends a request and reads its answer."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    @classmethod
    async def open(cls, port: int) -> Connection:
        return cls(*await asyncio.open_connection("127.0.0.1", port))

    async def post(self, data: bytes) -> int:
        self.writer.write(data)
        head = await self.reader.readuntil(b"\r\n\r\n")
        status = int(head.split(b" ", 2)[1])
        length = 0
        for line in head.split(b"\r\n"):
            if line.lower().startswith(b"content-length:"):
                length = int(line.split(b":", 1)[1])
        await self.reader.readexactly(length)
        return status

    def close(self) -> None:
        self.writer.close()


@dataclass
class Latencies:
    seconds: list[float] = field(default_factory=list)
    errors: int = 0
    wall: float = 0.0
    cpu: float = 0.0
    """CPU seconds serve's process used meanwhile."""

    def summary(self) -> dict[str, float]:
        ordered = sorted(self.seconds)
        n = len(ordered)
        return {
            "requests": n,
            "errors": self.errors,
            "rps": n / self.wall if self.wall else 0.0,
            "p50_ms": 1000 * ordered[n // 2] if n else 0.0,
            "p99_ms": 1000 * ordered[min(n - 1, int(n * 0.99))] if n else 0.0,
            "max_ms": 1000 * ordered[-1] if n else 0.0,
            "cpu_ms_per_request": 1000 * self.cpu / n if n else 0.0,
        }


async def closed_loop(port: int, emails: list[str], clients: int) -> Latencies:
    """Every client sends its next request as soon as the last one is answered."""
    out = Latencies()
    todo = iter(emails)

    async def client() -> None:
        connection = await Connection.open(port)
        try:
            for email in todo:
                data = request(port, email)
                started = time.perf_counter()
                status = await connection.post(data)
                out.seconds.append(time.perf_counter() - started)
                out.errors += status != 200
        finally:
            connection.close()

    began = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(clients)))
    out.wall = time.perf_counter() - began
    return out


async def open_loop(port: int, emails: list[str], rate: float, until: asyncio.Event) -> Latencies:
    """Request ``i`` is due at ``i / rate`` s; its latency counts from then. Stops at ``until``."""
    out = Latencies()
    idle: list[Connection] = []
    tasks: set[asyncio.Task[None]] = set()

    async def one(data: bytes, due: float) -> None:
        connection = idle.pop() if idle else await Connection.open(port)
        try:
            status = await connection.post(data)
        except (ConnectionError, asyncio.IncompleteReadError):
            # uvicorn closes a keep-alive connection idle for 5 s: open another, as browsers do
            connection.close()
            connection = await Connection.open(port)
            status = await connection.post(data)
        out.seconds.append(time.perf_counter() - due)
        out.errors += status != 200
        idle.append(connection)

    began = time.perf_counter()
    for i, email in enumerate(emails):
        if until.is_set():
            break
        due = began + i / rate
        await asyncio.sleep(max(0.0, due - time.perf_counter()))
        task = asyncio.create_task(one(request(port, email), due))
        tasks.add(task)
        task.add_done_callback(tasks.discard)
    await asyncio.gather(*tasks)
    out.wall = time.perf_counter() - began
    for connection in idle:
        connection.close()
    return out


# --- the send (a child process) ----------------------------------------------------------------


def send_child(config_path: str, issue_id: str) -> None:
    """``--send-child CONFIG ISSUE``: one send of the list, its figures as JSON on stdout."""
    from digestmail.config import load_config
    from digestmail.deliver.counts import Outcome
    from digestmail.deliver.job import SendJob
    from digestmail.deliver.send import send_issue
    from digestmail.deliver.transports.smtp import SmtpTransport
    from digestmail.ledger.store import Ledger
    from digestmail.subscribers.reader import read_subscribers

    config = load_config(Path(config_path))
    list_cfg = config.get_list(LIST)
    make_factory, _name = send_bench.factory_maker(config)
    issue = replace(send_bench.digest(make_factory), id=issue_id)
    with Ledger.open(config.state.path) as ledger:
        started = time.perf_counter()
        cpu = time.process_time()
        report = asyncio.run(
            send_issue(
                SendJob(config, list_cfg, issue, ledger),
                transport=SmtpTransport(config.smtp),
                make_factory=make_factory,
                recipients=read_subscribers(list_cfg.subscribers),
            )
        )
        seconds = time.perf_counter() - started
        cpu = time.process_time() - cpu
    sent, suppressed = report.counts[Outcome.SENT], report.counts[Outcome.SUPPRESSED]
    print(json.dumps({"seconds": seconds, "cpu": cpu, "sent": sent, "suppressed": suppressed,
                      "exit": report.exit_code}))  # fmt: skip


def start_send(config_path: Path, issue_id: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, __file__, "--send-child", str(config_path), issue_id],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip


def finish_send(proc: subprocess.Popen[str]) -> dict[str, Any]:
    out, err = proc.communicate(timeout=600)
    if proc.returncode != 0 or "locked" in err.lower():
        raise RuntimeError(f"the send failed ({proc.returncode}): {err[-2000:]}")
    result = dict(json.loads(out.strip().splitlines()[-1]))
    rows = result["sent"] + result["suppressed"]
    result["rows_per_s"] = rows / result["seconds"]
    result["cpu_us_per_row"] = 1e6 * result["cpu"] / rows
    return result


async def send_during_posts(
    config_path: Path, port: int, emails: list[str], rate: float
) -> tuple[dict[str, Any], Latencies]:
    proc = start_send(config_path, "bench-2017-12")
    done = asyncio.Event()

    async def wait_send() -> dict[str, Any]:
        result = await asyncio.to_thread(finish_send, proc)
        done.set()
        return result

    waiter = asyncio.create_task(wait_send())
    posts = await open_loop(port, emails, rate, done)
    return await waiter, posts


# --- one round ----------------------------------------------------------------------------------


def one_round(args: Any, smtp_port: int, rate: float) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="servebench-") as tmp:
        web_port = send_bench.free_port()
        config_path = write_project(Path(tmp), smtp_port=smtp_port, web_port=web_port, args=args)
        with serve(config_path, web_port) as server:
            outsiders = [f"outsider{i}@example.org" for i in range(args.posts)]
            cpu = cpu_seconds(server.pid)
            alone = asyncio.run(closed_loop(web_port, outsiders, args.clients))
            alone.cpu = cpu_seconds(server.pid) - cpu
            send_alone = finish_send(start_send(config_path, "bench-2017-11"))
            readers = [f"reader{i}@example.net" for i in range(0, args.recipients, 3)]
            cpu = cpu_seconds(server.pid)
            send_with, during = asyncio.run(send_during_posts(config_path, web_port, readers, rate))
            during.cpu = cpu_seconds(server.pid) - cpu
    return {
        "rate": rate,
        "alone": alone.summary(),
        "send_alone": send_alone,
        "send_with": send_with,
        "during": during.summary(),
        "slowdown": 1 - send_with["rows_per_s"] / send_alone["rows_per_s"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--send-child", nargs=2, metavar=("CONFIG", "ISSUE"))
    parser.add_argument("--recipients", type=int, default=10_000)
    parser.add_argument("--connections", type=int, default=16, help="SMTP connections")
    parser.add_argument("--posts", type=int, default=5_000, help="POSTs of the serve-alone run")
    parser.add_argument("--clients", type=int, default=16, help="concurrent clients, alone")
    parser.add_argument(
        "--rates", default="100,400", help="POSTs/s during the send; one round each, in turn"
    )
    parser.add_argument("--rounds", type=int, default=2, help="rounds per rate")
    args = parser.parse_args()
    if args.send_child:
        send_child(*args.send_child)
        return
    if not Path(send_bench.SINK).exists():
        sys.exit(f"{send_bench.SINK} is missing: apt-get install postfix")

    before = send_bench.machine()
    rounds = []
    with send_bench.sink() as smtp_port:
        for _ in range(args.rounds):
            for rate in (float(r) for r in args.rates.split(",")):
                rounds.append(one_round(args, smtp_port, rate))
                print(json.dumps(rounds[-1]), file=sys.stderr)
    print(f"Machine before: {before}\nMachine after: {send_bench.machine()}\n")
    print(
        "| round | alone: req/s | p50 | p99 | serve CPU/POST | during send: POSTs/s (n) | p50 "
        "| p99 | max | send alone rows/s | send with POSTs rows/s | slowdown | send CPU/row "
        "alone, with | suppressed meanwhile |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for i, r in enumerate(rounds, 1):
        a, d = r["alone"], r["during"]
        print(
            f"| {i} | {a['rps']:,.0f} | {a['p50_ms']:.1f} ms | {a['p99_ms']:.1f} ms "
            f"| {a['cpu_ms_per_request']:.2f} ms "
            f"| {d['rps']:,.0f} ({d['requests']:,}) | {d['p50_ms']:.1f} ms | {d['p99_ms']:.1f} ms "
            f"| {d['max_ms']:.0f} ms | {r['send_alone']['rows_per_s']:,.0f} "
            f"| {r['send_with']['rows_per_s']:,.0f} | {r['slowdown']:+.1%} "
            f"| {r['send_alone']['cpu_us_per_row']:.0f}, {r['send_with']['cpu_us_per_row']:.0f} µs "
            f"| {r['send_with']['suppressed']:,} |"
        )
    errors = sum(r["alone"]["errors"] + r["during"]["errors"] for r in rounds)
    print(f"\nNon-200 answers: {errors}.")
    for rate in sorted({r["rate"] for r in rounds}):
        at = [r for r in rounds if r["rate"] == rate]
        print(
            f"At {rate:.0f} POSTs/s: median p99 during the send "
            f"{statistics.median(r['during']['p99_ms'] for r in at):.1f} ms, median slowdown "
            f"{statistics.median(r['slowdown'] for r in at):+.1%}."
        )
    alone = [r["alone"]["rps"] for r in rounds]
    print(f"Alone: median {statistics.median(alone):,.0f} req/s (best {max(alone):,.0f}).")


if __name__ == "__main__":
    main()
