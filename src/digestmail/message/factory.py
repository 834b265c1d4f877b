"""One recipient's message from a rendered issue: precompute once, splice per recipient.

Everything that is the same for all recipients (MIME structure, fixed headers, both bodies encoded
as quoted-printable and cut at the recipient tokens) is built once in :class:`MessageFactory`.
``build`` then only encodes the few recipient values and joins bytes, which keeps it at tens of
thousands of messages per second.

The bytes are written by hand rather than by the ``email`` package (see :mod:`.headers`)
and keep :class:`~digestmail.models.OutgoingMessage`'s promise: CRLF line ends, no line over 76
octets, no line starting with ``.`` (quoted-printable writes it as ``=2E``).
"""

from __future__ import annotations

import copy
import dataclasses
import hashlib
import html
import re
from collections.abc import Callable
from datetime import UTC, datetime
from email.utils import format_datetime
from urllib.parse import quote, urlsplit

from digestmail.config import Config, ListConfig
from digestmail.errors import ConfigError, HeaderInjectionError
from digestmail.header_values import check_header_value
from digestmail.message.dkim import DkimSigner, Unsigned
from digestmail.message.dkim_keys import check_alignment, signer_for
from digestmail.message.dkim_template import SigningTemplate
from digestmail.message.headers import (
    ascii_address,
    check_address,
    encode_phrase,
    encode_word,
    fold,
    format_address,
    parse_address,
)
from digestmail.message.quoted_printable import encode_qp, encode_qp_value
from digestmail.message.unsubscribe import SECRET_ENV, unsubscribe_token
from digestmail.message.verp import verp_address, verp_token
from digestmail.models import Issue, OutgoingMessage, Recipient
from digestmail.render import placeholders

_ID_UNSAFE = re.compile(r"[^A-Za-z0-9-]+")
_URL_UNSAFE = re.compile(r"[^\x21-\x7e]|[<>\"]")
_ONE_CLICK = b"List-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n"
VARIABLE_HEADERS = ("date", "to", "message-id", "list-unsubscribe")
"""The header lines that differ per recipient (or per second), in :meth:`MessageFactory.build`'s
order; the rest are the same for the whole issue."""


class _Body:
    """One MIME part's body, quoted-printable, cut where recipient values go."""

    __slots__ = ("fixed", "holes")

    def __init__(self, text: str) -> None:
        text = placeholders.without_markers(text.replace("\r\n", "\n"))
        pieces = placeholders.SLOT_PATTERN.split(text)
        self.holes = tuple(placeholders.SLOT_PATTERN.findall(text))
        self.fixed = tuple(encode_qp(p) for p in pieces)

    def columns(self) -> set[str]:
        """The subscriber CSV columns this body uses."""
        return {c for c in map(placeholders.field_of, self.holes) if c is not None}

    def url_holes(self) -> set[str]:
        """The tokens this body wants percent-encoded (``| urlencode`` in the theme)."""
        return {h for h in self.holes if placeholders.is_url_encoded(h)}

    def join(self, values: dict[str, bytes], out: list[bytes]) -> None:
        fixed = self.fixed
        out.append(fixed[0])
        for i, hole in enumerate(self.holes, 1):
            out.append(values[hole])
            out.append(fixed[i])


