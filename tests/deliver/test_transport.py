"""The Maildir transport writes messages any mail client can read; the pure helpers behave."""

from __future__ import annotations

import asyncio
import mailbox
from pathlib import Path

import pytest

from digestmail.deliver.ratelimit import TokenBucket
from digestmail.deliver.retry import backoff_delay, is_user_unknown
from digestmail.deliver.transports.maildir import MaildirTransport
from digestmail.errors import TransportError
from tests.helpers.mail import outgoing


def test_maildir_messages_are_readable_by_mailbox(tmp_path: Path) -> None:
    sent = [outgoing(f"user{i}@example.net", subject=f"Tipps {i}") for i in range(3)]

    async def run() -> None:
        conn = await MaildirTransport(tmp_path / "outbox").connect()
        for message in sent:
            result = await conn.send("tipps@example.org", message)
            assert result.code == 250
        await conn.close()

    asyncio.run(run())
    box = mailbox.Maildir(tmp_path / "outbox", create=False)
    got = sorted(box, key=lambda m: str(m["Subject"]))
    assert [str(m["Subject"]) for m in got] == ["Tipps 0", "Tipps 1", "Tipps 2"]
    assert {str(m["Message-ID"]) for m in got} == {m.message_id for m in sent}
    assert all(str(m.get_payload()).startswith("Hallo!") for m in got)
    assert list((tmp_path / "outbox" / "tmp").iterdir()) == []
    files = list((tmp_path / "outbox" / "new").iterdir())
    assert len(files) == 3
    assert all(b"\r\n" not in f.read_bytes() for f in files)


def test_maildir_files_start_with_the_envelope_sender_as_return_path(tmp_path: Path) -> None:
    senders = ["bounces+k3x9@example.org", "", " <odd\r\nX-Injected: 1>"]

    async def run() -> None:
        conn = await MaildirTransport(tmp_path / "outbox").connect()
        for n, sender in enumerate(senders):
            await conn.send(sender, outgoing(f"user{n}@example.net", subject=f"Tipps {n}"))
        await conn.close()

    asyncio.run(run())
    box = mailbox.Maildir(tmp_path / "outbox", create=False)
    first_lines = {str(m["To"]): bytes(m).split(b"\n", 1)[0] for m in box}
    assert first_lines == {
        "user0@example.net": b"Return-Path: <bounces+k3x9@example.org>",
        "user1@example.net": b"Return-Path: <>",
        "user2@example.net": b"Return-Path: <oddX-Injected:1>",
    }
    assert all(len(m.get_all("Return-Path", [])) == 1 and "X-Injected" not in m for m in box)


def test_maildir_that_cannot_be_created_names_the_path(tmp_path: Path) -> None:
    blocker = tmp_path / "outbox"
    blocker.write_text("a file, not a directory")
    with pytest.raises(TransportError, match="outbox"):
        asyncio.run(MaildirTransport(blocker / "inner").connect())


def test_token_bucket_spaces_reservations_by_the_rate() -> None:
    bucket = TokenBucket(10, clock=lambda: 100.0)
    waits = [bucket.reserve(100.0) for _ in range(5)]
    assert waits == pytest.approx([0.0, 0.1, 0.2, 0.3, 0.4])
    # After a quiet second the bucket holds one token again (burst 1), not ten.
    assert bucket.reserve(101.5) == pytest.approx(0.0)
    assert bucket.reserve(101.5) == pytest.approx(0.1)


def test_token_bucket_zero_rate_is_unlimited() -> None:
    bucket = TokenBucket(0, clock=lambda: 0.0)
    assert {bucket.reserve(0.0) for _ in range(1000)} == {0.0}


def test_backoff_doubles_from_one_second_up_to_the_cap_with_jitter() -> None:
    high = [backoff_delay(n, cap=30, rand=lambda: 1.0) for n in range(1, 8)]
    low = [backoff_delay(n, cap=30, rand=lambda: 0.0) for n in range(1, 8)]
    assert high == [1, 2, 4, 8, 16, 30, 30]
    assert low == [0.5, 1, 2, 4, 8, 15, 15]
    assert backoff_delay(3, cap=0.05, rand=lambda: 1.0) == 0.05


def test_user_unknown_is_only_5_1_1() -> None:
    assert is_user_unknown(550, "5.1.1 <x@example.net>: user unknown")
    assert not is_user_unknown(550, "5.7.1 rejected by policy")
    assert not is_user_unknown(450, "5.1.1 odd but temporary")
    assert not is_user_unknown(None, "")
