"""The serve app: routes under ``web.base_url``'s path, the guards around them, the health check.

The routes answer both at the base URL's path (``/newsletter/unsubscribe``) and at the root
(``/unsubscribe``), so the reverse proxy may pass the prefix through or strip it. Unknown paths
get Starlette's 404; a method a route does not take, 405.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import BaseRoute, Mount, Route

from digestmail.config import Config
from digestmail.deliver.transports.base import Transport
from digestmail.errors import ConfigError, LedgerError
from digestmail.ledger.thread import ledger_thread_priority
from digestmail.message.unsubscribe import SECRET_ENV
from digestmail.web.context import WebContext
from digestmail.web.guards import MAX_BODY, BodyLimit, RequestLog
from digestmail.web.pages import HEADERS
from digestmail.web.signup import confirm_page, confirm_post, subscribe
from digestmail.web.unsubscribe import unsubscribe_page, unsubscribe_post


async def healthz(request: Request) -> Response:
    """``ok`` when the ledger can be opened and read: what a monitor or systemd should check."""
    ctx: WebContext = request.app.state.ctx
    try:
        await ctx.ledger.run(lambda ledger: ledger.suppressed(["healthz@invalid"], list_key=""))
    except LedgerError:
        return PlainTextResponse("ledger unavailable\n", status_code=503)
    return PlainTextResponse("ok\n", headers={"Cache-Control": "no-store"})


async def _ledger_trouble(request: Request, exc: Exception) -> Response:
    """The ledger stayed locked or broke: ask the client to retry, never claim success."""
    return PlainTextResponse(
        "temporarily unavailable, please try again\n",
        status_code=503,
        headers={**HEADERS, "Retry-After": "30"},
    )


def _routes() -> list[BaseRoute]:
    return [
        Route("/unsubscribe", unsubscribe_page, methods=["GET"]),
        Route("/unsubscribe", unsubscribe_post, methods=["POST"]),
        Route("/subscribe", subscribe, methods=["POST"]),
        Route("/confirm", confirm_page, methods=["GET"]),
        Route("/confirm", confirm_post, methods=["POST"]),
        Route("/healthz", healthz, methods=["GET"]),
    ]


def _default_transport(config: Config) -> Transport:
    from digestmail.deliver.send import make_transport

    return make_transport(config)


def create_app(
    config: Config,
    *,
    secret: str | None,
    make_transport: Callable[[Config], Transport] = _default_transport,
    body_limit: int = MAX_BODY,
) -> Starlette:
    """The ASGI app for ``config``; refuses to start without ``web.base_url`` or the secret."""
    if not config.web.base_url:
        raise ConfigError(
            "missing: digestmail serve needs the URL it is reached at, e.g. "
            'base_url = "https://www.example.org/newsletter/" in [web]',
            path=config.path,
            key="web.base_url",
        )
    if not secret:
        raise ConfigError(
            f"${SECRET_ENV} is not set: serve checks unsubscribe links and signs confirmation "
            "links with it; set it to the same long random string the sends use",
            path=config.path,
            key="web.base_url",
        )
    ctx = WebContext.build(config, secret=secret, make_transport=make_transport)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        with ledger_thread_priority():
            try:
                yield
            finally:
                ctx.ledger.close()

    routes = _routes()
    prefix = ctx.base_path.rstrip("/")
    mounted: list[BaseRoute] = [Mount(prefix, routes=_routes()), *routes] if prefix else routes
    app = Starlette(
        routes=mounted,
        middleware=[
            Middleware(RequestLog, key=ctx.log_key),
            Middleware(BodyLimit, limit=body_limit),
        ],
        exception_handlers={LedgerError: _ledger_trouble},
        lifespan=lifespan,
    )
    app.state.ctx = ctx
    return app