class MessageFactory:
    """Builds every recipient's message of one issue; construct once, call :meth:`build` often."""

    def __init__(
        self, issue: Issue, *, config: Config, list_cfg: ListConfig, secret: str | None
    ) -> None:
        self.issue = issue
        self.list_cfg = list_cfg
        self._tz = config.site.timezone
        self._secret = secret
        key = f"lists.{list_cfg.key}"
        try:
            from_name, from_addr = parse_address(list_cfg.from_addr, what=f"{key}.from")
            reply_to = (
                format_address(*parse_address(list_cfg.reply_to, what=f"{key}.reply_to"))
                if list_cfg.reply_to
                else ""
            )
            mailto_key = f"{key}.unsubscribe_mailto"
            mailto = check_address(
                mailto_key,
                ascii_address(mailto_key, list_cfg.unsubscribe_mailto.strip() or from_addr),
            )
            subject = encode_word(check_header_value("Subject", issue.subject))
        except HeaderInjectionError as exc:
            text = str(exc)  # names the exact key ("lists.monthly.from: ...") when it knows it
            where = None if text.startswith(f"{key}.") else key
            raise ConfigError(text, path=config.path, key=where) from exc
        self._domain = from_addr.rsplit("@", 1)[1]
        check_alignment(config, list_cfg.key, self._domain)
        self._mailto = f"mailto:{mailto}?subject=unsubscribe"
        self._url_template = self._check_url(*_unsubscribe_template(config, list_cfg), config)
        self._bounce_address = self._check_bounce_address(config)
        self._id_left = _ID_UNSAFE.sub("-", issue.id).strip("-") or "issue"
        self._id_scope = ""

        boundary = "=_dm_" + hashlib.sha256(issue.html.encode("utf-8")).hexdigest()[:24]
        fixed = [
            fold("From", format_address(from_name, from_addr)),
            fold("Subject", subject),
        ]
        if reply_to:
            fixed.append(fold("Reply-To", reply_to))
        fixed += [
            fold("List-Id", f"{encode_phrase(list_cfg.name)} <{self._list_id()}>".strip()),
            "Precedence: bulk\r\n",
            "MIME-Version: 1.0\r\n",
            f'Content-Type: multipart/alternative;\r\n boundary="{boundary}"\r\n',
        ]
        self._fixed_headers = "".join(fixed).encode("ascii")
        self._text_head = (
            f"\r\n--{boundary}\r\n"
            "Content-Type: text/plain; charset=utf-8\r\n"
            "Content-Transfer-Encoding: quoted-printable\r\n\r\n"
        ).encode("ascii")
        self._html_head = (
            f"\r\n--{boundary}\r\n"
            "Content-Type: text/html; charset=utf-8\r\n"
            "Content-Transfer-Encoding: quoted-printable\r\n\r\n"
        ).encode("ascii")
        self._close = f"\r\n--{boundary}--\r\n".encode("ascii")
        self._text = _Body(issue.text)
        self._html = _Body(issue.html)
        self._columns = tuple(sorted(self._text.columns() | self._html.columns()))
        self._text_url_holes = frozenset(self._text.url_holes())
        self._html_url_holes = frozenset(self._html.url_holes())
        self._date_cache: tuple[int, bytes] = (-1, b"")
        signer = signer_for(config)
        self._template = None if signer is None else self._signing_template(signer)

    def _signing_template(self, signer: DkimSigner) -> SigningTemplate:
        """The DKIM work that is the same for every recipient: constant headers, body pieces."""
        body = [self._text_head[2:]]  # [2:]: that CRLF is the blank line that ends the head
        for part, after in ((self._text, self._html_head), (self._html, self._close)):
            body[-1] += part.fixed[0]
            for piece in part.fixed[1:]:
                body.append(piece)  # a recipient's value goes before each further piece
            body[-1] += after
        one_click = _ONE_CLICK if self._url_template else b""
        return SigningTemplate(
            signer, head=self._fixed_headers + one_click, variable=VARIABLE_HEADERS, body=body
        )

    @property
    def signer(self) -> DkimSigner | None:
        """The DKIM signer (``[dkim]``), or None: the signing pool of a large send uses its keys."""
        return None if self._template is None else self._template.signer

    @property
    def columns(self) -> tuple[str, ...]:
        """The subscriber CSV columns the theme uses (``subscriber.<column>``), sorted."""
        return self._columns

    def _check_url(self, url: str, where: str, config: Config) -> str:
        """The https unsubscribe template; ``{token}`` needs a secret, so unsigned never leaks."""
        if not url:
            return ""
        if not (url.startswith("https://") or _local_http(url)) or _URL_UNSAFE.search(url):
            raise ConfigError(
                "must be an https:// URL of printable ASCII (percent-encode the rest; plain "
                "http only on this machine: 127.0.0.1, [::1] or localhost)",
                path=config.path,
                key=where,
            )
        if "{token}" in url and not self._secret:
            raise ConfigError(
                f"needs ${SECRET_ENV} for the unsubscribe tokens, but it is not set; set it to "
                "a long random string (the same one your unsubscribe page or serve checks "
                "tokens with)",
                path=config.path,
                key=where,
            )
        return url

    def _check_bounce_address(self, config: Config) -> str:
        """``inbox.bounce_address``, or ``""``; its VERP tokens are signed, so it needs a secret."""
        address = config.inbox.bounce_address if config.inbox is not None else ""
        if address and not self._secret:
            raise ConfigError(
                f"needs ${SECRET_ENV} to sign the return path of each message (VERP), but it "
                "is not set; set it to a long random string and keep it (bounces of mail sent "
                "with one secret are matched with the same one)",
                path=config.path,
                key="inbox.bounce_address",
            )
        return address

    def envelope_sender(self, email: str) -> str:
        """The recipient's VERP return path, or ``""`` (the list's ``from``) without one."""
        if not self._bounce_address:
            return ""
        assert self._secret is not None
        token = verp_token(
            self._secret, list_key=self.list_cfg.key, issue_id=self.issue.id, email=email
        )
        return verp_address(self._bounce_address, token)

    def _list_id(self) -> str:
        return f"{_ID_UNSAFE.sub('-', self.list_cfg.key).strip('-')}.{self._domain}"

    def unsubscribe_url(self, email: str) -> str:
        """The recipient's one-click URL, or ``""`` when the list has none."""
        url = self._url_template
        if not url:
            return ""
        if "{token}" in url:
            assert self._secret is not None
            token = unsubscribe_token(self._secret, self.list_cfg.key, email)
            url = url.replace("{token}", token)  # URL-safe as it is (unsubscribe_token)
        return url.replace("{email}", quote(email, safe=""))

    def message_id(self, email: str) -> str:
        """Stable per issue and address, so a resumed send reuses the same Message-ID.

        A factory made by :meth:`with_id_scope` mixes its scope in as well.
        """
        key = f"{self.issue.id}\0{email}"
        if self._id_scope:
            key += f"\0{self._id_scope}"
        digest = hashlib.blake2b(key.encode(), digest_size=12, person=b"digestmail-mid").hexdigest()
        return f"<{self._id_left}.{digest}@{self._domain}>"

    def with_id_scope(self, scope: str) -> MessageFactory:
        """The same messages, but with Message-IDs that also depend on ``scope``.

        Test copies use it: a mail client drops a message whose Message-ID it has seen, so a
        test copy must never share one with the list's delivery to the same address (nor with
        an earlier test copy). The list's own factory keeps the unscoped, stable IDs.
        """
        twin = copy.copy(self)
        twin._id_scope = scope
        return twin

    def _date(self, now: datetime | None) -> bytes:
        moment = now or datetime.now(UTC)
        second = int(moment.timestamp())
        if self._date_cache[0] != second:
            line = f"Date: {format_datetime(moment.astimezone(self._tz))}\r\n".encode("ascii")
            self._date_cache = (second, line)
        return self._date_cache[1]

    def build(self, recipient: Recipient, *, now: datetime | None = None) -> OutgoingMessage:
        """The wire bytes for one recipient, signed here; a name or address with CR/LF is
        refused."""
        message, unsigned = self.prepare(recipient, now=now)
        if unsigned is None or self._template is None:
            return message
        signatures = self._template.signer.signatures(unsigned)
        return dataclasses.replace(message, data=unsigned.finish(signatures))

    def prepare(
        self, recipient: Recipient, *, now: datetime | None = None
    ) -> tuple[OutgoingMessage, Unsigned | None]:
        """The message before its DKIM signatures, and what each key must sign (None unsigned).

        :meth:`build` signs at once; a large send has the signatures made in a process pool
        (:mod:`.dkim_pool`) and finishes the message with :meth:`.dkim.Unsigned.finish`.
        """
        email = check_address("To", recipient.email)
        name = check_header_value("To", recipient.name)
        https = self.unsubscribe_url(email)
        personal_url = https or self._mailto
        message_id = self.message_id(email)
        unsubscribe = f"<{self._mailto}>" + (f", <{https}>" if https else "")
        lines = (
            self._date(now),
            fold("To", format_address(name, email)).encode("ascii"),
            f"Message-ID: {message_id}\r\n".encode("ascii"),
            fold("List-Unsubscribe", unsubscribe).encode("ascii"),
        )  # VARIABLE_HEADERS
        out = [lines[0], self._fixed_headers, *lines[1:]]
        if https:
            out.append(_ONE_CLICK)
        out.append(self._text_head)
        fields = [(c, recipient.fields.get(c, "")) for c in self._columns]
        raw = _raw_values(email, name, personal_url, fields)
        text_values = _values(raw, self._text_url_holes, _plain)
        self._text.join(text_values, out)
        out.append(self._html_head)
        html_values = _values(raw, self._html_url_holes, _html_escape)
        self._html.join(html_values, out)
        out.append(self._close)
        message = OutgoingMessage(
            email=email,
            message_id=message_id,
            data=b"".join(out),
            sender=self.envelope_sender(email),
        )
        if self._template is None:
            return message, None
        spliced = [text_values[h] for h in self._text.holes]
        spliced += [html_values[h] for h in self._html.holes]
        return message, self._template.prepare(message.data, lines, spliced)


