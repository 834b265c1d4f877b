"""An IMAP folder (stdlib ``imaplib``, blocking; ``app/inbox`` calls it from a worker thread).

TLS checks the server's certificate and name against the system store (or ``inbox.ca_file``),
for implicit TLS (993) as for STARTTLS; ``security = "none"`` is for a server on this machine.
A handled message is moved to ``done_folder``: ``UID MOVE`` (RFC 6851) where the server offers
it, else ``UID COPY`` + ``\\Deleted`` + ``UID EXPUNGE`` (RFC 4315) so that no other message a
person flagged for deletion is expunged with it; a server with neither only gets the copy and
the flag, and expunges when its user says so (flagged messages are not read again). Nothing is
ever deleted otherwise.

Round trips are few, for a server far away: the sizes of all messages in one ``UID FETCH``,
then the messages themselves a group at a time (:data:`FETCH_MESSAGES` or :data:`FETCH_BYTES`,
whichever is reached first, so memory stays bounded however big the folder), and a batch of
handled messages moved with one command (UIDs as ranges, :data:`MOVE_UIDS` per command).
"""

from __future__ import annotations

import imaplib
import re
import ssl
from collections.abc import Iterator, Sequence

from digestmail.config import InboxConfig
from digestmail.errors import MailboxError, MailboxSetupError
from digestmail.inbound.base import InboxItem
from digestmail.tls import client_context

FETCH_MESSAGES = 50
FETCH_BYTES = 4 << 20
"""A group of messages fetched in one ``UID FETCH``: at most this many, and this many bytes
(a bigger message comes alone)."""
MOVE_UIDS = 500
"""UIDs per ``UID MOVE``/``COPY`` command (a server limits a command's length)."""
_UID = re.compile(rb"\bUID (\d+)")
_SIZE = re.compile(rb"\bRFC822\.SIZE (\d+)")


def uid_set(uids: Sequence[str]) -> str:
    """UIDs as an IMAP sequence set, consecutive ones as ranges: ``3,5:7,9``."""
    numbers = sorted({int(u) for u in uids})
    runs: list[str] = []
    start = end = numbers[0]
    for n in [*numbers[1:], -1]:
        if n == end + 1:
            end = n
            continue
        runs.append(str(start) if start == end else f"{start}:{end}")
        start = end = n
    return ",".join(runs)


def groups(sizes: Sequence[tuple[str, int]]) -> Iterator[list[str]]:
    """UIDs in fetch groups of at most :data:`FETCH_MESSAGES` messages and :data:`FETCH_BYTES`."""
    group: list[str] = []
    total = 0
    for uid, size in sizes:
        if group and (len(group) >= FETCH_MESSAGES or total + size > FETCH_BYTES):
            yield group
            group, total = [], 0
        group.append(uid)
        total += size
    if group:
        yield group


def fetched(data: Sequence[object]) -> dict[str, bytes]:
    """UID -> body of a ``UID FETCH ... (BODY.PEEK[])`` answer (the UID before or after it)."""
    out: dict[str, bytes] = {}
    for n, part in enumerate(data):
        if not (isinstance(part, tuple) and len(part) == 2 and isinstance(part[1], bytes)):
            continue
        head = part[0] if isinstance(part[0], bytes) else b""
        uid = _UID.search(head)
        after = data[n + 1] if n + 1 < len(data) else b""
        if uid is None and isinstance(after, bytes):
            uid = _UID.search(after)
        if uid is not None:
            out[uid.group(1).decode()] = part[1]
    return out


def quote_mailbox(name: str) -> str:
    """A folder name as an IMAP quoted string (``imaplib`` sends arguments as they are)."""
    return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'


def tls_context(cfg: InboxConfig) -> ssl.SSLContext:
    return client_context(cfg.ca_file, key="inbox.ca_file", error=MailboxSetupError)


