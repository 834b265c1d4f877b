"""The exception hierarchy.

Every error a user can cause derives from :class:`DigestmailError`, so the CLI can map the whole
family to an exit code and a one-line message without catching programming errors by accident.
Each error carries the place it is about (file, line, key, recipient), because the people who
read these messages are editors who need to know *where* to look, not tracebacks.
"""

from __future__ import annotations

from pathlib import Path


class DigestmailError(Exception):
    """Base of every error digestmail reports to a user."""

    #: The process exit code the CLI uses when this error ends a command.
    exit_code: int = 2


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

    exit_code = 1

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


class TransportError(DigestmailError):
    """The transport as a whole failed (cannot connect, authentication refused)."""

    exit_code = 75


class TransportSetupError(TransportError):
    """The relay refused our credentials or certificate: trying again cannot help.

    Exit code 2, like any other setting to fix, and no retries within the run either.
    """

    exit_code = 2


class LockHeldError(DigestmailError):
    """Another run holds the issue's lock; running again later resumes."""

    exit_code = 75

    def __init__(self, issue_id: str, owner: str) -> None:
        self.issue_id = issue_id
        self.owner = owner
        super().__init__(f"{issue_id}: another run holds the lock ({owner}); try again later")
