"""Per-recipient messages: they parse, carry every header, decode to the issue, and are safe."""

from __future__ import annotations

import email
import email.policy
import re
import socket
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path

import pytest

from digestmail.config import Config
from digestmail.errors import ConfigError, HeaderInjectionError
from digestmail.message.factory import MessageFactory
from digestmail.message.unsubscribe import (
    secret_from_env,
    unsubscribe_token,
    verify_unsubscribe_token,
)
from digestmail.models import Issue, OutgoingMessage, Post, Recipient
from digestmail.render import placeholders
from digestmail.render.placeholders import web_version
from digestmail.render.theme import render_issue
from tests.helpers.render import make_config, make_post, make_selection, monthly, post_from_fixture
from tests.helpers.smtp_server import SmtpTestServer

SECRET = "test-secret-of-some-length"
UNSUB = "https://example.org/abmelden?token={token}"
NOW = datetime(2017, 12, 1, 8, 0, tzinfo=UTC)


def setup(
    tmp_path: Path, *posts_: Post, secret: str | None = SECRET, **lists: str
) -> tuple[Config, Issue, MessageFactory]:
    config = make_config(
        tmp_path, site={"archive_url": "https://example.org/archiv/"}, lists=lists or None
    )
    posts = posts_ or (post_from_fixture("kommune.md"),)
    issue = render_issue(make_selection(*posts), config=config, list_cfg=monthly(config))
    factory = MessageFactory(issue, config=config, list_cfg=monthly(config), secret=secret)
    return config, issue, factory


def parse(message: OutgoingMessage) -> EmailMessage:
    msg = email.message_from_bytes(message.data, policy=email.policy.default)
    assert isinstance(msg, EmailMessage)
    return msg


def parts(msg: EmailMessage) -> list[EmailMessage]:
    return [p for p in msg.walk() if not p.is_multipart()]


ANNA = Recipient(email="anna@example.org", name="Änna Müller")


def test_message_parses_into_one_text_and_one_html_part(tmp_path: Path) -> None:
    _, _, factory = setup(tmp_path, unsubscribe_url=UNSUB)
    msg = parse(factory.build(ANNA, now=NOW))
    assert msg.get_content_type() == "multipart/alternative"
    leaves = parts(msg)
    assert [p.get_content_type() for p in leaves] == ["text/plain", "text/html"]
    assert all(p.get_content_charset() == "utf-8" for p in leaves)
    assert not msg.defects
    assert all(not p.defects for p in leaves)


def test_parts_decode_back_to_the_issue_with_the_recipient_filled_in(tmp_path: Path) -> None:
    _, issue, factory = setup(tmp_path, unsubscribe_url=UNSUB)
    msg = parse(factory.build(ANNA, now=NOW))
    text, html = (p.get_content().replace("\r\n", "\n") for p in parts(msg))
    url = factory.unsubscribe_url("anna@example.org")
    expected_text = placeholders.without_markers(issue.text)
    expected_text = expected_text.replace(placeholders.Slot.EMAIL.value, "anna@example.org")
    expected_text = expected_text.replace(placeholders.Slot.UNSUBSCRIBE_URL.value, url)
    assert text == expected_text
    assert "Bürger*innen" in text
    assert f'href="{url}"' in html
    assert "anna@example.org" in html
    assert "DM7SLOT" not in html + text
    assert "dm:personal" not in text


