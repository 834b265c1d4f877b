"""Header encoding: what reaches the wire is printable ASCII, and line breaks in data never do."""

from __future__ import annotations

import email
import email.policy

import pytest

from digestmail.errors import DigestmailError, HeaderInjectionError
from digestmail.header_values import check_header_value
from digestmail.message.headers import (
    ascii_address,
    check_address,
    encode_phrase,
    encode_word,
    fold,
    format_address,
    parse_address,
)


def parse_headers(*lines: str) -> email.message.EmailMessage:
    raw = ("".join(lines) + "\r\nbody\r\n").encode("ascii")
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    assert isinstance(msg, email.message.EmailMessage)
    return msg


@pytest.mark.parametrize("bad", ["a\rb", "a\nb", "a\r\nBcc: x@example.org", "a\x00b", "\n"])
def test_line_breaks_and_nul_are_refused(bad: str) -> None:
    with pytest.raises(HeaderInjectionError, match="Subject"):
        check_header_value("Subject", bad)


def test_refusal_is_a_user_error() -> None:
    with pytest.raises(DigestmailError):
        format_address("Anna\r\nBcc: x@example.org", "anna@example.org")


def test_plain_ascii_subject_stays_readable() -> None:
    assert encode_word("Tipps for November 2017") == "Tipps for November 2017"


@pytest.mark.parametrize(
    "subject",
    [
        "Veranstaltungstipps – November 2017",
        "Bürger*innen gestalten ihre Kommune: Tipps für Dezember",
        "Ein sehr langer Betreff mit Umlauten äöüß, der weit über achtundsiebzig Zeichen "
        "hinausgeht und gefaltet werden muss – 😀 inklusive",
        "  leading and double  spaces  ",
        "Q&A: 100% =? not an encoded word ?=",
    ],
)
def test_subject_round_trips_through_the_email_package(subject: str) -> None:
    line = fold("Subject", encode_word(subject))
    assert all(len(part) <= 78 for part in line.split("\r\n"))
    assert line.isascii()
    assert parse_headers(line)["Subject"] == subject


def test_hidden_crlf_in_encoded_word_text_is_not_decoded_into_a_header() -> None:
    """CVE-2024-6923: text that *looks* like an encoded word with CR/LF is encoded itself."""
    sneaky = "=?utf-8?q?x=0D=0ABcc:_victim@example.org?="
    msg = parse_headers(fold("Subject", encode_word(sneaky)))
    assert msg["Subject"] == sneaky
    assert msg["Bcc"] is None


@pytest.mark.parametrize(
    ("name", "expected_phrase"),
    [
        ("Anna", "Anna"),
        ("Müller, Anna", None),
        ('Anna "die Erste" Schmidt', None),
        ("Ägidius Ößel", None),
        ("", None),
    ],
)
def test_display_names_round_trip(name: str, expected_phrase: str | None) -> None:
    value = format_address(name, "anna@example.org")
    if expected_phrase:
        assert value == f"{expected_phrase} <anna@example.org>"
    msg = parse_headers(fold("To", value))
    address = msg["To"].addresses[0]
    assert address.display_name == name
    assert address.addr_spec == "anna@example.org"


def test_name_with_comma_does_not_become_two_recipients() -> None:
    msg = parse_headers(fold("To", format_address("Müller, Anna", "anna@example.org")))
    assert len(msg["To"].addresses) == 1


def test_address_with_spaces_or_brackets_is_refused() -> None:
    for bad in ["anna @example.org", "anna@example.org>, <x@example.org", "noatsign"]:
        with pytest.raises(HeaderInjectionError):
            format_address("", bad)


def test_parse_address_reads_config_values() -> None:
    assert parse_address("Tipps <tipps@example.org>") == ("Tipps", "tipps@example.org")
    assert parse_address('"Müller, Tipps" <t@example.org>') == ("Müller, Tipps", "t@example.org")
    with pytest.raises(HeaderInjectionError, match=r"lists\.monthly\.from"):
        parse_address("Tipps", what="lists.monthly.from")


def test_an_internationalised_domain_is_written_in_its_ascii_form() -> None:
    assert parse_address("Tipps <tipps@Bürgernetz.example>") == (
        "Tipps",
        "tipps@xn--brgernetz-q9a.example",
    )
    assert ascii_address("x", "tipps@example.org") == "tipps@example.org"


def test_a_non_ascii_local_part_is_refused_naming_the_key() -> None:
    # Sending it would need SMTPUTF8; refusing at `check` beats a relay's 5xx mid-send.
    with pytest.raises(HeaderInjectionError, match=r"lists\.monthly\.from: 'jürgen@example\.org'"):
        parse_address("Jürgen <jürgen@example.org>", what="lists.monthly.from")


def test_fold_refuses_unencoded_values() -> None:
    with pytest.raises(HeaderInjectionError):
        fold("Subject", "Grüße")


def test_phrase_is_ascii_even_for_control_characters() -> None:
    phrase = encode_phrase("Anna\tB\x0b")
    assert phrase.isascii()
    assert "\t" not in phrase
    assert "\x0b" not in phrase


@pytest.mark.parametrize(
    "value",
    [
        "Netzwerk: Tipps <tipps@example.org>",  # a group name would silently eat "Netzwerk"
        "a@example.org, c@example.org",  # a list would silently lose the second address
        "Müller, Anna <anna@example.org>",
        "Tipps <tipps@example.org>, other@example.org",  # a second address after the first
        "Tipps <tipps@example.org>; other@example.org",
        "Tipps <tipps@example.org> trailing",
    ],
)
def test_a_from_value_must_be_exactly_one_address(value: str) -> None:
    with pytest.raises(HeaderInjectionError, match="one address"):
        parse_address(value, what="lists.monthly.from")


def test_quoted_names_may_contain_list_and_group_marks() -> None:
    assert parse_address('"Netzwerk: Tipps" <tipps@example.org>') == (
        "Netzwerk: Tipps",
        "tipps@example.org",
    )
    assert parse_address('"Müller, Anna" <anna@example.org>')[0] == "Müller, Anna"


@pytest.mark.parametrize("addr", ["a@b.org?bcc=x@y.org", "a?b@example.org", "a@b@example.org"])
def test_addresses_that_would_break_a_mailto_link_are_refused(addr: str) -> None:
    with pytest.raises(HeaderInjectionError):
        check_address("unsubscribe_mailto", addr)
