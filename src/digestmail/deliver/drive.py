"""Running a send to its end: producer, workers, flusher and helpers started, awaited, stopped.

Kept apart from :mod:`.workers` (what each part does) so the order in which the parts start
and stop, which is what makes a stop clean and a crash resumable, reads in one place.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterable, Sequence

from digestmail.deliver.workers import SendRun
from digestmail.models import Recipient
from digestmail.subscribers.reader import SubscriberProblem


async def drive(run: SendRun, recipients: Iterable[Recipient | SubscriberProblem]) -> None:
    """Run producer, workers and helpers until the list is done or the run was stopped."""
    helpers = [
        asyncio.create_task(run.watch_stop()),
        asyncio.create_task(run.report_progress()),
    ]
    if run.dry_run:
        try:
            await run.feed(recipients)
        finally:
            await _cancel(helpers)
        if run.on_progress is not None:
            run.on_progress(run.event(done=True))
        return
    flusher = asyncio.create_task(run.journal.run())
    workers = [
        asyncio.create_task(run.work(relay, rank))
        for relay in run.relays.members
        for rank in range(relay.workers)
    ]
    producer = asyncio.create_task(run.feed(recipients))
    try:
        await run.idle.wait()
        run.release_workers()
        outcomes = await asyncio.gather(producer, *workers, return_exceptions=True)
        for outcome in outcomes:
            # feed and work record their own errors; this makes sure none is ever dropped.
            if isinstance(outcome, Exception):
                run._fail(outcome)
    finally:
        await _cancel([producer, *workers, *helpers])
        if run.presign is not None:
            await run.presign.close()  # the signing processes end with the send
        try:
            await run.journal.close()
        except Exception as exc:
            run.error = run.error or exc
        await _cancel([flusher])
    if run.on_progress is not None:
        run.on_progress(run.event(done=True))


async def _cancel(tasks: Sequence[asyncio.Task[None]]) -> None:
    for task in tasks:
        task.cancel()
    for task in tasks:
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await task
