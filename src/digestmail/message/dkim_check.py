"""``check`` for ``[dkim]``: the key is usable, the domain aligns, the key matches DNS.

Whether the key matches the published record is decided the way a receiver decides it: a
sample message is signed and dkimpy verifies it against the record, given as text or a file
(there may be no network where ``check`` runs), through a stub resolver.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from digestmail.config import Config
from digestmail.errors import ConfigError, HeaderInjectionError
from digestmail.message.dkim import DkimSigner
from digestmail.message.dkim_keys import aligned, record_tags, signer_for
from digestmail.message.headers import parse_address

_SAMPLE = (
    b"From: check@{domain}\r\nTo: reader@example.net\r\nSubject: digestmail check\r\n"
    b"Date: Mon, 01 Dec 2025 08:00:00 +0000\r\nMessage-ID: <check@{domain}>\r\n"
    b"List-Unsubscribe: <https://example.org/u?t=1>\r\n"
    b"List-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n\r\nHallo.\r\n"
)
_QUOTED = re.compile(r'"((?:[^"\\]|\\.)*)"')


@dataclass
class DkimFindings:
    errors: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def read_records(values: Sequence[str]) -> list[str]:
    """``--dns-record`` values: a record itself, or a file with records (zone-file quoting ok)."""
    records: list[str] = []
    for value in values:
        text = value
        if "=" not in value:
            text = Path(value).read_text(encoding="utf-8")
        if '"' in text:
            text = "".join(_QUOTED.findall(text))
        records += ["v=DKIM1" + part for part in text.split("v=DKIM1")[1:]] or [text]
    return records


def check_dkim(config: Config, records: Sequence[str]) -> DkimFindings:
    found = DkimFindings()
    dkim = config.dkim
    if dkim is None:
        return found
    for list_cfg in config.lists.values():
        try:
            from_domain = parse_address(list_cfg.from_addr)[1].rsplit("@", 1)[1]
        except HeaderInjectionError:
            continue  # the list's own check reports a bad From
        if not aligned(dkim.domain, from_domain):
            found.errors.append(
                f"{config.path}: dkim.domain: {dkim.domain!r} does not align with the From "
                f"domain {from_domain!r} of list {list_cfg.key!r}; set dkim.domain to "
                f"{from_domain!r} (or a parent domain)"
            )
    try:
        signer = signer_for(config)
    except ConfigError as exc:
        found.errors.append(str(exc))
        return found
    assert signer is not None
    _compare(signer, records, found, where=f"{config.path}: dkim")
    return found


def _compare(signer: DkimSigner, records: Sequence[str], found: DkimFindings, where: str) -> None:
    import dkim as dkimpy

    data = signer.sign(_SAMPLE.replace(b"{domain}", signer.domain.encode()))
    checker = dkimpy.DKIM(data)
    for index, key in enumerate(signer.keys):
        kind = "rsa" if key.algorithm.startswith("rsa") else "ed25519"
        name = f"{key.selector}._domainkey.{signer.domain}"
        mine = [r for r in records if record_tags(r).get("k", "rsa") == kind]
        if not records:
            found.notes.append(f"dkim {key.algorithm}: {name} not compared (give --dns-record)")
            continue
        if not mine:
            found.errors.append(f"{where}: no k={kind} record given for {name}")
            continue
        ok = any(_verifies(checker, index, r, dkimpy.DKIMException) for r in mine)
        if not ok:
            found.errors.append(
                f"{where}: the {key.algorithm} key does not match the record given for {name} "
                "(its p= is another key); publish the record digestmail dkim keygen printed"
            )
        else:
            found.notes.append(f"dkim {key.algorithm}: key matches the record for {name}")


def _verifies(checker: object, index: int, record: str, failure: type[Exception]) -> bool:
    try:
        return bool(checker.verify(idx=index, dnsfunc=_stub(record)))  # type: ignore[attr-defined]
    except failure:
        return False


def _stub(record: str) -> Callable[..., bytes]:
    def lookup(name: bytes, timeout: int = 5) -> bytes:
        return record.encode("ascii", "replace")

    return lookup
