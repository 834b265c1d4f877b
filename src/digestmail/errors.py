"""The exception hierarchy, and the exit codes the CLI turns it into.

Every error a user can cause derives from :class:`DigestmailError`, so the CLI can map the whole
family to an exit code and a one-line message without catching programming errors by accident.
Each error carries the place it is about (file, line, key, recipient), because the people who
read these messages are editors who need to know *where* to look, not tracebacks. Where an error
means what a built-in means, it is that built-in too (as aiosmtplib does), so code that knows
nothing of digestmail can still catch it::

    DigestmailError                           exit 2 unless said otherwise
    ├── UsageError                            a command-line value (period, list, address)
    ├── ConfigError(path, key)                the config file
    ├── FileLineError(path, line)
    │   ├── ContentError                      a post
    │   └── SubscriberError                   a subscriber file
    ├── TemplateError                         a theme, or a digest too large to send whole
    ├── HeaderInjectionError, ValueError      CR/LF/NUL bound for a header
    ├── DeliveryError(recipient, code, reply) exit 1: one recipient refused
    │   └── RefusedBeforeSending              our own check refused the row: left to retry
    ├── TransportError, ConnectionError       exit 75: cannot reach the relay or the Maildir
    │   ├── TransportSetupError               exit 2: credentials or certificate refused
    │   └── LocalTransportError               exit 75: the Maildir's disk is full, read-only...
    ├── LockHeldError                         exit 75: another run holds the issue
    ├── SendStoppedError(cause)               exit 75: an error after messages went out
    └── LedgerError(path)                     the SQLite ledger cannot be used
        ├── LedgerBusyError, TimeoutError     exit 75: locked by another process too long
        └── LedgerStorageError                exit 75: its disk is full or failing
"""

from __future__ import annotations

import enum
from pathlib import Path


class ExitCode(enum.IntEnum):
    """The process exit codes of the contract; scripts and cron rely on each one's meaning."""

    OK = 0
    """Done."""
    FAILED = 1
    """Finished, but some deliveries failed permanently."""
    USAGE = 2
    """Bad usage, config, content or subscriber file: nothing was sent."""
    TEMPFAIL = 75
    """Temporary (EX_TEMPFAIL): run the same command again to resume."""

    @property
    def severity(self) -> int:
        """How bad the code is when a run handles several issues: the worst one wins."""
        return _SEVERITY[self]

    @classmethod
    def worst(cls, codes: list[ExitCode]) -> ExitCode:
        return max(codes, key=lambda code: code.severity, default=cls.OK)


_SEVERITY = {ExitCode.OK: 0, ExitCode.FAILED: 1, ExitCode.TEMPFAIL: 2, ExitCode.USAGE: 3}


class DigestmailError(Exception):
    """Base of every error digestmail reports to a user."""

    #: The process exit code the CLI uses when this error ends a command.
    exit_code: ExitCode = ExitCode.USAGE


class UsageError(DigestmailError):
    """A command-line value that cannot be understood (a bad period, an unknown list)."""


class ConfigError(DigestmailError):
    """A config file that cannot be used; names the file and the offending key."""

    def __init__(self, message: str, *, path: Path | None = None, key: str | None = None) -> None:
        self.path = path
        self.key = key
        self.message = message
        super().__init__(str(self))

    def __str__(self) -> str:
        where = str(self.path) if self.path else "config"
        if self.key:
            where += f": {self.key}"
        return f"{where}: {self.message}"


class FileLineError(DigestmailError):
    """An error about a place in a file: ``path:line: message``, the form editors jump to."""

    def __init__(self, message: str, *, path: Path, line: int | None = None) -> None:
        self.path = path
        self.line = line
        self.message = message
        super().__init__(str(self))

    def __str__(self) -> str:
        where = f"{self.path}:{self.line}" if self.line else f"{self.path}"
        return f"{where}: {self.message}"


class ContentError(FileLineError):
    """A post that cannot be read; names the file and, when known, the line."""


class SubscriberError(FileLineError):
    """A subscriber file that cannot be read at all (missing, no `email` column)."""


class TemplateError(DigestmailError):
    """A theme template that is missing or fails to render."""