class ImapMailbox:
    def __init__(self, cfg: InboxConfig) -> None:
        self.cfg = cfg
        self._imap: imaplib.IMAP4 | None = None
        self._move = False
        self._uidplus = False

    @property
    def where(self) -> str:
        cfg = self.cfg
        return f"IMAP {cfg.host}:{cfg.port} (inbox.security = {cfg.security})"

    def _connect(self) -> imaplib.IMAP4:
        cfg = self.cfg
        if cfg.security == "tls":
            return imaplib.IMAP4_SSL(
                cfg.host, cfg.port, ssl_context=tls_context(cfg), timeout=cfg.timeout
            )
        imap = imaplib.IMAP4(cfg.host, cfg.port, timeout=cfg.timeout)
        if cfg.security == "starttls":
            try:
                imap.starttls(ssl_context=tls_context(cfg))
            except BaseException:
                imap.shutdown()
                raise
        return imap

    def open(self) -> None:
        cfg = self.cfg
        try:
            imap = self._connect()
        except MailboxSetupError:  # a ConnectionError too, but one no retry can cure
            raise
        except ssl.SSLCertVerificationError as exc:
            raise MailboxSetupError(
                f"{self.where}: the server's certificate is not trusted ({exc.verify_message}); "
                "set inbox.ca_file to its CA"
            ) from exc
        except (OSError, imaplib.IMAP4.error) as exc:
            raise MailboxError(f"{self.where}: cannot connect: {exc}") from exc
        self._imap = imap
        try:
            imap.login(cfg.username, cfg.password())
        except imaplib.IMAP4.error as exc:
            self.close()
            raise MailboxSetupError(
                f"{self.where}: login as inbox.username {cfg.username!r} refused ({exc}); "
                f"check the password in ${cfg.password_env}"
            ) from exc
        except OSError as exc:
            self.close()
            raise MailboxError(f"{self.where}: connection lost at login: {exc}") from exc
        # Servers announce more after login (MOVE, UIDPLUS); imaplib keeps the greeting's.
        answer = self._call("CAPABILITY", imap.capability)
        capabilities = set(b" ".join(d for d in answer if isinstance(d, bytes)).upper().split())
        self._move = b"MOVE" in capabilities
        self._uidplus = b"UIDPLUS" in capabilities
        self._call("SELECT", imap.select, quote_mailbox(cfg.folder), setup=True)
        typ, _ = imap.create(quote_mailbox(cfg.done_folder))  # NO when it exists: fine
        del typ

    def _call(self, what: str, fn: object, *args: str, setup: bool = False) -> list[object]:
        """Run one command; a NO/BAD reply or a dropped connection becomes a MailboxError."""
        assert callable(fn)
        try:
            typ, data = fn(*args)
        except (OSError, imaplib.IMAP4.abort) as exc:
            raise MailboxError(f"{self.where}: {what} failed: {exc}") from exc
        except imaplib.IMAP4.error as exc:
            raise MailboxError(f"{self.where}: {what} refused: {exc}") from exc
        if typ != "OK":
            text = b" ".join(d for d in data if isinstance(d, bytes)).decode("utf-8", "replace")
            error = MailboxSetupError if setup else MailboxError
            folder = f" (inbox.folder = {self.cfg.folder!r})" if setup else ""
            raise error(f"{self.where}: {what}{folder} refused: {text}")
        return list(data)

    def messages(self) -> Iterator[InboxItem]:
        imap = self._imap
        assert imap is not None
        # A message flagged \\Deleted is on its way out: copied to done_folder by an earlier
        # run on a server without MOVE and UIDPLUS, or thrown away by a person.
        found = self._call("SEARCH", imap.uid, "SEARCH", "UNDELETED")
        uids = b" ".join(d for d in found if isinstance(d, bytes)).split()
        if not uids:
            return
        answer = self._call(
            "FETCH", imap.uid, "FETCH", uid_set([u.decode() for u in uids]), "(RFC822.SIZE)"
        )
        sizes: list[tuple[str, int]] = []
        for line in answer:
            text = line[0] if isinstance(line, tuple) else line
            if isinstance(text, bytes) and (found_uid := _UID.search(text)):
                size = _SIZE.search(text)
                sizes.append((found_uid.group(1).decode(), int(size.group(1)) if size else 0))
        sizes.sort(key=lambda pair: int(pair[0]))
        for group in groups(sizes):
            data = self._call("FETCH", imap.uid, "FETCH", uid_set(group), "(BODY.PEEK[])")
            bodies = fetched(data)
            del data
            for uid in group:
                body = bodies.pop(uid, None)
                if body is not None:  # expunged by another client meanwhile
                    yield InboxItem(uid, body)

    def done(self, refs: Sequence[str]) -> None:
        imap = self._imap
        assert imap is not None
        folder = quote_mailbox(self.cfg.done_folder)
        for start in range(0, len(refs), MOVE_UIDS):
            uids = uid_set(refs[start : start + MOVE_UIDS])
            if self._move:
                self._call("MOVE", imap.uid, "MOVE", uids, folder)
                continue
            self._call("COPY", imap.uid, "COPY", uids, folder)
            self._call("STORE", imap.uid, "STORE", uids, "+FLAGS.SILENT", "(\\Deleted)")
            if self._uidplus:
                self._call("EXPUNGE", imap.uid, "EXPUNGE", uids)

    def close(self) -> None:
        imap, self._imap = self._imap, None
        if imap is None:
            return
        try:
            # LOGOUT, never CLOSE: CLOSE expunges every message flagged \\Deleted, also the
            # ones a person flagged and did not mean to lose yet.
            imap.logout()
        except (TimeoutError, OSError, imaplib.IMAP4.error):
            imap.shutdown()
