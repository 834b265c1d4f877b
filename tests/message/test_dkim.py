"""DKIM: every message the factory builds verifies with dkimpy against the published key."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import dkim
import pytest

from digestmail.config import Config, parse_config
from digestmail.errors import ConfigError
from digestmail.message.dkim import relaxed_body, relaxed_header
from digestmail.message.dkim_keys import dns_record, generate, write_private
from digestmail.message.factory import MessageFactory
from digestmail.models import Recipient
from digestmail.render.theme import render_issue
from tests.helpers.render import make_selection, post_from_fixture

SECRET = "test-secret-of-some-length"
UNSUB = "https://example.org/abmelden?token={token}"


def make_keys(tmp_path: Path) -> dict[str, str]:
    """RSA and Ed25519 keys in tmp_path/config/dkim, and their DNS records by selector."""
    records = {}
    for algorithm, name in (("rsa-sha256", "sel"), ("ed25519-sha256", "sel-ed25519")):
        key = generate(algorithm)
        stem = "sel" if algorithm == "rsa-sha256" else "sel.ed25519"
        write_private(key, tmp_path / "config" / "dkim" / f"{stem}.key")
        records[name] = dns_record(key)
    return records


def dkim_config(tmp_path: Path, *, domain: str = "example.org", **extra: Any) -> Config:
    raw: dict[str, Any] = {
        "site": {"title": "T", "base_url": "https://example.org/", "timezone": "Europe/Berlin"},
        "lists": {
            "monthly": {
                "name": "Veranstaltungstipps",
                "from": "Tipps <tipps@example.org>",
                "subscribers": "config/subscribers/monthly.csv",
                "categories": ["veranstaltungstipp"],
                "unsubscribe_url": UNSUB,
            }
        },
        "dkim": {"domain": domain, "selector": "sel", "key_file": "config/dkim/sel.key", **extra},
    }
    return parse_config(raw, path=tmp_path / "config" / "digestmail.toml")


def factory_for(config: Config) -> MessageFactory:
    list_cfg = config.get_list("monthly")
    issue = render_issue(
        make_selection(post_from_fixture("kommune.md")), config=config, list_cfg=list_cfg
    )
    return MessageFactory(issue, config=config, list_cfg=list_cfg, secret=SECRET)


def dns_stub(records: dict[str, str]) -> Any:
    def lookup(name: bytes, timeout: int = 5) -> bytes:
        selector, _, domain = name.decode().partition("._domainkey.")
        assert domain.rstrip(".") == "example.org"
        return records.get(selector, "").encode()

    return lookup


def verify_all(data: bytes, records: dict[str, str]) -> list[bool]:
    """dkimpy's verdict on every DKIM-Signature of the message, in order."""
    checker = dkim.DKIM(data)
    count = sum(1 for name, _ in checker.headers if name.lower() == b"dkim-signature")
    verdicts = []
    for i in range(count):
        try:
            verdicts.append(bool(checker.verify(idx=i, dnsfunc=dns_stub(records))))
        except dkim.DKIMException:  # e.g. a second From: dkimpy refuses the message outright
            verdicts.append(False)
    return verdicts


RECIPIENTS = [
    Recipient(email="anna@example.org", name="Änna Müller"),
    Recipient(email="bob@example.net"),
    Recipient(email="o'neil+tag@sub.example.com", name='Dr. "Q" O\'Neil, Jr.'),
]


@pytest.mark.parametrize(
    "algorithms", [["rsa-sha256"], ["ed25519-sha256"], ["rsa-sha256", "ed25519-sha256"]]
)
def test_every_message_verifies_and_covers_both_unsubscribe_headers(
    tmp_path: Path, algorithms: list[str]
) -> None:
    records = make_keys(tmp_path)
    factory = factory_for(dkim_config(tmp_path, algorithms=algorithms))
    for recipient in RECIPIENTS:
        data = factory.build(recipient).data
        assert verify_all(data, records) == [True] * len(algorithms)
        signature = dkim.DKIM(data).headers[0][1]
        tags = dkim.util.parse_tag_value(b"".join(signature.split()))
        signed = tags[b"h"].split(b":")
        assert b"list-unsubscribe" in signed
        assert b"list-unsubscribe-post" in signed
        assert signed.count(b"from") == 2 and signed.count(b"subject") == 2
        assert tags[b"a"].decode() == algorithms[0]
        assert tags[b"c"] == b"relaxed/relaxed"