class HeaderInjectionError(DigestmailError, ValueError):
    """A header value carried CR or LF; refused so it can never reach the wire."""


class DeliveryError(DigestmailError):
    """One recipient's delivery failed; carries the SMTP reply as data."""

    exit_code = ExitCode.FAILED

    def __init__(
        self, message: str, *, recipient: str, code: int | None = None, reply: str = ""
    ) -> None:
        self.recipient = recipient
        self.code = code
        self.reply = reply
        super().__init__(message)

    @property
    def temporary(self) -> bool:
        """A 4xx reply or no reply at all (a dropped connection) is worth trying again."""
        return self.code is None or 400 <= self.code < 500


class TransportError(DigestmailError, ConnectionError):
    """The transport as a whole failed (cannot connect, authentication refused)."""

    exit_code = ExitCode.TEMPFAIL


class MailboxError(DigestmailError, ConnectionError):
    """The inbox's mailbox cannot be reached or read now (server down, folder locked)."""

    exit_code = ExitCode.TEMPFAIL


class MailboxSetupError(MailboxError):
    """The mailbox refused our login or certificate, or the folder is wrong: fix the config."""

    exit_code = ExitCode.USAGE


class TransportSetupError(TransportError):
    """The relay refused our credentials or certificate: trying again cannot help.

    Exit code 2, like any other setting to fix, and no retries within the run either.
    """

    exit_code = ExitCode.USAGE


class RelayRefused(TransportSetupError):
    """The relay will not take a message from us at all: a 5xx to our envelope sender (MAIL
    FROM), or "relay access denied" for a recipient.

    No recipient is at fault: the relay's account may not send as the list's address, or the
    relay does not relay for us (no AUTH, the wrong port). The message was not handed over;
    the relay is out of the run like one refusing the password.
    """


class LockHeldError(DigestmailError):
    """Another run holds the issue's lock; running again later resumes."""

    exit_code = ExitCode.TEMPFAIL

    def __init__(self, issue_id: str, owner: str) -> None:
        self.issue_id = issue_id
        self.owner = owner
        super().__init__(f"{issue_id}: another run holds the lock ({owner}); try again later")


class LedgerError(DigestmailError):
    """The ledger file cannot be used (corrupt, unreadable, written by a newer version)."""

    def __init__(self, message: str, *, path: Path) -> None:
        self.path = path
        self.message = message
        super().__init__(f"{path}: {message}")


class LedgerBusyError(LedgerError, TimeoutError):
    """Another process kept the ledger locked for longer than the busy timeout; retry later."""

    exit_code = ExitCode.TEMPFAIL


class SendStoppedError(DigestmailError):
    """An error that ended a send after messages went out; exit 75, never 2.

    Exit 2 promises "nothing was sent"; once something was, running the same command again
    (after fixing the cause, which the message names) resumes without a second copy to anyone.
    """

    exit_code = ExitCode.TEMPFAIL

    def __init__(self, cause: DigestmailError, *, tried: int) -> None:
        self.cause = cause
        super().__init__(
            f"{cause} (the send stopped after {tried} message(s) were handed to the transport; "
            "what went out is recorded: fix this, then run the same command again to resume)"
        )


class LedgerStorageError(LedgerError):
    """The ledger's file system refused a write: full (SQLITE_FULL) or an I/O error.

    Temporary by nature (exit 75): the run stops at once, what was committed stays, and once
    space is freed the same command resumes, re-sending at most the messages in flight.
    """

    exit_code = ExitCode.TEMPFAIL


class LocalTransportError(TransportError):
    """The local destination refuses every message alike: a full or read-only file system, a
    folder without permission, a Maildir path that is a plain file.

    Trying the next recipient cannot help (it grinds through the whole list, each row tried
    ``max_attempts`` times), so the engine stops the run at the first one (exit 75), records
    nothing as failed and leaves the message in flight ``queued``: once the cause is fixed, the
    next run resumes exactly where this one stopped.
    """


class RefusedBeforeSending(DeliveryError):
    """digestmail's own check refused a message before any byte of it left (a control character
    in an address): the subscriber row is at fault, not the recipient's mailbox.

    Never recorded as the recipient's permanent failure: the engine reports the row and leaves
    it to retry, so a fixed subscriber file delivers it on the next run.
    """
