"""ASGI middleware around every request: the body size limit and the one-line request log.

Both are plain ASGI (not Starlette's ``BaseHTTPMiddleware``) so they see the raw byte stream:
the size limit stops reading at the limit, whether or not the client sent a Content-Length,
and the log line is written once the response status is known.

The log never holds an address or a token in clear: the path is logged without its query, and
a token or address is shown only as :func:`~.clients.fingerprint` (a short hash keyed
with the secret), enough
to follow one reader through the log without making the log a list of subscribers.
"""

from __future__ import annotations

import logging
import time
from urllib.parse import parse_qs

from starlette.datastructures import FormData
from starlette.exceptions import HTTPException
from starlette.formparsers import MultiPartException
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from digestmail.web.clients import fingerprint

MAX_BODY = 16 * 1024
"""Largest request body taken: a sign-up form is a few hundred bytes."""

MAX_FIELDS = 20
"""Form fields taken per request: the sign-up form has five, a few lists more."""

log = logging.getLogger("digestmail.web")

_TOO_LARGE = b"Request body too large\n"


class BodyLimit:
    """Answers 413 to a request whose body is (or announces to be) over ``limit`` bytes."""

    def __init__(self, app: ASGIApp, limit: int = MAX_BODY) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers", []))
        declared = headers.get(b"content-length", b"")
        if declared.isdigit() and int(declared) > self.limit:
            await _too_large(send)
            return
        received = 0
        started = False

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.limit:
                    raise _BodyTooLarge
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except _BodyTooLarge:
            if not started:
                await _too_large(send)


class _BodyTooLarge(Exception):
    """Raised inside the app's receive when the streamed body passes the limit."""


async def _too_large(send: Send) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [
                (b"content-type", b"text/plain; charset=utf-8"),
                (b"content-length", str(len(_TOO_LARGE)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": _TOO_LARGE})


class RequestLog:
    """One log line per request: method, path, status, time, and hashed token if any."""

    def __init__(self, app: ASGIApp, key: bytes) -> None:
        self.app = app
        self.key = key

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = 500

        async def recording_send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, recording_send)
        finally:
            log.info(
                "%s %s %d %.1fms%s",
                scope["method"],
                scope["path"],
                status,
                (time.perf_counter() - start) * 1000,
                _token_note(scope.get("query_string", b""), self.key),
            )


def _token_note(query: bytes, key: bytes) -> str:
    """`` token=<hash>`` for a request carrying a token, else nothing."""
    values = parse_qs(query.decode("latin-1")).get("token")
    return f" token={fingerprint(values[0], key)}" if values else ""


async def read_form(request: Request) -> FormData | None:
    """The urlencoded or multipart body as fields; None when it cannot be parsed.

    Files are refused (nothing serve takes is a file) and fields capped. Only parse errors are
    caught: the body limit's own exception must reach :class:`BodyLimit` to become a 413.
    """
    try:
        return await request.form(max_files=0, max_fields=MAX_FIELDS, max_part_size=MAX_BODY)
    except (HTTPException, MultiPartException, UnicodeDecodeError, ValueError):
        return None
