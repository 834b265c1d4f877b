"""Send one issue to a subscriber list exactly once, fast and resumably: the public entry points.

:func:`send_issue` is the one coroutine the CLI runs. The rules it enforces:

- **Same content for everyone.** The first run stores the rendered issue in the ledger; every
  later run sends the stored copy and only *reports* that the issue now renders differently.
- **At least once, at most one extra copy per connection.** An attempt is committed before its
  SMTP transaction starts, a message's outcome before the same connection can complete another
  message (:mod:`.group_commit`), and a resumed run re-sends every attempt without an
  outcome. Addresses refused for good (5xx) are not tried again by later runs; 5.1.1 "user
  unknown" also suppresses the address for the list.
- **One sender at a time.** The run holds the ledger lease ``send:<issue id>`` (host, PID,
  expiry) and renews it in the background; a second concurrent send fails at once with
  :class:`~digestmail.errors.LockHeldError` (exit 75) before touching anything. A crashed
  run's lease is taken over by the next run at once (same host, dead PID) or after expiry.
- **Stoppable.** ``stop`` (see :mod:`digestmail.cli.signals`) ends the run cleanly: no new
  transactions, in-flight ones finish or time out, the ledger is flushed, exit code 75.
- **Exit 2 means nothing was sent.** An error that would exit 2 (a subscriber file or ledger
  that fails part-way) but comes after the first message went out is raised as
  :class:`SendStoppedError` (exit 75, the original as its cause): the run is resumable.

The moving parts live in :mod:`.workers`; this module decides what to run with which
issue and turns the tally into a :class:`DeliveryReport`.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import secrets
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from typing import NoReturn

from digestmail.addresses import normalise_address
from digestmail.config import Config, ListConfig
from digestmail.deliver.counts import Counts, Outcome
from digestmail.deliver.drive import drive
from digestmail.deliver.job import FactoryMaker, SendJob
from digestmail.deliver.recipients import Tally
from digestmail.deliver.relays import RelayPool, Relays
from digestmail.deliver.transports.base import Transport
from digestmail.deliver.transports.maildir import MaildirTransport
from digestmail.deliver.workers import SendRun
from digestmail.errors import (
    DigestmailError,
    ExitCode,
    LedgerError,
    LockHeldError,
    SendStoppedError,
    SubscriberError,
)
from digestmail.ledger.store import Lease, Ledger
from digestmail.models import Issue, IssueStatus, Recipient
from digestmail.subscribers.reader import SubscriberProblem

LEASE_TTL = 60.0
"""Seconds a vanished run on another host blocks the issue (same host: until its PID is dead)."""
TEST_SUFFIX = "#test"
"""Test copies (``--to``) are recorded under ``<issue id>#test``, apart from the list's rows."""


def raise_after_sending(exc: BaseException, *, tried: int) -> NoReturn:
    """Raise ``exc`` as it must leave a send that handed ``tried`` messages to the transport."""
    if tried and isinstance(exc, DigestmailError) and exc.exit_code is ExitCode.USAGE:
        raise SendStoppedError(exc, tried=tried) from exc
    raise exc


def _raise_run_error(run: SendRun) -> None:
    if run.error is not None:
        raise_after_sending(run.error, tried=run.tried)


