"""DKIM signatures made in worker processes, so a large send uses every core.

An RSA-2048 signature costs about 0.5 ms of CPU, more than everything else digestmail does for a
message. ``cryptography`` holds the GIL while it signs (measured: two threads signing at once
keep 1.15 cores busy, not 2), so threads cannot spread it; processes can. The messages are
built in the sending process; only each key's signing input (about 1 KB) goes to a worker and
only the raw signatures come back, a batch of messages at a time.

Not ``concurrent.futures.ProcessPoolExecutor``: its feeder and manager threads contend for the
GIL with the event loop (measured: each wake-up of the pool cost the loop about 3 ms). Here
each worker has one socket pair, results are read by the event loop itself when the socket is
readable, and no thread is started.

The workers are started with ``spawn``: they inherit none of the sending process's threads,
sockets or ledger handle. The private keys reach them as arguments of the process, through the
pipe that starts it, and are never written anywhere.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
from collections import deque
from collections.abc import Sequence
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from typing import Any

from cryptography.hazmat.primitives import serialization

from digestmail.message.dkim import PrivateKey, SigningKey, sign_input

_READY = "ready"
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


def _serve(conn: Connection, ders: Sequence[bytes]) -> None:
    """A worker: load the keys, then sign batches until the sending process hangs up."""
    keys: list[PrivateKey] = []
    for der in ders:
        # Checked when the sending process read it; checking RSA again costs about 0.1 s.
        key = serialization.load_der_private_key(
            der, password=None, unsafe_skip_rsa_key_validation=True
        )
        if not isinstance(key, PrivateKey):
            raise TypeError(f"not a DKIM key: {type(key).__name__}")
        keys.append(key)
    conn.send(_READY)
    while True:
        try:
            batch: Batch = conn.recv()
        except (EOFError, OSError):
            return
        conn.send(
            [
                tuple(sign_input(k, data) for k, data in zip(keys, inputs, strict=True))
                for inputs in batch
            ]
        )


class _Worker:
    def __init__(self, process: BaseProcess, conn: Connection) -> None:
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
        context = multiprocessing.get_context("spawn")
        for _ in range(self.processes):
            ours, theirs = context.Pipe(duplex=True)
            process = context.Process(
                target=_serve, args=(theirs, self._ders), name="digestmail-dkim", daemon=True
            )
            process.start()
            theirs.close()
            worker = _Worker(process, ours)
            worker.ready = loop.create_future()
            loop.add_reader(ours.fileno(), self._readable, worker)
            self._workers.append(worker)
        self._ders = []
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
        for worker in self._workers:
            worker.process.join(5)
            if worker.process.is_alive():
                worker.process.kill()
                worker.process.join()
        self._workers = []

    def _readable(self, worker: _Worker) -> None:
        try:
            answer = worker.conn.recv()
        except (EOFError, OSError):  # the worker died
            self._fail(SigningPoolError("a signing process exited"))
            return
        if worker.ready is not None and not worker.ready.done():
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
