"""One-click unsubscribe (RFC 8058): ``GET`` shows a button, ``POST`` unsubscribes.

Mail scanners and link previews open every link in a message, so ``GET`` never changes
anything: it shows a page whose button POSTs. The ``POST`` (from that button, or straight from
a mail client honouring ``List-Unsubscribe-Post``) carries ``List-Unsubscribe=One-Click`` and
is authorised by the signed token in its URL alone, which also makes it safe against cross-site
requests: nobody can forge a token for someone else's address. The suppression is committed
before the 200 goes out (POSTs arriving together share one commit, :mod:`.batch`); there is
no redirect and no cookie, as RFC 8058 asks.

A token that does not verify (forged, truncated, or made for another list) gets 400 and a plain
page; every valid one gets the same answer whether or not the address was on the list.
"""

from __future__ import annotations

from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import Response

from digestmail.ledger.audience import NewSuppression
from digestmail.message.unsubscribe import verify_unsubscribe_token
from digestmail.web.context import WebContext
from digestmail.web.guards import read_form
from digestmail.web.pages import Form, Page, respond

ONE_CLICK = ("List-Unsubscribe", "One-Click")


def _address(ctx: WebContext, list_key: str, token: str) -> str | None:
    """The address a valid token for an existing list was made for, else None."""
    if not list_key or not token or ctx.list_cfg(list_key) is None:
        return None
    return verify_unsubscribe_token(ctx.secret, list_key, token)


def invalid_link(ctx: WebContext) -> Response:
    words = ctx.labels
    page = Page(ctx.language, words["invalid_title"], [words["invalid_text"]])
    return respond(page, status=400)


async def unsubscribe_page(request: Request) -> Response:
    """``GET``: the question and a button; nothing changes."""
    ctx: WebContext = request.app.state.ctx
    list_key = request.query_params.get("list", "")
    token = request.query_params.get("token", "")
    if _address(ctx, list_key, token) is None:
        return invalid_link(ctx)
    words = ctx.labels
    name = ctx.config.lists[list_key].name
    query = urlencode({"list": list_key, "token": token})
    page = Page(
        ctx.language,
        words["unsubscribe_title"],
        [words["unsubscribe_question"].format(list_name=name)],
        form=Form(f"unsubscribe?{query}", words["unsubscribe_button"], [ONE_CLICK]),
    )
    return respond(page)


async def unsubscribe_post(request: Request) -> Response:
    """``POST`` with ``List-Unsubscribe=One-Click``: suppress, commit, then answer 200."""
    ctx: WebContext = request.app.state.ctx
    list_key = request.query_params.get("list", "")
    token = request.query_params.get("token", "")
    form = await read_form(request)
    email = _address(ctx, list_key, token)
    if email is None or form is None or form.get(ONE_CLICK[0]) != ONE_CLICK[1]:
        return invalid_link(ctx)

    await ctx.suppressions.suppress(NewSuppression(email, list_key, "one-click unsubscribe", "web"))
    words = ctx.labels
    name = ctx.config.lists[list_key].name
    page = Page(
        ctx.language,
        words["unsubscribed_title"],
        [words["unsubscribed_text"].format(list_name=name)],
        after=[words["resubscribe_text"]],
        form_after=Form(
            "subscribe", words["resubscribe_button"], [("email", email), ("list", list_key)]
        ),
    )
    return respond(page)
