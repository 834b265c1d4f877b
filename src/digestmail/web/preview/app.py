"""The preview app: the page, the email frame, the version the page polls, the test-copy form.

One rendering is kept at a time. :mod:`.watch` makes a new one in a worker thread after a save
and bumps the version; the page sees the new version on its next poll and reloads. Nothing
here writes the list's deliveries: test copies are recorded under ``<issue>#test`` only, as
``send --to`` records them.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse, Response
from starlette.routing import Route

from digestmail.deliver.send import DeliveryReport
from digestmail.errors import DigestmailError
from digestmail.web.preview.build import Preview, PreviewSettings, build_preview
from digestmail.web.preview.page import dark_html, render_page, spam_html
from digestmail.web.preview.spam import score_message, spamassassin
from digestmail.web.preview.watch import watch_paths, watch_project

log = logging.getLogger("digestmail.preview")

NO_STORE = {"Cache-Control": "no-store"}
FRAME_HEADERS = {
    **NO_STORE,
    # The email may not run script or reach the page; images and links are the reader's.
    "Content-Security-Policy": "script-src 'none'; frame-ancestors 'self'",
}


@dataclass
class PreviewState:
    """The current rendering, and how to make the next one."""

    settings: PreviewSettings
    preview: Preview = field(init=False)
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    spam: dict[int, str] = field(default_factory=dict)
    """SpamAssassin's section per version (only the current one is kept)."""

    def __post_init__(self) -> None:
        self.preview = build_preview(self.settings, version=1)

    async def rebuild(self) -> Preview:
        async with self.lock:
            version = self.preview.version + 1
            self.preview = await asyncio.to_thread(build_preview, self.settings, version)
            log.info("re-rendered in %.0f ms (version %d)", self.preview.seconds * 1000, version)
        return self.preview


def _state(request: Request) -> PreviewState:
    state: PreviewState = request.app.state.preview
    return state


async def page(request: Request) -> Response:
    return HTMLResponse(render_page(_state(request).preview), headers=NO_STORE)


async def email(request: Request) -> Response:
    html = _state(request).preview.html
    if request.query_params.get("dark"):
        html = dark_html(html)
    return HTMLResponse(html, headers=FRAME_HEADERS)


async def version(request: Request) -> Response:
    return PlainTextResponse(str(_state(request).preview.version), headers=NO_STORE)


async def spam(request: Request) -> Response:
    """SpamAssassin's score and rules for the current sample message, scored once per version."""
    state = _state(request)
    preview = state.preview
    html = state.spam.get(preview.version)
    if html is None:
        program = spamassassin()
        if not preview.ok or not preview.message:
            html = spam_html(None, problem="nothing to score: fix the errors first")
        elif program is None:
            html = spam_html(None)
        else:
            try:
                report = await asyncio.to_thread(score_message, preview.message, program)
                html = spam_html(report)
            except (OSError, ValueError) as exc:
                html = spam_html(None, problem=f"spamassassin failed: {exc}")
        state.spam = {preview.version: html}
    return HTMLResponse(html, headers=NO_STORE)


async def test_copy(request: Request) -> Response:
    """``send --to`` for one address of ``preview.test_addresses``; anyone else is refused."""
    state = _state(request)
    preview = state.preview
    origin = request.headers.get("origin")
    if origin and origin.rstrip("/") != f"{request.url.scheme}://{request.url.netloc}":
        return PlainTextResponse("refused: a form of another site\n", status_code=403)
    form = await request.form()
    address = str(form.get("address", "")).strip().lower()
    if not preview.ok or preview.issue is None or preview.config is None:
        return _notice(preview, "nothing to send: fix the errors first", 409)
    if address not in preview.test_addresses:
        allowed = ", ".join(preview.test_addresses) or "none are set"
        text = f"refused: {address or '(empty)'} is not in preview.test_addresses ({allowed})"
        return _notice(preview, text, 403)
    try:
        report = await _send_test_copy(preview, state.settings.list_key, address)
    except DigestmailError as exc:
        return _notice(preview, f"not sent: {exc}", 502)
    if report.exit_code:
        return _notice(preview, f"not sent to {address}: see the terminal's log", 502)
    return _notice(preview, f"test copy sent to {address}", 200)


def _notice(preview: Preview, text: str, status: int) -> Response:
    return HTMLResponse(render_page(preview, notice=text), status_code=status, headers=NO_STORE)


async def _send_test_copy(preview: Preview, list_key: str, address: str) -> DeliveryReport:
    from digestmail.app.issues import send_issue_to_list
    from digestmail.deliver import SendJob
    from digestmail.ledger import Ledger

    assert preview.config is not None and preview.issue is not None
    config = preview.config
    list_cfg = config.get_list(list_key)
    with Ledger.open(config.state.path) as ledger:
        job = SendJob(config, list_cfg, preview.issue, ledger, test_addresses=(address,))
        return await send_issue_to_list(job)


def create_preview_app(settings: PreviewSettings, *, watch: bool = True) -> Starlette:
    """The preview for ``settings``; with ``watch``, a save re-renders it (:mod:`.watch`)."""
    state = PreviewState(settings)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        task = None
        if watch:
            task = asyncio.create_task(watch_project(watch_paths(state), state.rebuild))
        try:
            yield
        finally:
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task

    app = Starlette(
        routes=[
            Route("/", page, methods=["GET"]),
            Route("/email.html", email, methods=["GET"]),
            Route("/version", version, methods=["GET"]),
            Route("/spam", spam, methods=["GET"]),
            Route("/test-copy", test_copy, methods=["POST"]),
        ],
        lifespan=lifespan,
    )
    app.state.preview = state
    return app