@dataclass(frozen=True, slots=True)
class DeliveryReport:
    """What one run did; the CLI prints it and exits with :attr:`exit_code`."""

    issue_id: str
    counts: Counts = field(default_factory=Counts)
    dry_run: bool = False
    content_changed: bool = False
    """The issue would render differently now; the stored copy was sent, as promised."""
    interrupted: bool = False
    test_copies: bool = False
    failures: tuple[str, ...] = ()
    """The first permanent failures as ``address: code reply``, for the summary."""
    invalid_rows: tuple[str, ...] = ()
    """The first invalid subscriber rows as ``line N: address: reason``."""
    archive_error: str = ""
    """The web archive could not be written after the issue went out (the next run does it)."""
    relays: dict[str, int] = field(default_factory=dict)
    """Messages each relay accepted in this run, by name (SMTP only)."""
    relay_notes: tuple[str, ...] = ()
    """Relays that rested or dropped out in this run, and why."""

    @property
    def exit_code(self) -> ExitCode:
        """75 when running again would do more; 1 when some address refused for good; else 0.

        Never 2: that promises nothing was sent, and a report exists only once a send ran.
        """
        if self.counts[Outcome.LEFT_TO_RETRY] or self.interrupted or self.archive_error:
            return ExitCode.TEMPFAIL
        return ExitCode.FAILED if self.counts[Outcome.FAILED_PERMANENT] else ExitCode.OK

    def as_dict(self) -> dict[str, object]:
        """One flat JSON object: every outcome's count by its key, then the flags and lists."""
        flat: dict[str, object] = {"issue_id": self.issue_id}
        flat.update({outcome.value: self.counts[outcome] for outcome in Outcome})
        for name in ("dry_run", "content_changed", "interrupted", "test_copies"):
            flat[name] = getattr(self, name)
        flat.update(failures=list(self.failures), invalid_rows=list(self.invalid_rows))
        flat["archive_error"] = self.archive_error or None
        flat.update(relays=dict(self.relays), relay_notes=list(self.relay_notes))
        return flat

    @classmethod
    def from_tally(
        cls,
        tally: Tally,
        *,
        issue_id: str,
        relays: Relays | None = None,
        interrupted: bool,
        dry_run: bool = False,
        content_changed: bool = False,
        test_copies: bool = False,
    ) -> DeliveryReport:
        """Freeze the run's counts and the rows it names."""
        return cls(
            issue_id=issue_id,
            counts=Counts(tally.counts),
            dry_run=dry_run,
            content_changed=content_changed,
            interrupted=interrupted,
            test_copies=test_copies,
            failures=tuple(tally.failures),
            invalid_rows=tuple(tally.invalid_rows),
            relays={r.name: r.sent for r in relays.members if r.name is not None}
            if relays is not None
            else {},
            relay_notes=relays.notes() if relays is not None else (),
        )


def make_transport(config: Config) -> Transport:
    """The transport ``[transport] kind`` names: the Maildir outbox or the SMTP relay(s)."""
    if config.transport.kind == "smtp":
        return RelayPool.from_config(config.smtp)
    return MaildirTransport(config.transport.maildir)


def issue_hash(issue: Issue) -> str:
    """Fingerprint of what recipients read, to tell whether a resumed issue would now differ."""
    digest = hashlib.sha256()
    for part in (issue.subject, issue.html, issue.text):
        digest.update(part.encode("utf-8"))
        digest.update(b"\0")
    return digest.hexdigest()


async def send_issue(
    job: SendJob,
    *,
    transport: Transport,
    make_factory: FactoryMaker,
    recipients: Iterable[Recipient | SubscriberProblem],
) -> DeliveryReport:
    """Send ``issue`` to every recipient not yet served; safe to run again at any time.

    Raises LockHeldError at once when another run holds the issue's lease, and TransportError
    when no connection could be opened at all (after retries). An error while reading the list
    (SubscriberError for a CSV row that cannot be parsed) ends the run with that error and leaves
    the issue open: what was sent stays recorded, and a run on the fixed file resumes. A dry run
    reads the ledger but writes nothing, takes no lease and opens no connection; ``sent`` then
    counts what would go.
    """
    issue, ledger, stop = job.issue, job.ledger, job.stop
    fingerprint = issue_hash(issue)

    def new_run(sent_issue: Issue) -> SendRun:
        return SendRun(
            job,
            transport=transport,
            factory=make_factory(sent_issue),
            ledger_id=issue.id,
            consult_ledger=True,
        )

    if job.dry_run:
        found = ledger.get_issue(issue.id)
        run = new_run(found.issue if found else issue)
        await drive(run, recipients)
        if found is None or found.status is not IssueStatus.FINISHED:
            _refuse_an_empty_list(run.tally, job.list_cfg, stop)
        return DeliveryReport.from_tally(
            run.tally,
            issue_id=issue.id,
            dry_run=True,
            content_changed=found is not None and found.content_hash != fingerprint,
            interrupted=stop.is_set(),
        )

    lease = ledger.acquire_lock(f"send:{issue.id}", ttl=LEASE_TTL)
    try:
        stored = ledger.store_issue(issue, content_hash=fingerprint)
        run = new_run(stored.issue)
        keeper = asyncio.create_task(_keep_lease(ledger, lease, run))
        try:
            await drive(run, recipients)
        finally:
            keeper.cancel()
            # The keeper reports a lost lease through run.error; nothing it raises may take
            # the place of the send's own outcome.
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await keeper
        _raise_run_error(run)
        if stored.status is not IssueStatus.FINISHED:  # a finished issue has nothing left to lose
            _refuse_an_empty_list(run.tally, job.list_cfg, stop)
        report = DeliveryReport.from_tally(
            run.tally,
            issue_id=issue.id,
            relays=run.relays,
            content_changed=stored.content_hash != fingerprint,
            interrupted=stop.is_set(),
        )
        if report.exit_code != ExitCode.TEMPFAIL and stored.status is not IssueStatus.FINISHED:
            try:
                ledger.finish_issue(issue.id)
            except LedgerError as exc:
                raise_after_sending(exc, tried=run.tried)
        return report
    finally:
        # A lease that cannot be released now (taken over, or the ledger busy) simply expires;
        # it must never replace the outcome of the send.
        with contextlib.suppress(LockHeldError, LedgerError):
            ledger.release_lock(lease)