def test_an_altered_message_fails(tmp_path: Path) -> None:
    records = make_keys(tmp_path)
    factory = factory_for(dkim_config(tmp_path, algorithms=["rsa-sha256", "ed25519-sha256"]))
    data = factory.build(RECIPIENTS[0]).data
    assert all(verify_all(data, records))
    head, _, body = data.partition(b"\r\n\r\n")
    changed_body = head + b"\r\n\r\n" + body.replace(b"text/html", b"text/HTML", 1)
    assert changed_body != data
    assert verify_all(changed_body, records) == [False, False]
    unsub = data.replace(b"List-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n", b"")
    assert verify_all(unsub, records) == [False, False]
    second_from = data.replace(b"\r\n\r\n", b"\r\nFrom: evil@example.com\r\n\r\n", 1)
    assert verify_all(second_from, records) == [False, False]


def test_a_wrong_published_key_fails(tmp_path: Path) -> None:
    make_keys(tmp_path)
    factory = factory_for(dkim_config(tmp_path))
    other = {"sel": dns_record(generate("rsa-sha256"))}
    assert verify_all(factory.build(RECIPIENTS[1]).data, other) == [False]


def test_unaligned_domain_is_a_config_error(tmp_path: Path) -> None:
    make_keys(tmp_path)
    with pytest.raises(ConfigError, match=r"does not align") as info:
        factory_for(dkim_config(tmp_path, domain="mailer.example.net"))
    assert info.value.key == "dkim.domain"


def test_key_readable_by_others_is_refused(tmp_path: Path) -> None:
    make_keys(tmp_path)
    (tmp_path / "config" / "dkim" / "sel.key").chmod(0o644)
    with pytest.raises(ConfigError, match=r"chmod 600") as info:
        factory_for(dkim_config(tmp_path))
    assert "PRIVATE KEY" not in str(info.value)


def test_key_from_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    records = make_keys(tmp_path)
    pem = (tmp_path / "config" / "dkim" / "sel.key").read_text()
    monkeypatch.setenv("MY_DKIM", pem)
    raw = dkim_config(tmp_path, key_env="MY_DKIM")
    config = parse_config(
        {
            "site": {"title": "T", "base_url": "https://example.org/"},
            "lists": {
                "monthly": {
                    "from": "tipps@example.org",
                    "subscribers": "s.csv",
                    "categories": ["x"],
                }
            },
            "dkim": {"domain": "example.org", "selector": "sel", "key_env": "MY_DKIM"},
        },
        path=raw.path,
    )
    assert verify_all(factory_for(config).build(RECIPIENTS[0]).data, records) == [True]


@pytest.mark.parametrize(
    ("name", "value"),
    [
        (b"Subject", b" Hallo  \t Welt \r\n\tzwei  "),
        (b"X-Empty", b""),
        (b"List-Id", b' "A  B" <a.example.org>'),
    ],
)
def test_header_canonicalisation_matches_dkimpy(name: bytes, value: bytes) -> None:
    from dkim.canonicalization import Relaxed

    expected = Relaxed.canonicalize_headers([(name, value)])[0]
    assert relaxed_header(name, value) == expected[0] + b":" + expected[1]


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"\r\n\r\n",
        b"a  b \t\r\nc\r\n\r\n\r\n",
        b"no newline at end",
        b" lead\r\n\t\r\nx\t \r\n",
        b"=3D plain\r\n",
    ],
)
def test_body_canonicalisation_matches_dkimpy(body: bytes) -> None:
    from dkim.canonicalization import Relaxed

    assert relaxed_body(body) == Relaxed.canonicalize_body(body)
