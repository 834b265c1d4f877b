"""``digestmail serve``: the reader's side of a list, as a small ASGI app (Starlette).

One-click unsubscribe (RFC 8058) and double opt-in sign-up, answered next to a running send:
both share the ledger. The app is built by :func:`create_app` from the config; ``cli/serve.py``
runs it with uvicorn. Modules:

- :mod:`.app`: the app factory, health check, where the routes are mounted;
- :mod:`.unsubscribe`, :mod:`.signup`: the two flows, one module each;
- :mod:`.pages`: the small HTML pages, in the site's language;
- :mod:`.guards`: request body limit, request log (hashed, never an address or token in clear);
- :mod:`.clients`: the client's IP behind trusted proxies, and the sign-up rate limits;
- :mod:`.context`: what every route needs (config, secret, ledger thread, limits).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from digestmail.exports import lazy_exports

if TYPE_CHECKING:
    from digestmail.web.app import create_app

__all__ = ["create_app"]

__getattr__ = lazy_exports(__name__, {"create_app": "app"})
