"""Issue 10: the ``[web]`` section of ``digestmail serve``, and the unsubscribe link it implies."""

from __future__ import annotations

import dataclasses
import email
import email.policy
from pathlib import Path
from typing import Any

import pytest

from digestmail.config import WebConfig, parse_config
from digestmail.errors import ConfigError
from digestmail.message.factory import MessageFactory
from digestmail.message.unsubscribe import verify_unsubscribe_token
from digestmail.models import Recipient
from digestmail.render.theme import render_issue
from tests.helpers.render import make_selection, monthly, post_from_fixture

SECRET = "a-long-test-secret-for-serve"


def config_with(tmp_path: Path, web: dict[str, Any], **list_keys: str) -> Any:
    raw: dict[str, Any] = {
        "site": {"title": "T", "base_url": "https://example.org/", "language": "de"},
        "lists": {
            "monthly": {
                "from": "Tipps <tipps@example.org>",
                "subscribers": "s.csv",
                "categories": ["veranstaltungstipp"],
                **list_keys,
            }
        },
        "web": web,
    }
    return parse_config(raw, path=tmp_path / "config" / "digestmail.toml")


def test_defaults_leave_serve_off(tmp_path: Path) -> None:
    web = config_with(tmp_path, {}).web
    assert web == WebConfig()
    assert not web.enabled
    assert web.listen_address() == ("127.0.0.1", 8025)
    assert (web.confirm_days, web.signups_per_hour, web.store_ip) == (7, 5, False)


def test_values_are_read_and_normalised(tmp_path: Path) -> None:
    web = config_with(
        tmp_path,
        {
            "base_url": "https://www.example.org/newsletter",
            "listen": "[::1]:9000",
            "trusted_proxies": ["127.0.0.1", "10.0.0.0/8"],
            "confirm_days": 3,
            "store_ip": True,
        },
    ).web
    assert web.base_url == "https://www.example.org/newsletter/"
    assert web.listen_address() == ("::1", 9000)
    assert web.trusted_proxies == ("127.0.0.1/32", "10.0.0.0/8")


@pytest.mark.parametrize(
    ("key", "value", "words"),
    [
        ("base_url", "www.example.org", "absolute http(s) URL"),
        ("base_url", "https://x.org/n?a=1", "query"),
        ("listen", "8025", "host:port"),
        ("listen", "localhost:70000", "host:port"),
        ("trusted_proxies", ["proxy.local"], "not an IP"),
        ("confirm_days", 0, "at least 1"),
        ("signups_per_hour", 100000, "at most 1000"),
        ("store_ip", "yes", "true or false"),
        ("port", 8025, "unknown key"),
    ],
)
def test_bad_values_name_the_key(tmp_path: Path, key: str, value: Any, words: str) -> None:
    with pytest.raises(ConfigError) as caught:
        config_with(tmp_path, {key: value})
    assert caught.value.key == f"web.{key}"
    assert words in str(caught.value)


def build(tmp_path: Path, web: dict[str, Any], secret: str | None = SECRET, **keys: str) -> Any:
    config = config_with(tmp_path, web, **keys)
    issue = render_issue(
        make_selection(post_from_fixture("kommune.md")), config=config, list_cfg=monthly(config)
    )
    factory = MessageFactory(issue, config=config, list_cfg=monthly(config), secret=secret)
    data = factory.build(Recipient(email="anna@example.org", name="Anna")).data
    return email.message_from_bytes(data, policy=email.policy.default)


def test_base_url_makes_serve_the_one_click_link(tmp_path: Path) -> None:
    msg = build(tmp_path, {"base_url": "https://www.example.org/newsletter/"})
    header = str(msg["List-Unsubscribe"])
    url = header.split("<")[2].rstrip(">")
    prefix = "https://www.example.org/newsletter/unsubscribe?list=monthly&token="
    assert url.startswith(prefix)
    token = url.removeprefix(prefix)
    from urllib.parse import unquote

    assert verify_unsubscribe_token(SECRET, "monthly", unquote(token)) == "anna@example.org"
    assert msg["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"


def test_the_lists_own_unsubscribe_url_still_wins(tmp_path: Path) -> None:
    msg = build(
        tmp_path,
        {"base_url": "https://www.example.org/newsletter/"},
        unsubscribe_url="https://example.org/abmelden?token={token}",
    )
    assert "https://example.org/abmelden?token=" in str(msg["List-Unsubscribe"])


def test_serve_link_needs_the_secret_and_names_web_base_url(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        build(tmp_path, {"base_url": "https://www.example.org/n/"}, secret=None)
    assert caught.value.key == "web.base_url"
    assert "DIGESTMAIL_SECRET" in str(caught.value)


def test_plain_http_only_on_this_machine(tmp_path: Path) -> None:
    msg = build(tmp_path, {"base_url": "http://127.0.0.1:8025/"})
    assert "<http://127.0.0.1:8025/unsubscribe?list=monthly&token=" in str(msg["List-Unsubscribe"])
    with pytest.raises(ConfigError, match="https"):
        build(tmp_path, {"base_url": "http://www.example.org/"})


def test_every_web_field_has_a_default() -> None:
    assert all(
        f.default is not dataclasses.MISSING or f.default_factory is not dataclasses.MISSING
        for f in dataclasses.fields(WebConfig)
    )
