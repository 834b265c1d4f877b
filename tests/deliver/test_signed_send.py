"""Signed sends through a real SMTP server: every message verifies, pool or no pool.

A send past ``dkim.sign_pool_after`` has its signatures made in worker processes; these tests
make the threshold small so a short list uses them, and check what the server received with
dkimpy, that every recipient got exactly one copy, and that a pool whose processes die hands
the signing back to the sending process without losing a message.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import os
import signal
import threading
from collections import Counter
from pathlib import Path

import dkim
import pytest

from digestmail.config import Config, load_config
from digestmail.deliver.counts import Outcome, ProgressEvent
from digestmail.deliver.job import SendJob
from digestmail.deliver.presign import LOOKAHEAD, pool_processes
from digestmail.deliver.send import DeliveryReport, make_transport, send_issue
from digestmail.ledger.store import Ledger
from digestmail.message.dkim import DkimSigner, SigningKey, Unsigned
from digestmail.message.dkim_keys import dns_record, generate, write_private
from digestmail.message.dkim_pool import SigningPool, SigningPoolError, usable_cores
from digestmail.message.factory import MessageFactory
from digestmail.models import DeliveryStatus, Issue
from digestmail.render import placeholders
from digestmail.subscribers.reader import read_subscribers
from tests.helpers.project import MakeProject
from tests.helpers.smtp_server import SmtpTestServer

LINK = placeholders.Slot.UNSUBSCRIBE_URL.value
ISSUE = Issue(
    id="monthly-2017-11",
    list_name="monthly",
    period="2017-11",
    subject="Veranstaltungstipps – November 2017",
    html=f"<p>Tipps  für\talle</p>\n<p><a href='{LINK}'>Abmelden</a></p>\n<p>Ende</p>\n",
    text=f"Tipps  für\talle   \n\nAbmelden: {LINK}\nEnde\n\n",
)


def signed_project(
    make_project: MakeProject, server: SmtpTestServer, count: int, *, processes: int = 2
) -> tuple[Config, dict[str, str]]:
    """A project of ``count`` subscribers, signed with RSA and Ed25519, pool from 20 on."""
    records = {}
    cfg = make_project(subscribers="email,name\n" + "".join(
        f"r{i}@example.net,Leserin {i} Müller\n" for i in range(count)
    ), extra_config='unsubscribe_url = "https://example.org/abmelden?token={token}"\n'
    + server.smtp_config() + f"""
[transport]
kind = "smtp"
[dkim]
domain = "example.org"
selector = "sel"
key_file = "config/dkim/sel.key"
algorithms = ["rsa-sha256", "ed25519-sha256"]
sign_processes = {processes}
sign_pool_after = 20
""")  # fmt: skip
    for algorithm, name in (("rsa-sha256", "sel"), ("ed25519-sha256", "sel-ed25519")):
        key = generate(algorithm)
        stem = "sel" if algorithm == "rsa-sha256" else "sel.ed25519"
        write_private(key, cfg.parent / "dkim" / f"{stem}.key")
        records[name] = dns_record(key)
    return load_config(cfg), records


def run_send(config: Config, **job: object) -> DeliveryReport:
    list_cfg = config.get_list("monthly")

    def make(issue: Issue) -> MessageFactory:
        return MessageFactory(issue, config=config, list_cfg=list_cfg, secret="s" * 24)

    with Ledger.open(config.state.path) as ledger:
        return asyncio.run(
            send_issue(
                SendJob(config, list_cfg, ISSUE, ledger, **job),  # type: ignore[arg-type]
                transport=make_transport(config),
                make_factory=make,
                recipients=read_subscribers(list_cfg.subscribers),
            )
        )


def signing_workers() -> list[int]:
    """The PIDs of this process's children that run ``digestmail.message.dkim_worker``."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError):
            ppid = int(stat.read_text().rsplit(")", 1)[1].split()[1])
            cmdline = (stat.parent / "cmdline").read_bytes()
            if ppid == os.getpid() and b"dkim_worker" in cmdline:
                found.append(int(stat.parent.name))
    return found


