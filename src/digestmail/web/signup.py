"""Double opt-in sign-up: ``POST subscribe`` mails a link, ``POST confirm`` subscribes.

The answer to a sign-up is the same "please confirm" whatever the address's state (already
subscribed, unsubscribed, limited, caught by the honeypot), so the form cannot be used to learn
who is on a list. Only what the sender could see anyway is reported: a malformed address or an
unknown list (400), too many requests from their own IP (429).

Nothing is stored until the reader confirms: the link's token carries the request (see
:mod:`digestmail.message.signup`). ``GET confirm`` only shows a button, because mail scanners
open links; its ``POST`` records the consent and lifts the suppressions the reader outgrew.
"""

from __future__ import annotations

import logging
import re
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from email_validator import EmailNotValidError
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from digestmail.addresses import normalise
from digestmail.deliver.transports.smtp import envelope_sender
from digestmail.errors import DeliveryError, TransportError
from digestmail.ledger.audience import Subscription
from digestmail.ledger.store import Ledger
from digestmail.message.signup import (
    ConfirmationText,
    SignUp,
    confirm_token,
    confirmation_message,
    verify_confirm_token,
)
from digestmail.web.clients import client_ip
from digestmail.web.context import WebContext
from digestmail.web.guards import read_form
from digestmail.web.pages import HEADERS, Form, Page, respond
from digestmail.web.unsubscribe import invalid_link

log = logging.getLogger("digestmail.web")

HONEYPOTS = ("website", "honeypot")
"""Hidden fields people never fill in and form-filling bots do."""

MAX_NAME = 200
_CONTROL = re.compile(r"[\x00-\x1f\x7f]+")


def _wants_json(request: Request) -> bool:
    return "application/json" in request.headers.get("accept", "")


def _answer(request: Request, ctx: WebContext, *, status: int = 200, error: str = "") -> Response:
    """The same-shaped answer for every outcome: JSON when asked for, else a page."""
    words = ctx.labels
    if _wants_json(request):
        body: dict[str, Any] = {"status": "pending"} if status == 200 else {"error": error}
        return JSONResponse(body, status_code=status, headers=dict(HEADERS))
    if status == 200:
        page = Page(ctx.language, words["pending_title"], [words["pending_text"]])
    elif status == 429:
        page = Page(ctx.language, words["busy_title"], [words["busy_text"]])
    else:
        page = Page(ctx.language, words["bad_request_title"], [words[error]])
    return respond(page, status=status)


def _request_of(form: FormData, ctx: WebContext) -> SignUp | str:
    """The sign-up the form asks for, or the label key of what is wrong with it."""
    try:
        email = normalise(str(form.get("email", "")).strip())
    except EmailNotValidError:
        return "bad_email"
    lists = tuple(dict.fromkeys(str(v) for v in form.getlist("list")))
    if not lists and len(ctx.config.lists) == 1:
        lists = tuple(ctx.config.lists)
    if not lists or any(ctx.list_cfg(key) is None for key in lists):
        return "bad_list"
    name = _CONTROL.sub(" ", str(form.get("name", ""))).strip()[:MAX_NAME]
    return SignUp(email, lists, name, datetime.now(UTC))


async def subscribe(request: Request) -> Response:
    """``POST subscribe``: one confirmation mail, within the limits; the same answer always."""
    ctx: WebContext = request.app.state.ctx
    form = await read_form(request)
    if form is None:
        return _answer(request, ctx, status=400, error="bad_email")
    wanted = _request_of(form, ctx)
    if isinstance(wanted, str):
        return _answer(request, ctx, status=400, error=wanted)
    if any(str(form.get(field, "")) for field in HONEYPOTS):
        log.info("sign-up ignored: honeypot filled (address %s)", ctx.hashed(wanted.email))
        return _answer(request, ctx)
    peer = request.client.host if request.client else None
    ip = client_ip(peer, request.headers.get("x-forwarded-for"), ctx.trusted)
    if not ctx.per_ip.allow(ip):
        return _answer(request, ctx, status=429, error="busy_text")
    if not ctx.per_address.allow(wanted.email.casefold()):
        log.info("sign-up not mailed: address %s over its limit", ctx.hashed(wanted.email))
        return _answer(request, ctx)
    try:
        await _send_confirmation(ctx, wanted)
    except DeliveryError as exc:  # refused by the relay: the answer must not tell
        log.info("confirmation to %s refused: %s", ctx.hashed(wanted.email), exc.code)
    except TransportError as exc:
        log.warning("confirmation mail not sent, transport unavailable: %s", exc)
        return _answer(request, ctx, status=429, error="busy_text")
    return _answer(request, ctx)


async def _send_confirmation(ctx: WebContext, wanted: SignUp) -> None:
    """One mail through the transport of the lists, from the first list's sender."""
    first = ctx.config.lists[wanted.lists[0]]
    words = ctx.labels
    url = ctx.url(f"confirm?token={quote(confirm_token(ctx.secret, wanted), safe='')}")
    text = ConfirmationText(
        subject=words["mail_subject"].format(site_title=ctx.config.site.title),
        body=words["mail_body"].format(
            site_title=ctx.config.site.title,
            list_names=ctx.list_names(wanted.lists),
            days=ctx.config.web.confirm_days,
            url=url,
        ),
    )
    message = confirmation_message(from_addr=first.from_addr, to=wanted.email, text=text)
    connection = await ctx.transport.connect()
    try:
        await connection.send(envelope_sender(first.from_addr), message)
    finally:
        await connection.close()
    log.info("confirmation mailed to %s", ctx.hashed(wanted.email))


def _verified(ctx: WebContext, token: str) -> SignUp | None:
    return verify_confirm_token(ctx.secret, token, valid_for=ctx.confirm_valid_for)


async def confirm_page(request: Request) -> Response:
    """``GET confirm``: what will be subscribed, and a button; nothing changes."""
    ctx: WebContext = request.app.state.ctx
    token = request.query_params.get("token", "")
    wanted = _verified(ctx, token)
    if wanted is None:
        return invalid_link(ctx)
    words = ctx.labels
    page = Page(
        ctx.language,
        words["confirm_title"],
        [words["confirm_question"].format(list_names=ctx.list_names(wanted.lists))],
        form=Form("confirm", words["confirm_button"], [("token", token)]),
    )
    return respond(page)


async def confirm_post(request: Request) -> Response:
    """``POST confirm``: record the consent for each list, then say so."""
    ctx: WebContext = request.app.state.ctx
    form = await read_form(request)
    token = str(form.get("token", "")) if form is not None else ""
    wanted = _verified(ctx, token or request.query_params.get("token", ""))
    if wanted is None:
        return invalid_link(ctx)
    lists = tuple(key for key in wanted.lists if ctx.list_cfg(key) is not None)
    ip = None
    if ctx.config.web.store_ip:
        peer = request.client.host if request.client else None
        ip = client_ip(peer, request.headers.get("x-forwarded-for"), ctx.trusted)
    now = datetime.now(UTC)

    def record(ledger: Ledger) -> None:
        for key in lists:
            item = Subscription(wanted.email, key, wanted.name, wanted.requested_at, now, ip)
            ledger.subscribe(item)

    await ctx.ledger.run(record)
    log.info("sign-up confirmed by %s", ctx.hashed(wanted.email))
    words = ctx.labels
    page = Page(
        ctx.language,
        words["confirmed_title"],
        [words["confirmed_text"].format(list_names=ctx.list_names(lists))],
    )
    return respond(page)
