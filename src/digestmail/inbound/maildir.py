"""A local Maildir a mail server delivers into; handled messages move to ``<maildir>/.done/``.

``.done`` is a Maildir++ subfolder, so a mail client pointed at the same Maildir shows the
handled mail as a folder of its own. A move is a rename within one file system: a crash leaves
a message either in place (read again next time, and recognised as seen) or moved.
"""

from __future__ import annotations

import errno
from collections.abc import Iterator, Sequence
from pathlib import Path

from digestmail.errors import MailboxError
from digestmail.inbound.base import InboxItem

DONE = ".done"


class MaildirMailbox:
    def __init__(self, directory: Path) -> None:
        self.directory = directory

    @property
    def where(self) -> str:
        return f"Maildir {self.directory}"

    def open(self) -> None:
        try:
            for sub in ("new", "cur", "tmp"):
                (self.directory / sub).mkdir(mode=0o700, parents=True, exist_ok=True)
                (self.directory / DONE / sub).mkdir(mode=0o700, parents=True, exist_ok=True)
        except OSError as exc:
            raise MailboxError(f"{self.where}: cannot use it: {_why(exc)}") from exc

    def messages(self) -> Iterator[InboxItem]:
        """``new/`` then ``cur/``, each in name order (Maildir names start with the time)."""
        for sub in ("new", "cur"):
            try:
                names = sorted(p.name for p in (self.directory / sub).iterdir())
            except OSError as exc:
                raise MailboxError(f"{self.where}: cannot list {sub}/: {_why(exc)}") from exc
            for name in names:
                if name.startswith("."):
                    continue
                path = self.directory / sub / name
                try:
                    data = path.read_bytes()
                except FileNotFoundError:
                    continue  # moved by a mail client meanwhile
                except OSError as exc:
                    raise MailboxError(
                        f"{self.where}: cannot read {sub}/{name}: {_why(exc)}"
                    ) from exc
                yield InboxItem(f"{sub}/{name}", data)

    def done(self, refs: Sequence[str]) -> None:
        """One rename per message (a Maildir has no batch move; a rename costs no fsync)."""
        for ref in refs:
            source = self.directory / ref
            sub, _, name = ref.partition("/")
            if sub == "new":
                sub, name = "cur", name if ":2," in name else f"{name}:2,S"
            try:
                source.replace(self.directory / DONE / sub / name)
            except FileNotFoundError:
                continue
            except OSError as exc:
                raise MailboxError(f"{self.where}: cannot move {ref}: {_why(exc)}") from exc

    def close(self) -> None:
        return None


def _why(exc: OSError) -> str:
    name = errno.errorcode.get(exc.errno or 0, "")
    return f"{exc.strerror or exc} ({name})" if name else str(exc)
