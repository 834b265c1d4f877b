"""DKIM signatures made in worker processes, so a large send uses every core.

An RSA-2048 signature costs about 0.5 ms of CPU, more than everything else digestmail does for a
message. ``cryptography`` holds the GIL while it signs (measured: two threads signing at once
keep 1.15 cores busy, not 2), so threads cannot spread it; processes can. The messages are
built in the sending process; only each key's signing input (about 1 KB) goes to a worker and
only the raw signatures come back, a batch of messages at a time.

Neither ``concurrent.futures.ProcessPoolExecutor`` nor ``multiprocessing``: the executor's
feeder and manager threads contend for the GIL with the event loop (in a profile of a signed
send the loop waited about 3 ms for the GIL at each wake-up of the pool), and a "spawn" child
first re-imports the parent's main module (0.1-0.3 s of CPU per worker for the CLI or a
benchmark). Each worker here is
``python -m digestmail.message.dkim_worker`` with one end of a socket pair; its results are read
by the event loop itself when the socket is readable, and no thread is started.

The workers share nothing with the sending process but that socket: no threads, no ledger
handle, no SMTP connection. The private keys are the first message on the socket, never on a
command line, in the environment or in a file.
"""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import time
from collections import deque
from collections.abc import Sequence
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization

import digestmail
from digestmail.message.dkim import SigningKey
from digestmail.message.dkim_worker import READY

CLOSE_WAIT = 2.0
"""Seconds the workers get to exit once hung up on (they finish the batch in hand first)."""
Batch = Sequence[tuple[bytes, ...]]
"""Per message, each key's signing input; a worker answers with each key's signature."""


class SigningPoolError(RuntimeError):
    """A worker process died or could not start; the caller signs in its own process."""


def usable_cores() -> int:
    """The cores this process may run on (a container or ``taskset`` may allow fewer)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


_PASSED_ON = ("PATH", "LANG", "HOME", "TMPDIR", "LD_LIBRARY_PATH", "SYSTEMROOT")
_PASSED_PREFIXES = ("PYTHON", "LC_", "OPENSSL")


def _worker_environment() -> dict[str, str]:
    """What a worker needs to run Python and OpenSSL, and nothing else: not the variable that
    may hold the key's PEM (``dkim.key_env``), nor any other secret of the sending process."""
    env = {
        name: value
        for name, value in os.environ.items()
        if name in _PASSED_ON or name.startswith(_PASSED_PREFIXES)
    }
    # The package as this process imported it, whether installed or from a checkout.
    root = str(Path(digestmail.__file__).resolve().parents[1])
    env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH", "")) if p)
    return env


def _start_worker(ders: Sequence[bytes]) -> tuple[subprocess.Popen[bytes], Connection]:
    ours, theirs = socket.socketpair()
    env = _worker_environment()
    try:
        process = subprocess.Popen(
            [sys.executable, "-m", "digestmail.message.dkim_worker", str(theirs.fileno())],
            pass_fds=(theirs.fileno(),),
            stdin=subprocess.DEVNULL,
            env=env,
        )
    finally:
        theirs.close()
    conn = Connection(ours.detach())
    try:
        conn.send(list(ders))
    except OSError:
        conn.close()
        process.kill()
        process.wait()
        raise
    return process, conn


class _Worker:
    def __init__(self, process: subprocess.Popen[bytes], conn: Connection) -> None:
        self.process = process
        self.conn = conn
        self.waiting: deque[asyncio.Future[list[tuple[bytes, ...]]]] = deque()
        self.ready: asyncio.Future[None] | None = None


class SigningPool:
    """Worker processes holding the send's DKIM keys; :meth:`sign` has one sign a batch."""

    def __init__(self, keys: Sequence[SigningKey], processes: int) -> None:
        self._ders = [
            k.key.private_bytes(
                serialization.Encoding.DER,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
            for k in keys
        ]
        self.processes = processes
        self._workers: list[_Worker] = []
        self._broken: BaseException | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    async def start(self) -> None:
        """Start every worker and wait until each holds its keys; raises SigningPoolError."""
        loop = self._loop = asyncio.get_running_loop()
        try:
            for _ in range(self.processes):
                worker = _Worker(*_start_worker(self._ders))
                worker.ready = loop.create_future()
                loop.add_reader(worker.conn.fileno(), self._readable, worker)
                self._workers.append(worker)
        except OSError as exc:
            self._fail(SigningPoolError(f"cannot start a signing process: {exc}"))
        finally:
            self._ders = []
        if self._broken is not None:
            raise self._broken
        await asyncio.gather(*(w.ready for w in self._workers if w.ready is not None))

    async def sign(self, batch: Batch) -> list[tuple[bytes, ...]]:
        """Per message, the signatures over its inputs (:attr:`.dkim.Unsigned.inputs`)."""
        if self._broken is not None:
            raise SigningPoolError("the signing processes have stopped") from self._broken
        worker = min(self._workers, key=lambda w: len(w.waiting))
        future: asyncio.Future[list[tuple[bytes, ...]]] = asyncio.get_running_loop().create_future()
        try:
            worker.conn.send(list(batch))
        except OSError as exc:
            self._fail(exc)
            raise SigningPoolError("a signing process has stopped") from exc
        worker.waiting.append(future)
        return await future

    def close(self) -> None:
        """Hang up on the workers (they exit after the batch in hand) and wait for them; call
        it from the event loop's thread."""
        self._fail(SigningPoolError("the pool was closed"))
        deadline = time.monotonic() + CLOSE_WAIT
        for worker in self._workers:
            try:
                worker.process.wait(max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:  # hung or stopped (SIGSTOP): no reason to wait
                worker.process.kill()
                worker.process.wait()
        self._workers = []

    def _readable(self, worker: _Worker) -> None:
        try:
            answer = worker.conn.recv()
        except (EOFError, OSError):  # the worker died
            self._fail(SigningPoolError("a signing process exited"))
            return
        if worker.ready is not None and not worker.ready.done():
            if answer != READY:
                self._fail(SigningPoolError(f"a signing process said {answer!r} at start"))
            else:
                worker.ready.set_result(None)
            return
        if worker.waiting:
            future = worker.waiting.popleft()
            if not future.done():
                future.set_result(answer)

    def _fail(self, exc: BaseException) -> None:
        """Every worker hung up on; every waiting batch fails with ``exc``."""
        self._broken = self._broken or exc
        for worker in self._workers:
            if not worker.conn.closed:
                if self._loop is not None:
                    self._loop.remove_reader(worker.conn.fileno())
                worker.conn.close()
            futures: list[asyncio.Future[Any]] = list(worker.waiting)
            if worker.ready is not None:
                futures.append(worker.ready)
            worker.waiting.clear()
            for future in futures:
                if not future.done():
                    future.set_exception(exc)
