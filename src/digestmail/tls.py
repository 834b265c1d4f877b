"""The TLS context of every client connection digestmail opens (SMTP relays, the IMAP inbox).

One rule for both: the system's CA bundle, plus the ``ca_file`` a config names for a private
CA; certificates and host names are verified unless the config says ``verify_tls = false``.
"""

from __future__ import annotations

import ssl
from pathlib import Path


def client_context(
    ca_file: Path | None, *, key: str, error: type[Exception], verify: bool = True
) -> ssl.SSLContext:
    """A verifying client context; ``error`` (naming ``key``) when ``ca_file`` cannot be loaded.

    Make one per server and share it across its connections: the CA bundle is read once.
    """
    context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH)
    if ca_file is not None:
        try:
            context.load_verify_locations(cafile=str(ca_file))
        except (OSError, ssl.SSLError) as exc:
            raise error(f"{key} {ca_file}: cannot load: {exc}") from exc
    if not verify:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context
