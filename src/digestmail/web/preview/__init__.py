"""``digestmail preview``: a live local page that shows an issue as its readers will see it.

For editors, on their own machine (127.0.0.1 only). It reuses the app layer to select and render
the issue ``send`` would send now, and never writes the list's deliveries. Modules:

- :mod:`.build`: one rendering of the preview (issue, sample message, rows, checks) or the
  error that stopped it, with file and line;
- :mod:`.page`: the HTML page around it;
- :mod:`.app`: the Starlette app: the page, the email frame, Server-Sent Events that reload
  the page after a save (:mod:`.watch`), the test-copy form.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from digestmail.exports import lazy_exports

if TYPE_CHECKING:
    from digestmail.web.preview.app import create_preview_app
    from digestmail.web.preview.build import PreviewSettings

__all__ = ["PreviewSettings", "create_preview_app"]

__getattr__ = lazy_exports(__name__, {"create_preview_app": "app", "PreviewSettings": "build"})