def _refuse_an_empty_list(tally: Tally, list_cfg: ListConfig, stop: asyncio.Event) -> None:
    """A file without one usable address is a broken file, not a list nobody is on.

    Finishing the issue would count its tips as sent, to nobody: a German Excel export with
    ``;`` between the fields, or a header without rows, would silently swallow a month. Left
    open, the issue goes out once the file is fixed (``run-due`` retries open issues first).
    """
    if tally.counts.addresses or stop.is_set():
        return
    invalid = tally.counts[Outcome.INVALID]
    rows = f"{invalid} invalid row(s)" if invalid else "no rows"
    raise SubscriberError(
        f"no address to mail ({rows}; `digestmail subscribers check --list {list_cfg.key}` "
        "shows them); the issue stays open, its tips unsent, until the file is fixed",
        path=list_cfg.subscribers,
    )


async def _keep_lease(ledger: Ledger, lease: Lease, run: SendRun) -> None:
    """Renew the lease while the run lives; losing it stops the run (another run took over).

    A renewal the ledger refuses for now (busy beyond its timeout, or another ledger error) is
    tried again on the next tick: the lease is renewed three times per TTL, so one missed
    renewal does not let it expire. Only a lost lease ends the run; this task never raises.
    """
    while True:
        await asyncio.sleep(LEASE_TTL / 3)
        try:
            ledger.renew_lock(lease)
        except LockHeldError as exc:
            run.error = run.error or exc
            run.halt()
            return
        except LedgerError:
            continue


async def send_test_copies(
    job: SendJob, *, transport: Transport, make_factory: FactoryMaker
) -> DeliveryReport:
    """Send ``--to`` test copies, recorded under ``<issue id>#test`` only.

    Uses the stored copy when the issue has been sent (what subscribers got), else the fresh
    rendering *without* storing it, so an editor can still fix a typo after a test. Test copies
    ignore suppressions and earlier test copies: the editor asked for exactly these addresses.
    Each run's test copies get Message-IDs of their own (scoped by ``<issue id>#test`` and a
    random nonce): a mail client that saw a test copy would otherwise drop the real issue, or a
    later test copy, as a duplicate of it.
    No lease is taken: test copies never touch the list's deliveries. Raises UsageError
    naming the first invalid address before anything is sent.
    """
    emails = dict.fromkeys(map(normalise_address, job.test_addresses))
    recipients = [Recipient(email=email) for email in emails]
    issue = job.issue
    found = job.ledger.get_issue(issue.id)
    run = SendRun(
        replace(job, dry_run=False, total=len(recipients)),
        transport=transport,
        factory=make_factory(found.issue if found else issue).with_id_scope(
            f"{issue.id}{TEST_SUFFIX}.{secrets.token_hex(8)}"
        ),
        ledger_id=issue.id + TEST_SUFFIX,
        consult_ledger=False,
    )
    await drive(run, recipients)
    _raise_run_error(run)
    return DeliveryReport.from_tally(
        run.tally,
        issue_id=issue.id,
        relays=run.relays,
        test_copies=True,
        interrupted=job.stop.is_set(),
    )