def verifies(data: bytes, records: dict[str, str]) -> bool:
    def lookup(name: bytes, timeout: int = 5) -> bytes:
        return records.get(name.decode().partition("._domainkey.")[0], "").encode()

    checker = dkim.DKIM(data)
    return all(checker.verify(idx=i, dnsfunc=lookup) for i in range(2))


@pytest.fixture
def local_signatures(monkeypatch: pytest.MonkeyPatch) -> Counter[str]:
    """Counts the messages signed in this process (the real signer still signs them)."""
    count: Counter[str] = Counter()
    real = DkimSigner.signatures

    def counted(self: DkimSigner, unsigned: Unsigned) -> list[bytes]:
        count["local"] += 1
        return real(self, unsigned)

    monkeypatch.setattr(DkimSigner, "signatures", counted)
    return count


def test_a_large_send_is_signed_in_the_pool_and_every_message_verifies(
    make_project: MakeProject, smtp_server: SmtpTestServer, local_signatures: Counter[str]
) -> None:
    config, records = signed_project(make_project, smtp_server, 300)
    report = run_send(config)
    assert report.counts[Outcome.SENT] == 300
    assert sorted(smtp_server.recipients()) == sorted(f"r{i}@example.net" for i in range(300))
    assert all(verifies(m.data, records) for m in smtp_server.received)
    assert local_signatures["local"] < 150  # the pool made the rest
    assert signing_workers() == []  # the signing processes ended with the send


def test_a_small_send_starts_no_process(
    make_project: MakeProject, smtp_server: SmtpTestServer, local_signatures: Counter[str]
) -> None:
    config, records = signed_project(make_project, smtp_server, 20)
    assert run_send(config).counts[Outcome.SENT] == 20
    assert local_signatures["local"] == 20
    assert all(verifies(m.data, records) for m in smtp_server.received)


def test_dead_signing_processes_hand_the_signing_back(
    make_project: MakeProject, smtp_server: SmtpTestServer, local_signatures: Counter[str]
) -> None:
    count = 700  # more than the presigner builds ahead (LOOKAHEAD), so most follow the kill
    config, records = signed_project(make_project, smtp_server, count)
    killed: list[int] = []

    def kill_workers(event: ProgressEvent) -> None:
        children = signing_workers()
        if not killed and children and event.counts[Outcome.SENT] >= 30:
            for pid in children:
                os.kill(pid, signal.SIGKILL)
                killed.append(pid)

    report = run_send(config, on_progress=kill_workers)
    assert killed
    assert report.counts[Outcome.SENT] == count
    assert Counter(smtp_server.recipients()) == Counter(f"r{i}@example.net" for i in range(count))
    assert all(verifies(m.data, records) for m in smtp_server.received)
    assert local_signatures["local"] > count - LOOKAHEAD - 100  # signed here after the kill


def test_a_stopped_signed_send_resumes_and_delivers_everyone_once(
    make_project: MakeProject, smtp_server: SmtpTestServer
) -> None:
    config, records = signed_project(make_project, smtp_server, 300)

    stop = asyncio.Event()

    def stop_midway(event: ProgressEvent) -> None:
        if event.counts[Outcome.SENT] >= 60:
            stop.set()

    first = run_send(config, stop=stop, on_progress=stop_midway)
    assert first.interrupted and first.counts[Outcome.SENT] < 300
    second = run_send(config)
    assert first.counts[Outcome.SENT] + second.counts[Outcome.SENT] >= 300
    got = Counter(smtp_server.recipients())
    assert set(got) == {f"r{i}@example.net" for i in range(300)}
    assert sum(got.values()) - 300 <= 4  # at most one extra copy per connection (4)
    assert all(verifies(m.data, records) for m in smtp_server.received)
    with Ledger.open(config.state.path) as ledger:
        states = ledger.delivery_states("monthly-2017-11", list(got))
    assert {d.status for d in states.values()} == {DeliveryStatus.SENT}


def test_workers_get_no_secret_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    from digestmail.message.dkim_pool import _worker_environment

    monkeypatch.setenv("DIGESTMAIL_DKIM_KEY", "-----BEGIN PRIVATE KEY-----")
    monkeypatch.setenv("MY_DKIM", "-----BEGIN PRIVATE KEY-----")
    env = _worker_environment()
    assert "DIGESTMAIL_DKIM_KEY" not in env and "MY_DKIM" not in env
    assert "PATH" in env and env["PYTHONPATH"]


