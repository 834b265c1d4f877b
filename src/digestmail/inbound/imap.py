"""An IMAP folder (stdlib ``imaplib``, blocking; ``app/inbox`` calls it from a worker thread).

TLS checks the server's certificate and name against the system store (or ``inbox.ca_file``),
for implicit TLS (993) as for STARTTLS; ``security = "none"`` is for a server on this machine.
A handled message is moved to ``done_folder``: ``UID MOVE`` (RFC 6851) where the server offers
it, else ``UID COPY`` + ``\\Deleted`` + ``UID EXPUNGE`` (RFC 4315) so that no other message a
person flagged for deletion is expunged with it; a server with neither only gets the copy and
the flag, and expunges when its user says so. Nothing is ever deleted otherwise.
"""

from __future__ import annotations

import imaplib
import ssl
from collections.abc import Iterator

from digestmail.config import InboxConfig
from digestmail.errors import MailboxError, MailboxSetupError
from digestmail.inbound.base import InboxItem


def quote_mailbox(name: str) -> str:
    """A folder name as an IMAP quoted string (``imaplib`` sends arguments as they are)."""
    return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'


def tls_context(cfg: InboxConfig) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH)
    if cfg.ca_file is not None:
        try:
            context.load_verify_locations(cafile=str(cfg.ca_file))
        except (OSError, ssl.SSLError) as exc:
            raise MailboxSetupError(f"inbox.ca_file {cfg.ca_file}: cannot load: {exc}") from exc
    return context


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
            imap.starttls(ssl_context=tls_context(cfg))
        return imap

    def open(self) -> None:
        cfg = self.cfg
        try:
            imap = self._connect()
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
        found = self._call("SEARCH", imap.uid, "SEARCH", "ALL")
        uids = b" ".join(d for d in found if isinstance(d, bytes)).split()
        for uid in uids:
            data = self._call("FETCH", imap.uid, "FETCH", uid.decode(), "(BODY.PEEK[])")
            body = next((d[1] for d in data if isinstance(d, tuple) and len(d) == 2), None)
            if isinstance(body, bytes):
                yield InboxItem(uid.decode(), body)

    def done(self, item: InboxItem) -> None:
        imap = self._imap
        assert imap is not None
        folder = quote_mailbox(self.cfg.done_folder)
        if self._move:
            self._call("MOVE", imap.uid, "MOVE", item.ref, folder)
            return
        self._call("COPY", imap.uid, "COPY", item.ref, folder)
        self._call("STORE", imap.uid, "STORE", item.ref, "+FLAGS.SILENT", "(\\Deleted)")
        if self._uidplus:
            self._call("EXPUNGE", imap.uid, "EXPUNGE", item.ref)

    def close(self) -> None:
        imap, self._imap = self._imap, None
        if imap is None:
            return
        try:
            if imap.state == "SELECTED":
                imap.close()
            imap.logout()
        except (TimeoutError, OSError, imaplib.IMAP4.error):
            imap.shutdown()
