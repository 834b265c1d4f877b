"""One wire-ready message per recipient from a rendered issue: headers, bodies, tokens."""

from __future__ import annotations

from typing import TYPE_CHECKING

from digestmail.exports import lazy_exports

if TYPE_CHECKING:
    from digestmail.message.factory import MessageFactory
    from digestmail.message.unsubscribe import (
        secret_from_env,
        unsubscribe_token,
        verify_unsubscribe_token,
    )

__all__ = [
    "MessageFactory",
    "secret_from_env",
    "unsubscribe_token",
    "verify_unsubscribe_token",
]

__getattr__ = lazy_exports(
    __name__,
    {
        "MessageFactory": "factory",
        "secret_from_env": "unsubscribe",
        "unsubscribe_token": "unsubscribe",
        "verify_unsubscribe_token": "unsubscribe",
    },
)