def test_a_stopped_send_does_not_wait_for_a_frozen_signing_process(
    make_project: MakeProject, smtp_server: SmtpTestServer
) -> None:
    """SIGSTOP the workers; once the SMTP workers wait for their batches, stop the send.

    The pool signs at most LOOKAHEAD messages ahead of the SMTP workers, so with thousands of
    readers jobs claimed but not signed remain when the workers are frozen, however fast the
    machine: the send cannot finish without them (with 700 it sometimes had all it needed).
    """
    config, _ = signed_project(make_project, smtp_server, 3000)
    stop = asyncio.Event()
    frozen: list[int] = []
    sent: list[int] = []

    def freeze_then_stop(event: ProgressEvent) -> None:
        children = signing_workers()
        if not frozen and children and event.counts[Outcome.SENT] >= 30:
            for pid in children:
                os.kill(pid, signal.SIGSTOP)
                frozen.append(pid)
        elif frozen:
            sent.append(event.counts[Outcome.SENT])
            if sent[-2:-1] == sent[-1:]:  # nothing sent for a while: everyone waits for the pool
                stop.set()

    reports: list[DeliveryReport] = []
    sender = threading.Thread(
        target=lambda: reports.append(run_send(config, stop=stop, on_progress=freeze_then_stop))
    )
    sender.start()
    sender.join(120)  # a guard against hanging the suite, not a timing
    for pid in frozen:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGCONT)
    assert not sender.is_alive(), "the stopped send waited for the frozen workers"
    assert frozen and reports[0].interrupted
    assert signing_workers() == []  # killed when they did not exit


# --- the pool alone -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def keys() -> list[SigningKey]:
    return [
        SigningKey("rsa-sha256", "sel", generate("rsa-sha256")),
        SigningKey("ed25519-sha256", "sel-ed25519", generate("ed25519-sha256")),
    ]


def test_the_pool_makes_the_signatures_the_signer_makes(keys: list[SigningKey]) -> None:
    signer = DkimSigner("example.org", keys)
    unsigned = [
        signer.prepare(f"From: a@example.org\r\n\r\nbody {i}\r\n".encode()) for i in range(40)
    ]

    async def run() -> list[tuple[bytes, ...]]:
        pool = SigningPool(keys, 2)
        try:
            await pool.start()
            halves = await asyncio.gather(
                pool.sign([u.inputs for u in unsigned[:20]]),
                pool.sign([u.inputs for u in unsigned[20:]]),
            )
            return halves[0] + halves[1]
        finally:
            pool.close()

    signatures = asyncio.run(run())
    assert signatures == [tuple(signer.signatures(u)) for u in unsigned]
    assert signing_workers() == []


def test_a_dead_worker_fails_the_batches_instead_of_hanging(keys: list[SigningKey]) -> None:
    async def run() -> None:
        pool = SigningPool(keys, 1)
        try:
            await pool.start()
            (pid,) = signing_workers()
            os.kill(pid, signal.SIGKILL)
            with pytest.raises(SigningPoolError):
                await asyncio.wait_for(pool.sign([(b"x", b"y")]), 10)
            with pytest.raises(SigningPoolError):
                await pool.sign([(b"x", b"y")])
        finally:
            pool.close()

    asyncio.run(run())


def test_how_many_signing_processes(make_project: MakeProject, smtp_server: SmtpTestServer) -> None:
    config, _ = signed_project(make_project, smtp_server, 1, processes=3)
    list_cfg = config.get_list("monthly")
    factory = MessageFactory(ISSUE, config=config, list_cfg=list_cfg, secret="s" * 24)
    assert pool_processes(config.dkim, factory) == 3
    assert pool_processes(None, factory) == 0  # no [dkim]
    assert pool_processes(config.dkim, object()) == 0  # a factory that cannot hand out inputs
    auto = dataclasses.replace(config.dkim, sign_processes=0)
    cores = usable_cores()
    assert pool_processes(auto, factory) == (cores if cores > 1 else 0)