def test_every_header_is_there(tmp_path: Path) -> None:
    _, _, factory = setup(tmp_path, unsubscribe_url=UNSUB, reply_to="Redaktion <red@example.org>")
    message = factory.build(ANNA, now=NOW)
    msg = parse(message)
    assert msg["Date"].datetime == NOW
    assert msg["From"].addresses[0].display_name == "Tipps"
    assert msg["From"].addresses[0].addr_spec == "tipps@example.org"
    assert msg["To"].addresses[0].display_name == "Änna Müller"
    assert msg["To"].addresses[0].addr_spec == "anna@example.org"
    assert msg["Subject"] == "Veranstaltungstipps – November 2017"
    assert msg["Message-ID"] == message.message_id
    assert re.fullmatch(r"<monthly-2017-11\.[0-9a-f]+@example\.org>", message.message_id)
    assert msg["MIME-Version"] == "1.0"
    assert msg["List-Id"] == "Veranstaltungstipps <monthly.example.org>"
    token = unsubscribe_token(SECRET, "monthly", "anna@example.org")
    assert msg["List-Unsubscribe"] == (
        "<mailto:abmelden@example.org?subject=unsubscribe>, "
        f"<https://example.org/abmelden?token={token}>"
    )
    assert msg["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert msg["Precedence"] == "bulk"
    assert msg["Reply-To"].addresses[0].addr_spec == "red@example.org"
    assert message.email == "anna@example.org"


def test_without_https_unsubscribe_there_is_no_one_click_header(tmp_path: Path) -> None:
    _, _, factory = setup(tmp_path, secret=None)
    msg = parse(factory.build(ANNA, now=NOW))
    assert msg["List-Unsubscribe"] == "<mailto:abmelden@example.org?subject=unsubscribe>"
    assert msg["List-Unsubscribe-Post"] is None
    assert msg["Reply-To"] is None
    html = parts(msg)[1].get_content()
    assert 'href="mailto:abmelden@example.org?subject=unsubscribe"' in html


def test_unsubscribe_mailto_defaults_to_the_sender(tmp_path: Path) -> None:
    _, _, factory = setup(tmp_path, unsubscribe_mailto="")
    msg = parse(factory.build(ANNA, now=NOW))
    assert msg["List-Unsubscribe"] == "<mailto:tipps@example.org?subject=unsubscribe>"


def test_subject_with_umlauts_round_trips(tmp_path: Path) -> None:
    subject = (
        "Grüße aus der Kommune: {{ issue.period_label }} – Bürger*innen-Tipps für alle Beteiligten"
    )
    _, _, factory = setup(tmp_path, subject=subject)
    raw = factory.build(ANNA, now=NOW).data
    assert raw.isascii()
    assert parse(factory.build(ANNA, now=NOW))["Subject"] == (
        "Grüße aus der Kommune: November 2017 – Bürger*innen-Tipps für alle Beteiligten"
    )


@pytest.mark.parametrize(
    "recipient",
    [
        Recipient(email="anna@example.org", name="Anna\r\nBcc: victim@example.org"),
        Recipient(email="anna@example.org", name="Anna\nBcc: victim@example.org"),
        Recipient(email="anna@example.org\r\nBcc: victim@example.org", name="Anna"),
    ],
)
def test_line_breaks_in_a_subscriber_row_are_refused(tmp_path: Path, recipient: Recipient) -> None:
    _, _, factory = setup(tmp_path)
    with pytest.raises(HeaderInjectionError):
        factory.build(recipient, now=NOW)


def test_hidden_crlf_in_a_name_never_becomes_a_header(tmp_path: Path) -> None:
    _, _, factory = setup(tmp_path)
    sneaky = Recipient(email="anna@example.org", name="=?utf-8?q?x=0D=0ABcc:_victim@example.org?=")
    msg = parse(factory.build(sneaky, now=NOW))
    assert msg["Bcc"] is None
    assert msg["To"].addresses[0].addr_spec == "anna@example.org"
    # Python 3.11's phrase parser puts a space between adjacent encoded words (RFC 2047 says
    # to drop it); the name has no spaces of its own, so compare without them.
    assert msg["To"].addresses[0].display_name.replace(" ", "") == sneaky.name


def test_recipient_values_are_escaped_for_html_and_quoted_in_urls(tmp_path: Path) -> None:
    _, _, factory = setup(tmp_path, unsubscribe_url="https://example.org/ab?e={email}&t={token}")
    odd = Recipient(email="a&b<c>@example.org", name="")
    with pytest.raises(HeaderInjectionError):
        factory.build(odd, now=NOW)
    plus = Recipient(email="o'neil+news@example.org", name="O'Neil & Co")
    msg = parse(factory.build(plus, now=NOW))
    text, html = (p.get_content() for p in parts(msg))
    assert "https://example.org/ab?e=o%27neil%2Bnews%40example.org&amp;t=" in html
    assert "o&#x27;neil+news@example.org" in html
    assert "https://example.org/ab?e=o%27neil%2Bnews%40example.org&t=" in text


def test_message_ids_are_unique_per_recipient_and_stable(tmp_path: Path) -> None:
    _, _, factory = setup(tmp_path)
    ids = {
        factory.build(Recipient(email=f"r{n}@example.org"), now=NOW).message_id for n in range(50)
    }
    assert len(ids) == 50
    again = factory.build(Recipient(email="r1@example.org"), now=NOW).message_id
    assert again in ids


def test_a_scoped_factory_builds_the_same_message_under_its_own_message_id(
    tmp_path: Path,
) -> None:
    _, _, factory = setup(tmp_path)
    listed = factory.build(ANNA, now=NOW)
    # The list's IDs never change, or an issue resumed after an upgrade would get new ones.
    assert listed.message_id == "<monthly-2017-11.a69966d39343a4df462c3df5@example.org>"

    tests = [factory.with_id_scope(f"monthly-2017-11#test.{n}") for n in range(2)]
    copies = [t.build(ANNA, now=NOW) for t in tests]

    ids = {listed.message_id, *(c.message_id for c in copies)}
    assert len(ids) == 3
    for test, copy in zip(tests, copies, strict=True):
        assert test.message_id(ANNA.email) == copy.message_id == parse(copy)["Message-ID"]
        assert copy.data.replace(copy.message_id.encode(), b"") == listed.data.replace(
            listed.message_id.encode(), b""
        )
    assert factory.build(ANNA, now=NOW).message_id == listed.message_id


def test_wire_rules_crlf_short_lines_and_no_leading_dots(tmp_path: Path) -> None:
    dotty = make_post(
        title=".Punkt am Anfang",
        summary=".Erste Zeile mit Punkt\n\n.\n\n" + "Lang " * 60 + "\n\n." + "x" * 80 + "\n",
    )
    _, _, factory = setup(tmp_path, dotty, unsubscribe_url=UNSUB)
    message = factory.build(Recipient(email="dot@example.org", name=".Dotty"), now=NOW)
    data = message.data
    assert data.endswith(b"\r\n")
    assert b"\n" not in data.replace(b"\r\n", b"")
    assert b"\r" not in data.replace(b"\r\n", b"")
    lines = data.split(b"\r\n")
    assert max(len(line) for line in lines) <= 998
    body = data.split(b"\r\n\r\n", 1)[1].split(b"\r\n")
    assert max(len(line) for line in body) <= 76
    assert not [line for line in lines if line.startswith(b".")]
    text = parts(parse(message))[0].get_content()
    assert ".Erste Zeile mit Punkt" in text


def smtp_send_raw(port: int, mail_from: str, rcpt: str, data: bytes) -> None:
    """Speak SMTP by hand and send ``data`` exactly as built, without dot-stuffing it."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        reader = sock.makefile("rb")

        def reply() -> bytes:
            line = reader.readline()
            while line[3:4] == b"-":
                line = reader.readline()
            return line

        assert reply().startswith(b"220")
        for command, code in [
            (b"EHLO test\r\n", b"250"),
            (f"MAIL FROM:<{mail_from}>\r\n".encode(), b"250"),
            (f"RCPT TO:<{rcpt}>\r\n".encode(), b"250"),
            (b"DATA\r\n", b"354"),
        ]:
            sock.sendall(command)
            assert reply().startswith(code)
        sock.sendall(data + b".\r\n")
        assert reply().startswith(b"250")
        sock.sendall(b"QUIT\r\n")


def test_bytes_arrive_unchanged_when_sent_without_dot_stuffing(tmp_path: Path) -> None:
    dotty = make_post(summary=".Punkt\n\n" + ". " * 100 + "\n")
    _, _, factory = setup(tmp_path, dotty)
    message = factory.build(Recipient(email="anna@example.org", name=".Anna"), now=NOW)
    server = SmtpTestServer(tmp_path, starttls=False, auth=False).start()
    try:
        smtp_send_raw(server.port, "tipps@example.org", message.email, message.data)
    finally:
        server.stop()
    assert server.received[0].data.rstrip(b"\r\n") == message.data.rstrip(b"\r\n")


def test_unsubscribe_token_verifies_only_for_its_list_and_secret() -> None:
    token = unsubscribe_token(SECRET, "monthly", "anna@example.org")
    assert verify_unsubscribe_token(SECRET, "monthly", token) == "anna@example.org"
    assert verify_unsubscribe_token(SECRET, "weekly", token) is None
    assert verify_unsubscribe_token("other-secret", "monthly", token) is None
    forged = unsubscribe_token("other-secret", "monthly", "anna@example.org")
    assert verify_unsubscribe_token(SECRET, "monthly", forged) is None
    assert verify_unsubscribe_token(SECRET, "monthly", "garbage") is None
    assert verify_unsubscribe_token(SECRET, "monthly", "!!!.???") is None


def test_token_url_without_a_secret_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"lists\.monthly\.unsubscribe_url.*DIGESTMAIL_SECRET"):
        setup(tmp_path, secret=None, unsubscribe_url=UNSUB)


def test_unsubscribe_url_must_be_https(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"lists\.monthly\.unsubscribe_url"):
        setup(tmp_path, unsubscribe_url="http://example.org/ab?token={token}")


def test_bad_from_address_names_the_key(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"lists\.monthly"):
        setup(tmp_path, **{"from": "Tipps ohne Adresse"})


def test_a_from_address_that_needs_smtputf8_names_the_key(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"lists\.monthly.*before the @-sign") as caught:
        setup(tmp_path, **{"from": "Jürgen <jürgen@example.org>"})
    assert str(caught.value).count("lists.monthly") == 1
    assert caught.value.key is None or caught.value.key == "lists.monthly.from"


def test_secret_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DIGESTMAIL_SECRET", raising=False)
    assert secret_from_env() is None
    monkeypatch.setenv("DIGESTMAIL_SECRET", "")
    assert secret_from_env() is None
    monkeypatch.setenv("DIGESTMAIL_SECRET", "abc")
    assert secret_from_env() == "abc"


def test_web_version_has_nothing_personal(tmp_path: Path) -> None:
    _, issue, _ = setup(tmp_path, unsubscribe_url=UNSUB)
    page = web_version(issue)
    assert "DM7SLOT" not in page
    assert "dm:personal" not in page
    assert "Weiterlesen" in page
    assert "Bürger*innen" in page


def test_themes_can_use_subscriber_columns_filled_per_recipient(tmp_path: Path) -> None:
    folder = tmp_path / "themes" / "gruss"
    folder.mkdir(parents=True)
    (folder / "digest.html.j2").write_text(
        "<html><body><p>Hallo {{ subscriber.Name }} aus {{ subscriber.Ort }}!</p>"
        "<a href='https://example.org/?s={{ subscriber['stadt teil'] }}'>x</a></body></html>"
    )
    (folder / "digest.txt.j2").write_text("Hallo {{ subscriber.name }} aus {{ subscriber.ort }}!\n")
    (folder / "digest.css").write_text("")
    _, issue, factory = setup(tmp_path, template="themes/gruss")
    anna = Recipient(
        email="anna@example.org",
        name="Anna & Ben",
        fields={"ort": "Jena <Ost>", "stadt teil": "Süd"},
    )
    text, html = (p.get_content() for p in parts(parse(factory.build(anna, now=NOW))))
    assert text.strip() == "Hallo Anna & Ben aus Jena <Ost>!"
    assert "Hallo Anna &amp; Ben aus Jena &lt;Ost&gt;!" in html
    assert "?s=Süd" in html
    bare = parse(factory.build(Recipient(email="b@example.org"), now=NOW))
    assert parts(bare)[0].get_content().strip() == "Hallo  aus !"
    assert "DM7SLOT" not in web_version(issue)


def test_urlencode_in_a_theme_percent_encodes_each_recipients_own_values(tmp_path: Path) -> None:
    # A preferences link must carry anna+news@ as anna%2Bnews%40, or the page reads a space.
    folder = tmp_path / "themes" / "prefs"
    folder.mkdir(parents=True)
    link = (
        "https://example.org/prefs?e={{ recipient.email | urlencode }}"
        "&o={{ subscriber.organisation | urlencode }}&l={{ list.name | urlencode }}"
        "&m={{ ('an ' ~ recipient.email) | urlencode }}"
    )
    (folder / "digest.html.j2").write_text(
        f"<html><body><a href='{link}'>Einstellungen</a> {{{{ subscriber.organisation }}}}"
        "</body></html>"
    )
    (folder / "digest.txt.j2").write_text(link + "\n")
    (folder / "digest.css").write_text("")
    _, issue, factory = setup(tmp_path, template="themes/prefs")
    anna = Recipient(
        email="anna+news@example.org", name="", fields={"organisation": "Büro & Co #1"}
    )
    text, html = (p.get_content() for p in parts(parse(factory.build(anna, now=NOW))))
    query = (
        "e=anna%2Bnews%40example.org&o=B%C3%BCro%20%26%20Co%20%231&l=Veranstaltungstipps"
        "&m=an%20anna%2Bnews%40example.org"
    )
    assert text.strip() == f"https://example.org/prefs?{query}"
    assert f"https://example.org/prefs?{query.replace('&', '&amp;')}" in html
    assert "</a> Büro &amp; Co #1" in html  # without the filter: HTML-escaped, not encoded
    assert "DM7SLOT" not in web_version(issue)
