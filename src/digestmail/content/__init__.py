"""Reading a Hugo site's content as Hugo does: posts with their dates, permalinks and summaries."""

from __future__ import annotations

from typing import TYPE_CHECKING

from digestmail.exports import lazy_exports

if TYPE_CHECKING:
    from digestmail.content.reader import ContentResult, iter_content_files, load_posts

__all__ = [
    "ContentResult",
    "iter_content_files",
    "load_posts",
]

__getattr__ = lazy_exports(
    __name__,
    {
        "ContentResult": "reader",
        "iter_content_files": "reader",
        "load_posts": "reader",
    },
)
