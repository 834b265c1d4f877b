"""The per-issue DKIM template signs byte for byte what the reference path signs.

The reference (:meth:`DkimSigner.prepare`) parses the finished message and canonicalises all of
it; the template canonicalises the constant pieces once. Both must give identical signing
inputs, tags and so signatures (RSA PKCS#1 v1.5 and Ed25519 are deterministic), and dkimpy
must accept the result, for the awkward cases too.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

import pytest

from digestmail.message.dkim import DkimSigner, SigningKey
from digestmail.message.dkim_keys import dns_record, generate
from digestmail.message.dkim_template import SigningTemplate, relaxed_line, relaxed_lines
from digestmail.message.factory import MessageFactory
from digestmail.models import Issue, Recipient
from digestmail.render import placeholders
from tests.message.test_dkim import dkim_config, make_keys, verify_all

STAMP = 1_700_000_000
VARIABLE = ("date", "to", "message-id", "list-unsubscribe")
HEAD = (
    b"From: Tipps <tipps@example.org>\r\n"
    b"Subject: =?utf-8?q?Veranstaltungstipps_=E2=80=93?=\r\n =?utf-8?q?_November?=  \t \r\n"
    b'List-Id: "A  \tB" <monthly.example.org>\r\n'
    b"Precedence: bulk\r\n"
    b"MIME-Version: 1.0\r\n"
    b'Content-Type: multipart/alternative;\r\n boundary="=_dm_x"\r\n'
    b"List-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n"
)
NOW = datetime(2017, 12, 1, 8, 0, tzinfo=UTC)
LONG_NAME = "Dr. Änna-Marie Müller-Lüdenscheidt von und zu Überlingen am Bodensee, Jr."


@pytest.fixture(scope="module")
def keys() -> list[SigningKey]:
    return [
        SigningKey("rsa-sha256", "sel", generate("rsa-sha256")),
        SigningKey("ed25519-sha256", "sel-ed25519", generate("ed25519-sha256")),
    ]


def records_of(keys: Sequence[SigningKey]) -> dict[str, str]:
    return {k.selector: dns_record(k.key) for k in keys}


def lines_for(to: bytes) -> tuple[bytes, ...]:
    return (
        b"Date: Fri, 01 Dec 2017 09:00:00 +0100\r\n",
        to,
        b"Message-ID: <i.abc@example.org>\r\n",
        b"List-Unsubscribe: <mailto:a@example.org?subject=unsubscribe>,\r\n"
        b" <https://example.org/u?t=1>\r\n",
    )


def assemble(
    head: bytes, lines: Sequence[bytes], body: Sequence[bytes], values: Sequence[bytes]
) -> bytes:
    out = [lines[0], head, *lines[1:], b"\r\n", body[0]]
    for value, piece in zip(values, body[1:], strict=True):
        out += [value, piece]
    return b"".join(out)


def check_same(
    keys: list[SigningKey],
    body: Sequence[bytes],
    values: Sequence[bytes],
    *,
    head: bytes = HEAD,
    to: bytes = b"To: Anna <anna@example.org>\r\n",
    verify: bool = True,
) -> SigningTemplate:
    """The template's and the reference's signed messages are the same bytes, and verify."""
    signer = DkimSigner("example.org", keys, clock=lambda: STAMP)
    template = SigningTemplate(signer, head=head, variable=VARIABLE, body=body)
    lines = lines_for(to)
    data = assemble(head, lines, body, values)
    fast = template.prepare(data, lines, values)
    reference = signer.prepare(data)
    assert fast == reference
    signed = fast.finish(signer.signatures(fast))
    assert signed == signer.sign(data)
    if verify:
        assert verify_all(signed, records_of(keys)) == [True, True]
    return template


BODIES = {
    "plain": (["--b\r\nHallo \r\n", "!\r\nmid\r\n", "end\r\n"], [b"Anna=\r\n", b"x\r\n"]),
    "tabs and trailing whitespace in the pieces": (
        ["a\t b  \r\n \r\n\t\r\n", "\tc \t\r\n  \r\n", "end  \t\r\n"],
        [b"v\r\n", b"w\r\n"],
    ),
    "tabs and runs in the values": (
        ["a\r\n", "b\r\n", "c\r\n"],
        [b"  lead  \t\r\n\t\r\n", b"x \t y \r\n"],
    ),
    "empty lines at the end": (["a\r\n", "end\r\n\r\n \r\n\t\r\n\r\n"], [b"\r\n\r\n"]),
    "empty values": (["a\r\n", "b\r\n", "c\r\n"], [b"", b""]),
    "no holes": (["only  one\t piece \r\n\r\n"], []),
}


@pytest.mark.parametrize("case", BODIES, ids=list(BODIES))
def test_body_pieces_sign_like_the_reference(keys: list[SigningKey], case: str) -> None:
    body, values = BODIES[case]
    template = check_same(keys, [p.encode() for p in body], values)
    assert template.usable


@pytest.mark.parametrize(
    ("body", "values"),
    [
        (["a\r\n", "\r\n \r\n"], [b"end\r\n"]),  # the end is empty lines: they reach into a value
        (["a", "b\r\n"], [b"x\r\n"]),  # a piece that does not end its line
        (["a\r\n", "no final line break"], [b"x\r\n"]),
    ],
)
def test_pieces_that_break_the_rules_take_the_reference_path(
    keys: list[SigningKey], body: list[str], values: list[bytes]
) -> None:
    template = check_same(keys, [p.encode() for p in body], values)
    assert not template.usable


def test_a_bare_line_feed_in_a_value_is_treated_like_the_reference(
    keys: list[SigningKey],
) -> None:
    """Never produced (quoted-printable has none), and not verifiable: SMTP clients turn a bare
    LF into CRLF on the wire. Both paths must still agree."""
    template = check_same(keys, [b"a\r\n", b"b\r\n"], [b"x \n y  \r\n"], verify=False)
    assert template.usable


def test_a_value_that_does_not_end_its_line_takes_the_reference_path(
    keys: list[SigningKey],
) -> None:
    template = check_same(keys, [b"a\r\n", b"b\r\n"], [b"half a line "])
    assert template.usable  # only that message went the slow way


@pytest.mark.parametrize(
    "to",
    [
        b"To: =?utf-8?q?Dr=2E_=C3=84nna-Marie_M=C3=BCller-L=C3=BCdenscheidt_von?=\r\n"
        b" =?utf-8?q?_und_zu_=C3=9Cberlingen?=\r\n\t =?utf-8?q?_am_Bodensee?=\r\n"
        b"  <anna@example.org>\r\n",
        b"To:   Anna \t  Maria  <anna@example.org>   \r\n",
        b"To: a\x0bb <anna@example.org>\r\n",  # VT is no whitespace to DKIM: the regex path
        b"TO:anna@example.org\r\n",
    ],
)
def test_recipient_header_lines_sign_like_the_reference(keys: list[SigningKey], to: bytes) -> None:
    check_same(keys, [b"a\r\n", b"b\r\n"], [b"x\r\n"], to=to)


def test_a_header_twice_takes_the_reference_path(keys: list[SigningKey]) -> None:
    head = HEAD + b"Subject: second\r\n"
    template = check_same(keys, [b"a\r\n", b"b\r\n"], [b"x\r\n"], head=head)
    assert not template.usable


def test_the_signature_header_is_canonical_as_the_reference_has_it(
    keys: list[SigningKey],
) -> None:
    from digestmail.message.dkim import relaxed_header

    signer = DkimSigner("example.org", keys, clock=lambda: STAMP)
    unsigned = signer.prepare(assemble(HEAD, lines_for(b"To: a@example.org\r\n"), [b"x\r\n"], []))
    for tags, signed in zip(unsigned.tags, unsigned.inputs, strict=True):
        assert signed.endswith(relaxed_header(b"DKIM-Signature", tags)[:-2])
        assert b"\r\n\tbh=" in tags and tags.endswith(b";\r\n\tb=")


def test_relaxed_helpers_match_the_reference_forms() -> None:
    from digestmail.message.dkim import relaxed_body, relaxed_header

    chunk = b"a  b\t\r\n \r\n\t x \r\n"
    assert relaxed_lines(chunk) + b"end\r\n" == relaxed_body(chunk + b"end\r\n")
    assert relaxed_lines(b"") == b""
    line = b"Subject: Hallo  \t Welt \r\n\tzwei  \r\n"
    assert relaxed_line(line) == relaxed_header(b"Subject", b" Hallo  \t Welt \r\n\tzwei  ")


# --- through the factory ------------------------------------------------------------------------

TRICKY_TEXT = (
    f"Hallo {placeholders.Slot.NAME.value},  \n\n"
    "\tEine Zeile mit Tab und Leerzeichen am Ende   \n"
    f"{'Sehr lange Zeile ohne Umbruch ' * 12}\n"
    ". Punkt am Zeilenanfang\n"
    f"Abmelden: {placeholders.Slot.UNSUBSCRIBE_URL.value}\n\n\n\n"
)
TRICKY_HTML = (
    f"<p>Hallo {placeholders.Slot.NAME.value},</p>\n<pre>\tTab  und   Lücken   </pre>\n"
    f'<a href="{placeholders.Slot.UNSUBSCRIBE_URL.value}">Abmelden</a>  \n\n\n'
)
RECIPIENTS = [
    Recipient(email="anna@example.org", name=LONG_NAME),
    Recipient(email="bob@example.net"),
    Recipient(email="o'neil+tag@sub.example.com", name='Dr. "Q" O\'Neil,\tJr.  '),
    Recipient(email="zoe@example.org", name="  Zoë  "),
]


def test_factory_messages_are_identical_to_the_reference_and_verify(tmp_path: Path) -> None:
    records = make_keys(tmp_path)
    config = dkim_config(tmp_path, algorithms=["rsa-sha256", "ed25519-sha256"])
    list_cfg = config.get_list("monthly")
    issue = Issue(
        id="2017-11", list_name="monthly", period="2017-11", subject="Tipps  \t – November",
        html=TRICKY_HTML, text=TRICKY_TEXT,
    )  # fmt: skip
    factory = MessageFactory(issue, config=config, list_cfg=list_cfg, secret="s" * 20)
    signer = factory.signer
    assert signer is not None
    signer.clock = lambda: STAMP
    for recipient in RECIPIENTS:
        message, unsigned = factory.prepare(recipient, now=NOW)
        assert unsigned is not None
        assert unsigned == signer.prepare(message.data)
        signed = factory.build(recipient, now=NOW).data
        assert signed == signer.sign(message.data)
        assert verify_all(signed, records) == [True, True]
