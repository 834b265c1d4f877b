"""The SMTP transport against a real aiosmtpd server: STARTTLS, AUTH, refusals, broken sessions."""

from __future__ import annotations

import asyncio
import dataclasses
from pathlib import Path

import pytest

import digestmail.deliver.transports.smtp as smtp_module
from digestmail.config import SmtpConfig
from digestmail.deliver import event_loop
from digestmail.deliver.transports.smtp import SmtpTransport, envelope_sender
from digestmail.errors import DeliveryError, TransportError, TransportSetupError
from tests.helpers.mail import outgoing
from tests.helpers.smtp_server import USERNAME, Faults, SmtpTestServer


@pytest.fixture(autouse=True, params=["uvloop", "asyncio"])
def loop_kind(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Every test runs on both loops: `digestmail send` uses uvloop, and asyncio's where it is
    missing, so the transport (STARTTLS, the pipelined reply reader) must work on each."""
    monkeypatch.setenv(event_loop.ENV, request.param)
    return str(request.param)


def config_for(server: SmtpTestServer, **changes: object) -> SmtpConfig:
    cfg = SmtpConfig(
        host="127.0.0.1",
        port=server.port,
        security="starttls",
        username=USERNAME,
        password_env="DIGESTMAIL_TEST_SMTP_PASSWORD",
        timeout=10,
        ca_file=server.ca_file,
    )
    return dataclasses.replace(cfg, **changes)  # type: ignore[arg-type]


def test_envelope_sender_is_the_bare_address() -> None:
    assert envelope_sender("Tipps <tipps@example.org>") == "tipps@example.org"
    assert envelope_sender("tipps@example.org") == "tipps@example.org"


def test_one_connection_carries_many_messages_intact(smtp_server: SmtpTestServer) -> None:
    messages = [outgoing(f"user{i}@example.net", body=".leading dot\n\n.\n") for i in range(5)]

    async def run() -> None:
        conn = await SmtpTransport(config_for(smtp_server)).connect()
        for message in messages:
            result = await conn.send("tipps@example.org", message)
            assert result.code == 250
        await conn.close()

    event_loop.run(run())
    assert smtp_server.connections == 1
    assert smtp_server.recipients() == [m.email for m in messages]
    for got, sent in zip(smtp_server.received, messages, strict=True):
        assert got.mail_from == "tipps@example.org"
        assert got.data.replace(b"\r\n", b"\n") == sent.data.replace(b"\r\n", b"\n")
        assert got.parse()["Message-ID"] == sent.message_id


@pytest.mark.parametrize("pipelining", [True, False], ids=["pipelined", "one-by-one"])
def test_refusals_carry_the_code_and_leave_the_session_usable(
    tmp_path: Path, smtp_password: str, pipelining: bool
) -> None:
    smtp_server = SmtpTestServer(tmp_path, faults=Faults(pipelining=pipelining)).start()
    try:
        refusals(smtp_server)
    finally:
        smtp_server.stop()


def refusals(smtp_server: SmtpTestServer) -> None:
    async def run() -> list[tuple[int | None, bool]]:
        conn = await SmtpTransport(config_for(smtp_server)).connect()
        seen: list[tuple[int | None, bool]] = []
        for email in (
            "reject550@example.net",
            "user-unknown@example.net",
            "reject-data@example.net",
            "ok@example.net",
        ):
            try:
                await conn.send("tipps@example.org", outgoing(email))
                seen.append((250, conn.usable))
            except DeliveryError as exc:
                seen.append((exc.code, exc.temporary))
        await conn.close()
        return seen

    assert event_loop.run(run()) == [(550, False), (550, False), (554, False), (250, True)]
    assert smtp_server.recipients() == ["ok@example.net"]
    assert smtp_server.connections == 1


def test_temporary_refusal_is_temporary(smtp_server: SmtpTestServer) -> None:
    async def run() -> DeliveryError:
        conn = await SmtpTransport(config_for(smtp_server)).connect()
        with pytest.raises(DeliveryError) as info:
            await conn.send("tipps@example.org", outgoing("tempfail451@example.net"))
        await conn.close()
        return info.value

    error = event_loop.run(run())
    assert error.code == 451
    assert error.temporary


def test_connection_dropped_before_the_reply_is_a_temporary_failure(
    smtp_server: SmtpTestServer,
) -> None:
    async def run() -> tuple[DeliveryError, bool]:
        conn = await SmtpTransport(config_for(smtp_server)).connect()
        with pytest.raises(DeliveryError) as info:
            await conn.send("tipps@example.org", outgoing("dropdata@example.net"))
        return info.value, conn.usable

    error, usable = event_loop.run(run())
    assert error.code is None and error.temporary
    assert not usable
    assert smtp_server.received == []


def test_a_server_silent_past_the_timeout_is_a_temporary_failure(
    tmp_path: Path, smtp_password: str
) -> None:
    """The end-of-data reply never comes in time: the session is given up, and the message is
    retried later (the server may or may not deliver it; the ledger says "uncertain")."""
    server = SmtpTestServer(tmp_path, faults=Faults(delay=3.0)).start()
    try:

        async def run() -> tuple[DeliveryError, bool, float]:
            conn = await SmtpTransport(config_for(server, timeout=0.3)).connect()
            started = asyncio.get_running_loop().time()
            with pytest.raises(DeliveryError) as info:
                await conn.send("tipps@example.org", outgoing("slow@example.net"))
            return info.value, conn.usable, asyncio.get_running_loop().time() - started

        error, usable, waited = event_loop.run(run())
    finally:
        server.stop()
    assert error.code is None and error.temporary and "connection lost" in str(error)
    assert not usable
    assert waited < 2.5, "gave up at the timeout, not when the server finally answered"


@pytest.mark.parametrize("pipelining", [True, False], ids=["pipelined", "one-by-one"])
def test_421_closes_the_connection(tmp_path: Path, smtp_password: str, pipelining: bool) -> None:
    server = SmtpTestServer(tmp_path, faults=Faults(close_after=2, pipelining=pipelining)).start()
    try:

        async def run() -> tuple[int | None, bool]:
            conn = await SmtpTransport(config_for(server)).connect()
            for i in range(2):
                await conn.send("tipps@example.org", outgoing(f"u{i}@example.net"))
            with pytest.raises(DeliveryError) as info:
                await conn.send("tipps@example.org", outgoing("u2@example.net"))
            return info.value.code, conn.usable

        assert event_loop.run(run()) == (421, False)
    finally:
        server.stop()


def test_wrong_password_names_the_setting(
    smtp_server: SmtpTestServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DIGESTMAIL_TEST_SMTP_PASSWORD", "wrong")
    with pytest.raises(TransportSetupError, match="DIGESTMAIL_TEST_SMTP_PASSWORD"):
        event_loop.run(SmtpTransport(config_for(smtp_server)).connect())


def test_untrusted_certificate_is_refused(smtp_server: SmtpTestServer) -> None:
    with pytest.raises(TransportSetupError, match="ca_file"):
        event_loop.run(SmtpTransport(config_for(smtp_server, ca_file=None)).connect())


def test_verify_tls_false_accepts_any_certificate(smtp_server: SmtpTestServer) -> None:
    async def run() -> None:
        cfg = config_for(smtp_server, ca_file=None, verify_tls=False)
        conn = await SmtpTransport(cfg).connect()
        await conn.send("tipps@example.org", outgoing("ok@example.net"))
        await conn.close()

    event_loop.run(run())
    assert smtp_server.recipients() == ["ok@example.net"]


def test_starttls_is_required_when_configured(tmp_path: Path, smtp_password: str) -> None:
    server = SmtpTestServer(tmp_path, starttls=False, auth=False).start()
    try:
        cfg = config_for(server, username="")
        with pytest.raises(TransportError, match="starttls"):
            event_loop.run(SmtpTransport(cfg).connect())
    finally:
        server.stop()


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
def test_implicit_tls(tmp_path: Path, smtp_password: str) -> None:
    server = SmtpTestServer(tmp_path, implicit_tls=True).start()
    try:

        async def run() -> None:
            conn = await SmtpTransport(config_for(server, security="tls")).connect()
            await conn.send("tipps@example.org", outgoing("ok@example.net"))
            await conn.close()

        event_loop.run(run())
        assert server.recipients() == ["ok@example.net"]
    finally:
        server.stop()


def test_nothing_listening_is_a_transport_error(tmp_path: Path) -> None:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    cfg = SmtpConfig(host="127.0.0.1", port=port, security="none", timeout=5)
    with pytest.raises(TransportError, match=f"127.0.0.1:{port}"):
        event_loop.run(SmtpTransport(cfg).connect())


def test_addresses_cannot_inject_commands(smtp_server: SmtpTestServer) -> None:
    async def run() -> DeliveryError:
        conn = await SmtpTransport(config_for(smtp_server)).connect()
        with pytest.raises(DeliveryError) as info:
            evil = dataclasses.replace(outgoing("a@example.net"), email="a@example.net>\r\nRSET")
            await conn.send("tipps@example.org", evil)
        await conn.close()
        return info.value

    error = event_loop.run(run())
    assert error.code == 553 and not error.temporary
    assert smtp_server.received == []


def test_an_unreadable_ca_file_names_the_relays_key(tmp_path: Path) -> None:
    bad = tmp_path / "not-a-ca.pem"
    bad.write_text("not a certificate\n")
    cfg = SmtpConfig(host="127.0.0.1", port=1, security="starttls", ca_file=bad)
    with pytest.raises(TransportSetupError, match=r"^smtp\.ca_file .*not-a-ca\.pem: cannot load"):
        event_loop.run(SmtpTransport(cfg).connect())


@pytest.mark.parametrize(
    ("text", "about_the_relay"),
    [
        ("5.7.1 <a@example.net>: Relay access denied", True),  # Postfix
        ("5.7.1 <a@example.net>... Relaying denied", True),  # Sendmail
        ("relay not permitted", True),  # Exim
        ("5.7.54 SMTP; Unable to relay recipients within this domain", True),  # Exchange
        ("5.7.1 Relaying prohibited", True),
        ("5.7.1 rejected by policy", False),
        ("5.1.1 <a@example.net>: user unknown", False),
        ("5.7.1 Message rejected as spam by Content Filtering", False),
        # A remote server's answer the relay quotes (reject_unverified_recipient): the reader's
        ("5.1.1 <a@example.net>: host mx.example.net said: 554 5.7.1 Relay access denied", False),
    ],
)
def test_which_refusals_are_the_relay_refusing_to_relay(text: str, about_the_relay: bool) -> None:
    """Only a relay's "I do not relay for you" takes it out of a run; every other 5xx to a
    recipient stays that recipient's permanent failure."""
    assert smtp_module._about_us("RCPT TO", text, reader_utf8=False) is about_the_relay


def test_a_refusal_shown_for_the_relay_hides_the_reader_and_the_verp_token() -> None:
    text = "5.7.1 <bounces+c2VjcmV0@example.org>: Sender rejected for <a@example.net>"
    shown = smtp_module._masked(text, "a@example.net")
    assert shown == "5.7.1 <bounces+...@example.org>: Sender rejected for <...>"
