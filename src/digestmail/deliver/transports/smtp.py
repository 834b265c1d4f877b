"""The SMTP transport: long-lived sessions that each carry many transactions.

aiosmtplib does the parts where mistakes are dangerous: connecting, implicit TLS or a *required*
STARTTLS with certificate checks, EHLO and AUTH. The transactions are then driven over the same
transport by :class:`~.smtp_pipelining.ReplyReader`, which allows PIPELINING and skips
``SMTP.data()``: that re-normalises line ends and dot-stuffs every message with two regular
expressions over the whole body. :class:`~digestmail.models.OutgoingMessage` promises CRLF line
ends and no line starting with ``.``, so the bytes go out as they are; one search per message
checks that promise (a bare ``.`` line would end the message early and let the rest be read as
commands) and falls back to stuffing if it was ever broken.
"""

from __future__ import annotations

import contextlib
import re
import ssl

import aiosmtplib

from digestmail.config import RelayConfig, SmtpConfig
from digestmail.deliver.transports.base import Connection, Gate, SendResult
from digestmail.deliver.transports.smtp_pipelining import Reply, ReplyReader
from digestmail.errors import (
    DeliveryError,
    RefusedBeforeSending,
    RelayRefused,
    TransportError,
    TransportSetupError,
)
from digestmail.message.headers import parse_address
from digestmail.models import OutgoingMessage
from digestmail.tls import client_context

_LEADING_DOT = re.compile(rb"(?m)^\.")
_DOT_AFTER_NEWLINE = re.compile(rb"\n\.")
"""Searched with ``re`` because it beats ``bytes.find`` for this needle about threefold."""
_VERP_TOKEN_TEXT = re.compile(r"\+[^@\s<>]*@")
_RELAY_DENIED = re.compile(
    r"relay(?:ing)? (?:access )?(?:denied|not permitted|prohibited)|unable to relay", re.I
)
"""The words of Postfix, Sendmail, Exim and Exchange for "I do not relay for you"."""
_UNSAFE = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029<>]")
_CLOSING = 421


def envelope_sender(from_header: str) -> str:
    """The bare address of a list's ``from`` ("Tipps <tipps@example.org>" -> the address).

    The same parse as the From header's, so MAIL FROM carries the same (IDNA) address.
    """
    return parse_address(from_header, what="from")[1]


RelayLike = SmtpConfig | RelayConfig
"""One relay's settings: ``[smtp]`` itself, or one ``[[smtp.relays]]`` entry."""


def _key(cfg: RelayLike) -> str:
    """Where the relay is configured, for errors that name a key (``smtp.relays[2]``)."""
    return cfg.key if isinstance(cfg, RelayConfig) else "smtp"


def build_tls_context(cfg: RelayLike) -> ssl.SSLContext:
    """One context per relay for all its connections."""
    return client_context(
        cfg.ca_file, key=f"{_key(cfg)}.ca_file", error=TransportSetupError, verify=cfg.verify_tls
    )


class SmtpTransport:
    """Opens authenticated, encrypted (as configured) connections to one relay."""

    def __init__(self, cfg: RelayLike, *, local_hostname: str | None = None) -> None:
        self.cfg = cfg
        self._local_hostname = local_hostname
        self._tls: ssl.SSLContext | None = None

    @property
    def max_connections(self) -> int:
        return self.cfg.connections

    @property
    def where(self) -> str:
        cfg = self.cfg
        place = f"{cfg.host}:{cfg.port} ({_key(cfg)}.security = {cfg.security})"
        named = isinstance(cfg, RelayConfig) and cfg.name != f"{cfg.host}:{cfg.port}"
        return f"relay {cfg.name} at {place}" if isinstance(cfg, RelayConfig) and named else place

    async def connect(self) -> Connection:
        cfg = self.cfg
        if cfg.security != "none" and self._tls is None:
            self._tls = build_tls_context(cfg)
        username = cfg.username or None
        client = aiosmtplib.SMTP(
            hostname=cfg.host,
            port=cfg.port,
            use_tls=cfg.security == "tls",
            start_tls=cfg.security == "starttls",
            tls_context=self._tls,
            timeout=cfg.timeout or None,
            username=username,
            password=cfg.password() if username else None,
            local_hostname=self._local_hostname,
        )
        try:
            await client.connect()
            if client.is_ehlo_or_helo_needed:
                await client.ehlo()
        except aiosmtplib.SMTPAuthenticationError as exc:
            client.close()
            raise TransportSetupError(
                f"{self.where}: authentication as {_key(cfg)}.username {cfg.username!r} refused "
                f"({exc.code} {exc.message}); check the password in ${cfg.password_env}"
            ) from exc
        except ssl.SSLCertVerificationError as exc:
            client.close()
            raise TransportSetupError(
                f"{self.where}: the server's certificate is not trusted ({exc.verify_message}); "
                f"set {_key(cfg)}.ca_file to its CA, or {_key(cfg)}.verify_tls = false for a "
                "test relay"
            ) from exc
        except (aiosmtplib.SMTPException, OSError) as exc:
            client.close()
            raise TransportError(f"{self.where}: cannot connect: {exc}") from exc
        return SmtpConnection(client, timeout=cfg.timeout or None, where=self.where)


