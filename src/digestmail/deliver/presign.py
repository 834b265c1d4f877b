"""DKIM signatures for a large send, made in worker processes ahead of the SMTP workers.

A signed message costs about 0.5 ms of CPU for its RSA-2048 signature, which on one core would
cap a send below 2,000 messages per second whatever the relay can take. Once a send has handed
out ``dkim.sign_pool_after`` messages, the :class:`Presigner` starts a
:class:`~digestmail.message.dkim_pool.SigningPool`; from the moment its processes are ready,
every job queued is claimed, in batches of :data:`BATCH` in queue order. For each batch the
messages are built here (everything but the signature is cheap, see
:mod:`digestmail.message.dkim_template`) and the signatures are made in the pool while the event
loop carries on with SMTP.

Nothing about the ledger changes: jobs are queued exactly as before, after their attempts are
recorded; the presigner only fills in ``job.message`` while a job waits in the queue. A worker
that takes a claimed job waits for its batch (the event loop is not blocked meanwhile); any
other job (one before the pool was ready, a retry, a row whose header is refused, everything
once a signing process died) it builds and signs itself, as every send did before. At most
:data:`LOOKAHEAD` built messages wait for a worker, so memory stays flat however long the list.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
from collections import deque
from collections.abc import Sequence
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from digestmail.config import DkimConfig
from digestmail.errors import HeaderInjectionError
from digestmail.models import OutgoingMessage, Recipient

if TYPE_CHECKING:  # imported when a send signs: cryptography costs every other run 0.1 s
    from digestmail.message.dkim import DkimSigner, Unsigned
    from digestmail.message.dkim_pool import SigningPool

BATCH = 32
"""Messages per batch sent to a worker process: enough to make the pipe's cost per message
small, few enough that the first worker waiting for a batch does not wait long."""
BATCH_TIMEOUT = 30.0
"""Seconds a batch may take (it needs about 16 ms) before the pool is given up as hung."""
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
    from digestmail.message.dkim_pool import usable_cores

    cores = usable_cores()
    return cores if cores > 1 else 0


class Presigner:
    """Claims queued jobs in batches and fills in their signed messages from a process pool."""

    def __init__(
        self,
        factory: SigningFactory,
        *,
        processes: int,
        after: int,
        halted: asyncio.Event | None = None,
    ) -> None:
        """``halted`` is the run's stop: from then on no worker waits for a batch."""
        signer = factory.signer
        assert signer is not None
        self._factory = factory
        self._signer = signer
        self._processes = processes
        self._after = after
        self._halted = halted
        self._seen = 0
        self._ready = False
        self._pool: SigningPool | None = None
        self._task: asyncio.Task[None] | None = None
        self._signing: set[asyncio.Task[None]] = set()
        self._queue: deque[tuple[Sequence[Slot], asyncio.Future[None]]] = deque()
        """Claimed batches not yet handed to the pool, in queue order."""
        self._claims: dict[Slot, asyncio.Future[None]] = {}
        self._early: dict[Slot, None] = {}
        """Queued while the processes start, not yet taken: claimed once they are ready."""
        self._held: set[Slot] = set()
        """Jobs whose message is being built or waits for its worker: each holds a place."""
        self._wake = asyncio.Event()
        self._room = asyncio.Semaphore(LOOKAHEAD)
        self._in_flight = asyncio.Semaphore(2 * processes)
        self.broken: BaseException | None = None
        """Why the pool stopped signing (the workers then sign every message themselves)."""

    @classmethod
    def for_send(
        cls, dkim: DkimConfig | None, factory: object, halted: asyncio.Event
    ) -> Presigner | None:
        """A presigner when the messages are signed and the machine has cores to spare."""
        processes = pool_processes(dkim, factory)
        if not processes or dkim is None or not isinstance(factory, SigningFactory):
            return None
        return cls(factory, processes=processes, after=dkim.sign_pool_after, halted=halted)

    def submit(self, jobs: Sequence[Slot]) -> None:
        """Jobs just queued, in queue order: claimed in batches once the pool is running.

        Past ``sign_pool_after`` jobs the pool starts; until its processes are ready (a
        fraction of a second) the workers go on signing themselves.
        """
        self._seen += len(jobs)
        if self._task is None and self._seen > self._after:
            self._task = asyncio.get_running_loop().create_task(self._run())
        if self.broken is not None:
            return
        if not self._ready:
            if self._task is not None:
                self._early.update(dict.fromkeys(jobs))
            return
        self._claim(jobs)

    def _claim(self, jobs: Sequence[Slot]) -> None:
        loop = asyncio.get_running_loop()
        for start in range(0, len(jobs), BATCH):
            batch = jobs[start : start + BATCH]
            claim: asyncio.Future[None] = loop.create_future()
            for job in batch:
                self._claims[job] = claim
            self._queue.append((batch, claim))
        self._wake.set()

    async def take(self, job: Slot) -> None:
        """Before a worker builds ``job``'s message: wait for the pool if it is making it."""
        claim = self._claims.pop(job, None)
        if claim is None:
            self._early.pop(job, None)
            return  # not claimed (a retry, a small send, a broken pool): the worker signs
        try:
            await claim
        finally:
            if job in self._held:
                self._held.discard(job)
                self._room.release()

    async def close(self) -> None:
        """Stop, drop what is not yet signed, and end the worker processes."""
        tasks = [t for t in (self._task, *self._signing) if t is not None]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._give_up(RuntimeError("the send ended"))
        if self._pool is not None:
            self._pool.close()

    # --- the signing task ---------------------------------------------------------------------

    async def _run(self) -> None:
        from digestmail.message.dkim_pool import SigningPool

        self._pool = SigningPool(self._signer.keys, self._processes)
        try:
            await self._pool.start()
        except Exception as exc:  # no process could start: the workers sign, as before
            self._give_up(exc)
            return
        self._ready = True
        if self._halted is not None:
            watch = asyncio.get_running_loop().create_task(self._watch(self._halted))
            self._signing.add(watch)
            watch.add_done_callback(self._signing.discard)
        self._claim(list(self._early))
        self._early.clear()
        loop = asyncio.get_running_loop()
        while self.broken is None:
            while not self._queue:
                self._wake.clear()
                await self._wake.wait()
            batch, claim = self._queue.popleft()
            await self._in_flight.acquire()
            for job in batch:
                # Workers take jobs in queue order, so those holding the places are ahead of
                # this batch and are taken first: waiting here never waits on a worker that
                # waits for this batch.
                await self._room.acquire()
                self._held.add(job)
            task = loop.create_task(self._sign(batch, claim))
            self._signing.add(task)
            task.add_done_callback(self._signing.discard)

    async def _sign(self, jobs: Sequence[Slot], claim: asyncio.Future[None]) -> None:
        try:
            built: list[tuple[Slot, OutgoingMessage, Unsigned]] = []
            for job in jobs:
                with contextlib.suppress(HeaderInjectionError):  # the worker reports it
                    message, unsigned = self._factory.prepare(job.recipient)
                    if unsigned is not None:
                        built.append((job, message, unsigned))
            assert self._pool is not None
            try:
                signatures = await asyncio.wait_for(
                    self._pool.sign([u.inputs for _, _, u in built]), BATCH_TIMEOUT
                )
            except Exception as exc:  # a worker died or hangs: the SMTP workers sign from now on
                self._give_up(exc)
                return
            for (job, message, unsigned), raw in zip(built, signatures, strict=True):
                job.message = dataclasses.replace(message, data=unsigned.finish(raw))
        finally:
            self._in_flight.release()
            if not claim.done():
                claim.set_result(None)

    async def _watch(self, halted: asyncio.Event) -> None:
        await halted.wait()
        self._give_up(RuntimeError("the send was stopped"))

    def _give_up(self, exc: BaseException) -> None:
        """No more claims; no worker waits for a batch any more (one whose message is not
        there yet builds and signs it itself)."""
        self.broken = self.broken or exc
        for claim in {*self._claims.values(), *(claim for _, claim in self._queue)}:
            if not claim.done():
                claim.set_result(None)
        self._queue.clear()
