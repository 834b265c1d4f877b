"""DKIM signatures for a large send, made in worker processes ahead of the SMTP workers.

A signed message costs about 0.5 ms of CPU for its RSA-2048 signature, which on one core would
cap a send below 2,000 messages per second whatever the relay can take. Once a send has handed
out ``dkim.sign_pool_after`` messages, the :class:`Presigner` starts a
:class:`~digestmail.message.dkim_pool.SigningPool` and, from then on, claims queued jobs in
queue order, builds their messages here (everything but the signature is cheap, see
:mod:`digestmail.message.dkim_template`), and has the signatures made in the pool, a batch at
a time, while the event loop carries on with SMTP.

Nothing about the ledger changes: jobs are queued exactly as before, after their attempts are
recorded; the presigner only fills in ``job.message`` while a job waits in the queue. A worker
that takes a job waits for the job's batch if it was claimed, and otherwise builds and signs
the message itself, as every send did before: so retries, a stopped run, a row whose header
is refused, or a pool that broke all end where they always did. At most :data:`LOOKAHEAD`
built messages wait for a worker, so memory stays flat however long the list.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
from collections import deque
from collections.abc import Iterable
from typing import Protocol, runtime_checkable

from digestmail.config import DkimConfig
from digestmail.errors import HeaderInjectionError
from digestmail.message.dkim import DkimSigner, Unsigned
from digestmail.message.dkim_pool import SigningPool, usable_cores
from digestmail.models import OutgoingMessage, Recipient

BATCH = 32
"""Messages per batch sent to a worker process: enough to make the pipe's cost per message
small, few enough that the first worker waiting for a batch does not wait long."""
LOOKAHEAD = 256
"""Built messages at most waiting for an SMTP worker (about 8 MB of 30 KB digests; the pool
signs that many in well under 0.1 s)."""


class Slot(Protocol):
    """What the presigner touches of a queued job."""

    recipient: Recipient
    message: OutgoingMessage | None


@runtime_checkable
class SigningFactory(Protocol):
    """A message factory that can hand out a message before its signatures (``[dkim]`` set)."""

    @property
    def signer(self) -> DkimSigner | None: ...

    def prepare(self, recipient: Recipient) -> tuple[OutgoingMessage, Unsigned | None]: ...


def pool_processes(dkim: DkimConfig | None, factory: object) -> int:
    """How many signing processes a send gets: 0 without DKIM or on a single core."""
    if dkim is None or not isinstance(factory, SigningFactory) or factory.signer is None:
        return 0
    if dkim.sign_processes:
        return dkim.sign_processes
    cores = usable_cores()
    return cores if cores > 1 else 0


class Presigner:
    """Claims queued jobs in order and fills in their signed messages from a process pool."""

    def __init__(self, factory: SigningFactory, *, processes: int, after: int) -> None:
        signer = factory.signer
        assert signer is not None
        self._factory = factory
        self._signer = signer
        self._processes = processes
        self._after = after
        self._seen = 0
        self._pool: SigningPool | None = None
        self._task: asyncio.Task[None] | None = None
        self._batches: set[asyncio.Task[None]] = set()
        self._pending: deque[Slot] = deque()
        self._waiting: set[Slot] = set()
        """Handed to :meth:`submit`, neither claimed nor taken by a worker yet."""
        self._claims: dict[Slot, asyncio.Future[None]] = {}
        self._wake = asyncio.Event()
        self._room = asyncio.Semaphore(LOOKAHEAD)
        self._in_flight = asyncio.Semaphore(2 * processes)
        self.broken: BaseException | None = None
        """Why the pool stopped signing (the workers then sign every message themselves)."""

    @classmethod
    def for_send(cls, dkim: DkimConfig | None, factory: object) -> Presigner | None:
        """A presigner when the messages are signed and the machine has cores to spare."""
        processes = pool_processes(dkim, factory)
        if not processes or dkim is None or not isinstance(factory, SigningFactory):
            return None
        return cls(factory, processes=processes, after=dkim.sign_pool_after)

    def submit(self, jobs: Iterable[Slot]) -> None:
        """Jobs just queued, in queue order; past the threshold the pool starts."""
        jobs = list(jobs)
        self._seen += len(jobs)
        if self._task is None:
            if self._seen <= self._after:
                return  # a small send: the workers sign, no process is started
            self._task = asyncio.get_running_loop().create_task(self._run())
        if self.broken is None:
            self._pending.extend(jobs)
            self._waiting.update(jobs)
            self._wake.set()

    async def take(self, job: Slot) -> None:
        """Before a worker builds ``job``'s message: wait for it if the pool is making it."""
        claim = self._claims.pop(job, None)
        if claim is None:
            self._waiting.discard(job)  # the worker builds it; the presigner will skip it
            return
        try:
            await claim
        finally:
            self._room.release()

    async def close(self) -> None:
        """Stop claiming, drop what is not yet signed, and end the worker processes."""
        tasks = [t for t in (self._task, *self._batches) if t is not None]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        for claim in self._claims.values():
            if not claim.done():
                claim.set_result(None)
        if self._pool is not None:
            self._pool.close()

    # --- the claiming task ------------------------------------------------------------------

    async def _run(self) -> None:
        self._pool = SigningPool(self._signer.keys, self._processes)
        try:
            await self._pool.start()
        except Exception as exc:  # no process could start: the workers sign, as before
            self._give_up(exc)
            return
        while self.broken is None:
            await self._in_flight.acquire()
            task = asyncio.get_running_loop().create_task(self._sign(*await self._claim_batch()))
            self._batches.add(task)
            task.add_done_callback(self._batches.discard)

    async def _claim_batch(self) -> tuple[list[Slot], asyncio.Future[None]]:
        """The next jobs still waiting, up to :data:`BATCH`; each holds a place of LOOKAHEAD.

        A batch goes out as soon as nothing more is waiting, or before waiting for room, so a
        worker never waits for a batch that waits for it.
        """
        claim: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        jobs: list[Slot] = []
        while len(jobs) < BATCH:
            if not self._pending:
                if jobs:
                    break
                self._wake.clear()
                await self._wake.wait()
                continue
            if jobs and self._room.locked():
                break
            await self._room.acquire()
            job = self._pending.popleft()
            if job not in self._waiting:  # a worker got to it first
                self._room.release()
                continue
            self._waiting.discard(job)
            self._claims[job] = claim
            jobs.append(job)
        return jobs, claim

    async def _sign(self, jobs: list[Slot], claim: asyncio.Future[None]) -> None:
        try:
            built: list[tuple[Slot, OutgoingMessage, Unsigned]] = []
            for job in jobs:
                with contextlib.suppress(HeaderInjectionError):  # the worker reports it
                    message, unsigned = self._factory.prepare(job.recipient)
                    if unsigned is not None:
                        built.append((job, message, unsigned))
            assert self._pool is not None
            try:
                signatures = await self._pool.sign([u.inputs for _, _, u in built])
            except Exception as exc:  # a worker died: the SMTP workers sign from now on
                self._give_up(exc)
                return
            for (job, message, unsigned), raw in zip(built, signatures, strict=True):
                job.message = dataclasses.replace(message, data=unsigned.finish(raw))
        finally:
            self._in_flight.release()
            if not claim.done():
                claim.set_result(None)

    def _give_up(self, exc: BaseException) -> None:
        self.broken = self.broken or exc
        self._pending.clear()
        self._waiting.clear()