class SmtpConnection:
    """One open SMTP session; sends transactions back to back (MAIL again after a 250).

    With PIPELINING (RFC 2920) MAIL, RCPT and DATA go out in one write and their three replies
    are read afterwards; without it, one command at a time. Either way a failed transaction is
    ended with RSET so the session stays usable, and a 421 or a broken session makes
    :attr:`usable` false so the worker opens a new one.
    """

    def __init__(
        self, client: aiosmtplib.SMTP, *, timeout: float | None, where: str = "the relay"
    ) -> None:
        self._timeout = timeout
        self._where = where
        self._pipelining = client.supports_extension("pipelining")
        self._utf8 = client.supports_extension("smtputf8")
        self._wire = ReplyReader()
        assert client.transport is not None
        self._wire.adopt(client.transport)

    @property
    def usable(self) -> bool:
        return not self._wire.broken

    async def send(
        self, sender: str, message: OutgoingMessage, *, gate: Gate | None = None
    ) -> SendResult:
        mail_from, sender_utf8 = self._address(sender, message)
        rcpt_to, reader_utf8 = self._address(message.email, message)
        # RFC 6531: SMTPUTF8 goes on MAIL FROM when either address needs it.
        options = sender_utf8 or reader_utf8
        try:
            reply = await self._envelope(
                mail_from + options, rcpt_to, message, reader_utf8=bool(reader_utf8)
            )
            reply = await self._body(message.data, gate)
            if reply.code != 250:
                await self._end(reply, reset=False)
                raise _refusal(message, reply, "end of data")
        except RelayRefused:  # a ConnectionError, but the session is fine and nothing was sent
            raise
        except (ConnectionError, TimeoutError) as exc:
            self._wire.close()
            raise DeliveryError(
                f"{message.email}: connection lost during the transaction: {exc}",
                recipient=message.email,
            ) from exc
        return SendResult(reply.code, reply.text)

    async def _envelope(
        self, mail_from: bytes, rcpt_to: bytes, message: OutgoingMessage, *, reader_utf8: bool
    ) -> Reply:
        """MAIL, RCPT, DATA; returns the 354 or raises DeliveryError for the first refusal
        (RelayRefused when the refusal is about the relay and us, not the reader)."""
        commands = (b"MAIL FROM:" + mail_from + b"\r\n", b"RCPT TO:" + rcpt_to + b"\r\n")
        stages = ("MAIL FROM", "RCPT TO", "DATA")
        wire, timeout = self._wire, self._timeout
        if self._pipelining:
            wire.write(*commands, b"DATA\r\n")
            replies = []
            try:
                for _ in stages:
                    replies.append(await wire.next(timeout))
            except ConnectionError:
                # A server that refuses MAIL with 421 hangs up before answering the rest.
                if not any(reply.code >= 400 for reply in replies):
                    raise
        else:
            replies = []
            for command in (*commands, b"DATA\r\n"):
                wire.write(command)
                replies.append(await wire.next(timeout))
                if replies[-1].code >= 400:
                    break
        for stage, reply, ok in zip(stages, replies, ((250,), (250, 251), (354,)), strict=False):
            if reply.code not in ok:
                if replies[-1].code == 354 and not wire.broken:
                    # RFC 2920 3.1: DATA accepted although an earlier command failed: send an
                    # empty message to end it, then reset.
                    wire.write(b".\r\n")
                    await wire.next(timeout)
                await self._end(reply, reset=True)
                if reply.code >= 500 and _about_us(stage, reply.text, reader_utf8=reader_utf8):
                    raise RelayRefused(
                        _relay_refused(self._where, stage, reply, message, mail_from)
                    )
                raise _refusal(message, reply, stage)
        return replies[-1]

    def _address(self, address: str, message: OutgoingMessage) -> tuple[bytes, bytes]:
        """The address as command bytes (plus `` SMTPUTF8`` when needed); refuses injection."""
        if _UNSAFE.search(address):
            # Our own check, before any command is written: the row is at fault, so this is
            # never the recipient's permanent failure (see workers._refused_by_us).
            raise RefusedBeforeSending(
                f"{address!r}: control characters or angle brackets in an address",
                recipient=message.email,
                code=553,
                reply="5.1.3 address refused by digestmail",
            )
        try:
            return b"<" + address.encode("ascii") + b">", b""
        except UnicodeEncodeError:
            if not self._utf8:
                raise DeliveryError(
                    f"{address}: a non-ASCII address needs SMTPUTF8, which the server lacks",
                    recipient=message.email,
                    code=553,
                    reply="5.6.7 SMTPUTF8 not offered by the server",
                ) from None
            return b"<" + address.encode("utf-8") + b">", b" SMTPUTF8"

    async def _body(self, data: bytes, gate: Gate | None) -> Reply:
        """Write the already wire-ready body, pass the gate, write the final dot, read the reply.

        The server delivers nothing before it reads the dot, so whatever the gate waits for
        overlaps with the transfer of the body instead of delaying the transaction.
        """
        if data.startswith(b".") or _DOT_AFTER_NEWLINE.search(data):
            data = _LEADING_DOT.sub(b"..", data)
        end = b".\r\n" if data.endswith(b"\r\n") else b"\r\n.\r\n"
        waiting = gate() if gate is not None else None
        if waiting is None:
            self._wire.write(data, end)
        else:
            self._wire.write(data)
            try:
                await waiting
            except BaseException:
                self._wire.close()  # never send the dot: the server then delivers nothing
                raise
            self._wire.write(end)
        return await self._wire.next(self._timeout)

    async def _end(self, reply: Reply, *, reset: bool) -> None:
        """End a refused transaction (RSET) unless the server is closing the session."""
        if reply.code == _CLOSING:
            self._wire.close()
        elif reset and not self._wire.broken:
            self._wire.write(b"RSET\r\n")
            if (await self._wire.next(self._timeout)).code != 250:
                self._wire.close()

    async def close(self) -> None:
        if self.usable:
            with contextlib.suppress(ConnectionError, TimeoutError):
                self._wire.write(b"QUIT\r\n")
                await self._wire.next(min(self._timeout or 5.0, 5.0))
        self._wire.close()


