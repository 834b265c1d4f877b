"""Email addresses in the one form digestmail sends to, stores and compares.

A leaf: subscribers, headers, the config and the ledger all normalise through here, so none of
them has to import another stage (the CSV reader least of all) to agree on an address.
"""

from __future__ import annotations

import contextlib
import functools
import re

from email_validator import EmailNotValidError, validate_email

from digestmail.errors import UsageError

_ATOM = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
_DOT_ATOM = re.compile(rf"{_ATOM}(?:\.{_ATOM})*\Z")
"""An unquoted ASCII local part: valid as written, and left as written by email-validator."""


def normalise_address(address: str) -> str:
    """The normalised form of one address typed by a person (``unsubscribe ADDRESS``).

    Raises UsageError naming the address when it is not a valid address.
    """
    try:
        return normalise(address.strip())
    except EmailNotValidError as exc:
        raise UsageError(f"{address!r} is not a valid email address: {exc}") from exc


def normalise(address: str) -> str:
    """email-validator's normalised form of ``address``, or its EmailNotValidError.

    Validating costs about 20 µs an address, most of it checking the domain character by
    character; a list has few distinct domains, so for the common shape (plain ASCII local
    part) the domain's verdict is cached and the local part checked with one regex. Anything
    else goes through the full validator, which also words the error messages.
    """
    local, at, domain = address.rpartition("@")
    if at and len(local) <= 64 and len(address) <= 254 and _DOT_ATOM.match(local):
        # A domain the fast path refuses goes through the full validator below, for its message.
        with contextlib.suppress(EmailNotValidError):
            return f"{local}@{_domain(domain.lower())}"
    return ascii_email(address)


def ascii_email(address: str) -> str:
    """``address`` as digestmail sends it: validated, normalised, the domain in IDNA form.

    Raises EmailNotValidError, also for non-ASCII before the ``@`` (that would need SMTPUTF8).
    Used for subscribers, for the config's own addresses and by the ledger's migration, so all
    three agree on one form.
    """
    checked = validate_email(address, check_deliverability=False, allow_smtputf8=False)
    return checked.ascii_email or checked.normalized


@functools.lru_cache(maxsize=4096)
def _domain(domain: str) -> str:
    """The normalised domain in its ASCII form, as email-validator judges it (raises when invalid).

    An internationalised domain (``bücher.example``) is sent as IDNA (``xn--bcher-kva.example``):
    digestmail does not use SMTPUTF8, and every MTA accepts the ASCII form.
    """
    return validate_email(
        f"a@{domain}", check_deliverability=False, allow_smtputf8=False
    ).ascii_domain