def _local_http(url: str) -> bool:
    """An http URL on this machine: serve tried out before a proxy adds TLS (and tests)."""
    host = urlsplit(url).hostname or ""
    return url.startswith("http://") and host in ("127.0.0.1", "::1", "localhost")


def _unsubscribe_template(config: Config, list_cfg: ListConfig) -> tuple[str, str]:
    """The list's https unsubscribe URL template and the config key it comes from.

    ``unsubscribe_url`` wins (a site with its own page); else, once ``digestmail serve`` is
    set up (``web.base_url``), its one-click endpoint, so the reader's link works without
    anyone writing a page.
    """
    own = list_cfg.unsubscribe_url.strip()
    if own or not config.web.base_url:
        return own, f"lists.{list_cfg.key}.unsubscribe_url"
    url = f"{config.web.base_url}unsubscribe?list={quote(list_cfg.key, safe='')}&token={{token}}"
    return url, "web.base_url"


def _html_escape(value: str) -> str:
    return html.escape(value, quote=True)


def _plain(value: str) -> str:
    """Line breaks inside a CSV cell become spaces: one value, one line of text."""
    return value.replace("\r", " ").replace("\n", " ")


_EMAIL = placeholders.Slot.EMAIL.value
_NAME = placeholders.Slot.NAME.value
_URL = placeholders.Slot.UNSUBSCRIBE_URL.value


def _raw_values(email: str, name: str, url: str, fields: list[tuple[str, str]]) -> dict[str, str]:
    """Each token's value for one recipient, before escaping for the part it goes into."""
    raw = {_EMAIL: email, _NAME: name, _URL: url}
    for column, value in fields:
        raw[placeholders.field_token(column)] = _plain(value)
    return raw


def _values(
    raw: dict[str, str], url_holes: frozenset[str], escape: Callable[[str], str]
) -> dict[str, bytes]:
    values = {token: encode_qp_value(escape(value)) for token, value in raw.items()}
    for token in url_holes:
        # quote() leaves only unreserved ASCII and %XX: nothing HTML or a URL would misread.
        value = quote(raw[placeholders.plain_token(token)], safe="")
        values[token] = encode_qp_value(escape(value))
    return values