def _refusal(message: OutgoingMessage, reply: Reply, stage: str) -> DeliveryError:
    return DeliveryError(
        f"{message.email}: {stage} refused: {reply.code} {reply.text}",
        recipient=message.email,
        code=reply.code,
        reply=reply.text,
    )


def _about_us(stage: str, text: str, *, reader_utf8: bool) -> bool:
    """A 5xx that refuses the relay's service to us, whoever the reader: any refusal of MAIL
    FROM (unless SMTPUTF8 was asked for this reader), and a RCPT answered in the relay's own
    "I do not relay for you" words (not a remote server's reply it quotes: "... said: ...")."""
    if stage == "MAIL FROM":
        return not reader_utf8
    return stage == "RCPT TO" and bool(_RELAY_DENIED.search(text)) and "said:" not in text


def _relay_refused(
    where: str, stage: str, reply: Reply, message: OutgoingMessage, mail_from: bytes
) -> str:
    text = _masked(reply.text, message.email)
    if stage == "MAIL FROM":
        sender = _masked(mail_from.decode("utf-8", "replace"), message.email)
        return (
            f"{where} refused the envelope sender {sender} (MAIL FROM): {reply.code} {text}; "
            "send from an address its account may use (the list's from, or "
            "inbox.bounce_address)"
        )
    return (
        f"{where} does not relay for us (RCPT TO): {reply.code} {text}; check its username "
        "and password, port and security"
    )


def _masked(text: str, email: str) -> str:
    """A server's reply as an error may show it: without the reader's address and without
    the VERP token of our envelope sender (a token names a reader and could forge a bounce)."""
    text = text.replace(f"<{email}>", "<...>").replace(email, "...")
    return _VERP_TOKEN_TEXT.sub("+...@", text)
