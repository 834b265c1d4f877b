"""The SMTP transport: long-lived aiosmtplib connections that each carry many transactions.

aiosmtplib does the parts where mistakes are dangerous: connecting, implicit TLS or a *required*
STARTTLS with certificate checks, EHLO and AUTH. The transaction itself is driven here with
``execute_command`` for MAIL/RCPT/DATA and a direct write of the body after the 354, because
``SMTP.data()`` re-normalises line ends and dot-stuffs every message with two regular
expressions over the whole body. :class:`~digestmail.models.OutgoingMessage` promises CRLF line
ends and no line starting with ``.``, so the bytes can go out as they are; one cheap ``find``
per message checks that promise and falls back to stuffing if it was ever broken.
"""

from __future__ import annotations

import re
import ssl
from email.utils import parseaddr

import aiosmtplib
from aiosmtplib import SMTPResponse

from digestmail.config import SmtpConfig
from digestmail.errors import DeliveryError, TransportError
from digestmail.models import OutgoingMessage
from digestmail.transport import Connection, SendResult

_LEADING_DOT = re.compile(rb"(?m)^\.")
_CLOSING = 421


def envelope_sender(from_header: str) -> str:
    """The bare address of a list's ``from`` ("Tipps <tipps@example.org>" -> the address)."""
    return parseaddr(from_header)[1]


def build_tls_context(cfg: SmtpConfig) -> ssl.SSLContext:
    """One context for the whole pool: the CA bundle is read once, not per connection."""
    context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH)
    if cfg.ca_file is not None:
        try:
            context.load_verify_locations(cafile=str(cfg.ca_file))
        except (OSError, ssl.SSLError) as exc:
            raise TransportError(f"smtp.ca_file {cfg.ca_file}: cannot load: {exc}") from exc
    if not cfg.verify_tls:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context


class SmtpTransport:
    """Opens authenticated, encrypted (as configured) connections to the relay."""

    def __init__(self, cfg: SmtpConfig, *, local_hostname: str | None = None) -> None:
        self.cfg = cfg
        self._local_hostname = local_hostname
        self._tls: ssl.SSLContext | None = None

    @property
    def max_connections(self) -> int:
        return self.cfg.connections

    @property
    def where(self) -> str:
        return f"{self.cfg.host}:{self.cfg.port} (smtp.security = {self.cfg.security})"

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
        except aiosmtplib.SMTPAuthenticationError as exc:
            client.close()
            raise TransportError(
                f"{self.where}: authentication as smtp.username {cfg.username!r} refused "
                f"({exc.code} {exc.message}); check the password in ${cfg.password_env}"
            ) from exc
        except ssl.SSLCertVerificationError as exc:
            client.close()
            raise TransportError(
                f"{self.where}: the server's certificate is not trusted ({exc.verify_message}); "
                "set smtp.ca_file to its CA, or smtp.verify_tls = false for a test relay"
            ) from exc
        except (aiosmtplib.SMTPException, OSError) as exc:
            client.close()
            raise TransportError(f"{self.where}: cannot connect: {exc}") from exc
        return SmtpConnection(client, timeout=cfg.timeout or None)


class SmtpConnection:
    """One open SMTP session; sends transactions back to back (MAIL again after a 250)."""

    def __init__(self, client: aiosmtplib.SMTP, *, timeout: float | None) -> None:
        self._client = client
        self._timeout = timeout
        self._utf8 = client.supports_extension("smtputf8")

    @property
    def usable(self) -> bool:
        return self._client.is_connected

    async def send(self, sender: str, message: OutgoingMessage) -> SendResult:
        client = self._client
        try:
            mail_from, options = self._address(sender, message)
            rcpt_to, _ = self._address(message.email, message)
            reply = await client.execute_command(b"MAIL", b"FROM:<" + mail_from + b">", *options)
            if reply.code != 250:
                await self._refused(message, reply, "MAIL FROM")
            reply = await client.execute_command(b"RCPT", b"TO:<" + rcpt_to + b">")
            if reply.code not in (250, 251):
                await self._refused(message, reply, "RCPT TO")
            reply = await client.execute_command(b"DATA")
            if reply.code != 354:
                await self._refused(message, reply, "DATA")
            reply = await self._body(message.data)
            if reply.code != 250:
                await self._refused(message, reply, "end of data")
        except (aiosmtplib.SMTPServerDisconnected, aiosmtplib.SMTPTimeoutError, OSError) as exc:
            client.close()
            raise DeliveryError(
                f"{message.email}: connection lost during the transaction: {exc}",
                recipient=message.email,
            ) from exc
        return SendResult(reply.code, reply.message)

    def _address(self, address: str, message: OutgoingMessage) -> tuple[bytes, tuple[bytes, ...]]:
        try:
            return address.encode("ascii"), ()
        except UnicodeEncodeError:
            if not self._utf8:
                raise DeliveryError(
                    f"{address}: a non-ASCII address needs SMTPUTF8, which the server lacks",
                    recipient=message.email,
                    code=553,
                    reply="5.6.7 SMTPUTF8 not offered by the server",
                ) from None
            return address.encode("utf-8"), (b"SMTPUTF8",)

    async def _body(self, data: bytes) -> SMTPResponse:
        """Write the already wire-ready body plus the terminating dot, then read the reply."""
        protocol = self._client.protocol
        if protocol is None:
            raise aiosmtplib.SMTPServerDisconnected("connection lost before the body")
        if data.startswith(b".") or data.find(b"\n.") != -1:
            data = _LEADING_DOT.sub(b"..", data)
        protocol.write(data)
        protocol.write(b".\r\n" if data.endswith(b"\r\n") else b"\r\n.\r\n")
        return await protocol.read_response(timeout=self._timeout)

    async def _refused(self, message: OutgoingMessage, reply: SMTPResponse, stage: str) -> None:
        """End the failed transaction (RSET) unless the server is closing, and report it."""
        if reply.code == _CLOSING:
            self._client.close()
        elif self._client.is_connected and stage != "end of data":
            try:
                await self._client.rset()
            except aiosmtplib.SMTPException:
                self._client.close()
        raise DeliveryError(
            f"{message.email}: {stage} refused: {reply.code} {reply.message}",
            recipient=message.email,
            code=reply.code,
            reply=reply.message,
        )

    async def close(self) -> None:
        client = self._client
        if client.is_connected:
            try:
                await client.quit(timeout=min(self._timeout or 5.0, 5.0))
            except (aiosmtplib.SMTPException, OSError):
                client.close()
